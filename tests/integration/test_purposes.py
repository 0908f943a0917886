"""Consent for a purpose and the revocation scope (revoke-all, FCC 24-24, 47 CFR 64.1200(a)(10)), through the
doors people use: the desk's calls as each role, REST, the gateway's inbound door, the SMS door with a
gateway stand-in, record_attempt, the scrub, the integrity check, and the admin's Consent Purpose form."""

import time
from contextlib import contextmanager

import frappe
import pytest
from frappe.utils import add_days, nowdate

from opt_consent.api import consent as api
from opt_consent.api import control
from opt_consent.contact_control import adapter as contact_control
from opt_consent.ledger import site_purposes as purposes
from opt_consent.ledger.integrity import verify_record
from opt_consent.ledger.rules import purposes as rules
from tests.integration.factories import COMMITTED, make_phone, random_number, user, when
from tests.integration.http import Client, message_of
from tests.integration.test_gate import committed_phone, gateway, message_id, post  # noqa: F401
from tests.integration.test_reasonable_means import door, sms_stand_in  # noqa: F401
from tests.integration.test_sms_door import clean_door, stand_in_gateway

SETTINGS = "Opt Consent Settings"
MARKETING = "OC Test Marketing"
REMINDERS = "OC Test Reminders"


def default():
	return purposes.default_name()


def make_purpose(name, requires_written=0, **fields):
	if frappe.db.exists("Consent Purpose", name):
		return frappe.get_doc("Consent Purpose", name)
	return frappe.get_doc(
		{
			"doctype": "Consent Purpose",
			"purpose_name": name,
			"legal_basis": rules.PRIOR_EXPRESS_WRITTEN_CONSENT
			if requires_written
			else rules.PRIOR_EXPRESS_CONSENT,
			"requires_written": requires_written,
			"for_call": 1,
			"for_text": 1,
			"for_email": 1,
			**fields,
		}
	).insert(ignore_permissions=True)


def set_scope(scope, since=None):
	settings = frappe.get_doc(SETTINGS)
	settings.revocation_scope = scope
	settings.revoke_all_from = since or "2027-01-31"
	settings.flags.seeding = True
	settings.save(ignore_permissions=True)


@pytest.fixture
def two_purposes():
	"""A second purpose, inside the test (rolled back), the cache of purposes dropped either side."""
	purposes.clear_cache()
	make_purpose(MARKETING)
	set_scope(rules.SCOPE_PURPOSE)
	yield MARKETING
	frappe.db.rollback()
	purposes.clear_cache()


@contextmanager
def committed_purposes(scope=rules.SCOPE_PURPOSE, since=None):
	"""The second purpose and the scope committed, for the web server; removed and restored after."""
	frappe.db.rollback()
	before = frappe.db.get_singles_dict(SETTINGS)
	make_purpose(MARKETING)
	set_scope(scope, since)
	frappe.db.commit()
	try:
		yield MARKETING
	finally:
		frappe.db.rollback()
		# the site goes back to one purpose (test teardown: the committed test phones that name it are
		# removed at the end of the session)
		frappe.db.delete("Consent Purpose", MARKETING)
		frappe.db.set_single_value(
			SETTINGS,
			{
				"revocation_scope": before.get("revocation_scope") or rules.SCOPE_REVOKE_ALL,
				"revoke_all_from": before.get("revoke_all_from") or "2027-01-31",
			},
		)
		frappe.db.commit()
		purposes.clear_cache()


def allowed(channel, address, purpose=None):
	answer = api.can_contact(channel, address, purpose=purpose)
	return answer["allowed"], answer["reason"]


def act(name, action, channel="Text", purpose=None, minutes_ago=5, method="Verbal", **more):
	call = {"Opt In": api.opt_in, "Opt Out": api.opt_out}[action]
	args = {
		"doctype": "Phone",
		"name": name,
		"channel": channel,
		"method": method,
		**when(minutes_ago),
		**more,
	}
	if purpose:
		args["purpose"] = purpose
	return call(**args)


def texting_phone():
	phone = make_phone(random_number())
	act(phone.name, "Opt In", minutes_ago=30)
	return phone


# --- a site with one purpose is the site before purposes ------------------------------------------------


def test_install_seeds_one_default_purpose_and_a_single_purpose_site_is_unchanged():
	assert frappe.db.get_single_value(SETTINGS, "default_purpose") == rules.DEFAULT_PURPOSE
	seeded = frappe.get_doc("Consent Purpose", rules.DEFAULT_PURPOSE)
	assert seeded.enabled and seeded.for_call and seeded.for_text and seeded.for_email
	assert frappe.db.get_single_value(SETTINGS, "revocation_scope") == rules.SCOPE_REVOKE_ALL
	assert str(frappe.db.get_single_value(SETTINGS, "revoke_all_from")) == "2027-01-31"
	assert frappe.db.get_value("Opt Method", "Written", "written") == 1
	phone = texting_phone()
	act(phone.name, "Opt Out", minutes_ago=1)
	doc = frappe.get_doc("Phone", phone.name)
	# the seed's behaviour: the opt out sets Active = No and Do Not Call, exactly as before
	assert (doc.text_opt, doc.active, doc.do_not_call) == (0, 0, 1)
	rows = frappe.get_all(
		"Opt Log", {"parent": phone.name}, ["purpose", "scope", "hash_scheme"], order_by="idx"
	)
	assert [(r.purpose, r.scope, r.hash_scheme) for r in rows] == [
		(rules.DEFAULT_PURPOSE, "", 4),
		(rules.DEFAULT_PURPOSE, rules.ALL, 4),
	]
	assert verify_record("Phone", phone.name)["ok"]
	assert not api.purpose_states(doctype="Phone", name=phone.name)["several"]


# --- two purposes, each its own consent ---------------------------------------------------------------


def test_opt_out_of_marketing_texts_leaves_servicing_texts_allowed(two_purposes):
	phone = texting_phone()
	act(phone.name, "Opt In", purpose=MARKETING, minutes_ago=20)
	number = phone.phone
	assert allowed("Text", number, MARKETING) == (True, "opted_in")
	act(phone.name, "Opt Out", purpose=MARKETING, minutes_ago=10)
	assert allowed("Text", number, MARKETING) == (False, "opted_out")
	assert allowed("Text", number) == (True, "opted_in")  # the default purpose: servicing
	doc = frappe.get_doc("Phone", phone.name)
	assert (doc.text_opt, doc.active, doc.do_not_call) == (1, 1, 0)
	last = frappe.get_all(
		"Opt Log", {"parent": phone.name}, ["purpose", "scope"], order_by="idx desc", limit=1
	)[0]
	assert (last.purpose, last.scope) == (MARKETING, "")
	assert verify_record("Phone", phone.name)["ok"]
	states = {
		(s["channel"], s["purpose"]): s["opted_in"]
		for s in api.purpose_states(doctype="Phone", name=phone.name)["states"]
	}
	assert states[("Text", MARKETING)] is False and states[("Text", default())] is True


def test_revoke_all_from_its_date_ends_every_purpose(two_purposes):
	set_scope(rules.SCOPE_REVOKE_ALL, since=add_days(nowdate(), -1))
	phone = texting_phone()
	act(phone.name, "Opt In", purpose=MARKETING, minutes_ago=20)
	act(phone.name, "Opt Out", purpose=MARKETING, minutes_ago=10)
	assert allowed("Text", phone.phone, MARKETING)[0] is False
	assert allowed("Text", phone.phone) == (False, "opted_out")
	row = frappe.get_all(
		"Opt Log", {"parent": phone.name}, ["purpose", "scope"], order_by="idx desc", limit=1
	)[0]
	assert (row.purpose, row.scope) == (MARKETING, rules.ALL)
	# a new opt in for one purpose reopens that purpose only
	act(phone.name, "Opt In", purpose=MARKETING, minutes_ago=5)
	assert allowed("Text", phone.phone, MARKETING)[0] is True
	assert allowed("Text", phone.phone)[0] is False
	assert verify_record("Phone", phone.name)["ok"]


def test_before_the_revoke_all_date_a_revocation_covers_its_purpose(two_purposes):
	set_scope(rules.SCOPE_REVOKE_ALL, since=add_days(nowdate(), 30))
	phone = texting_phone()
	act(phone.name, "Opt In", purpose=MARKETING, minutes_ago=20)
	act(phone.name, "Opt Out", purpose=MARKETING, minutes_ago=10)
	assert allowed("Text", phone.phone) == (True, "opted_in")


def test_an_opt_out_naming_no_purpose_covers_every_purpose_even_per_purpose(two_purposes):
	phone = texting_phone()
	act(phone.name, "Opt In", purpose=MARKETING, minutes_ago=20)
	act(phone.name, "Opt Out", minutes_ago=10)  # the desk's "Every purpose"
	assert allowed("Text", phone.phone, MARKETING)[0] is False and allowed("Text", phone.phone)[0] is False


def test_record_revocation_without_a_purpose_stops_a_purpose_whose_default_was_already_out(two_purposes):
	"""The default purpose already out must not make a revocation of the rest "already opted out"."""
	frappe.set_user(user("manager"))
	phone = texting_phone()
	act(phone.name, "Opt In", purpose=MARKETING, minutes_ago=20)
	act(phone.name, "Opt Out", purpose=default(), minutes_ago=15)
	assert allowed("Text", phone.phone, MARKETING)[0] is True
	answer = api.record_revocation(channel="Text", address=phone.phone, means="IVR Key Press")
	assert answer["changed"] == 1
	assert allowed("Text", phone.phone, MARKETING)[0] is False
	again = api.record_revocation(channel="Text", address=phone.phone, means="IVR Key Press")
	assert again["changed"] == 0


def test_a_purpose_that_requires_written_consent_takes_only_a_written_method_with_its_wording(two_purposes):
	from tests.integration.test_wording import make_wording

	written = make_purpose(REMINDERS, requires_written=1)
	phone = make_phone(random_number())
	with pytest.raises(frappe.ValidationError, match="requires written consent"):
		act(phone.name, "Opt In", purpose=written.name, method="Verbal")
	with pytest.raises(frappe.ValidationError, match="Consent Wording"):
		act(phone.name, "Opt In", purpose=written.name, method="Written")
	assert frappe.db.count("Opt Log", {"parent": phone.name}) == 0
	wording = make_wording(text="I agree to receive reminder texts from OC Test.")
	act(phone.name, "Opt In", purpose=written.name, method="Written", wording=wording.name)
	assert allowed("Text", phone.phone, written.name)[0] is True
	assert allowed("Text", phone.phone)[0] is False  # the default purpose was never given


def test_bad_purposes_are_refused_clearly_and_change_nothing(two_purposes):
	phone = texting_phone()
	calls_only = make_purpose("OC Test Calls Only", for_text=0, for_email=0)
	before = frappe.db.count("Opt Log", {"parent": phone.name})
	for purpose, words in (
		("No Such Purpose", "not a known Consent Purpose"),
		(calls_only.name, "does not apply"),
	):
		with pytest.raises(frappe.ValidationError, match=words):
			act(phone.name, "Opt In", purpose=purpose)
		with pytest.raises(frappe.ValidationError, match=words):
			api.can_contact("Text", phone.phone, purpose=purpose)
	assert frappe.db.count("Opt Log", {"parent": phone.name}) == before


def test_the_scrub_and_record_attempt_ask_for_a_purpose(two_purposes):
	phone = texting_phone()
	act(phone.name, "Opt In", purpose=MARKETING, minutes_ago=20)
	act(phone.name, "Opt Out", purpose=MARKETING, minutes_ago=10)
	other = texting_phone()
	act(other.name, "Opt In", purpose=MARKETING, minutes_ago=20)
	scrubbed = contact_control.scrub("Text", [phone.phone, other.phone], purpose=MARKETING)
	assert [r["allowed"] for r in scrubbed] == [False, True]
	assert [r["allowed"] for r in contact_control.scrub("Text", [phone.phone, other.phone])] == [True, True]
	frappe.set_user(user("manager"))
	with pytest.raises(frappe.ValidationError, match="Not allowed"):
		control.record_attempt(channel="Text", address=phone.phone, outcome="Sent", purpose=MARKETING)
	done = control.record_attempt(channel="Text", address=other.phone, outcome="Sent", purpose=MARKETING)
	assert frappe.db.get_value("Contact Attempt", done["name"], "purpose") == MARKETING


def test_the_lapse_of_a_purpose_follows_its_own_period(two_purposes):
	frappe.db.set_value("Consent Purpose", MARKETING, "reauth_days", 30)
	purposes.clear_cache()
	phone = make_phone(random_number())
	act(phone.name, "Opt In", purpose=MARKETING, minutes_ago=60 * 24 * 31)
	assert allowed("Text", phone.phone, MARKETING) == (False, "lapsed")


def test_a_purpose_in_the_log_is_never_renamed_or_deleted_and_the_default_never_moves(two_purposes):
	phone = texting_phone()
	act(phone.name, "Opt In", purpose=MARKETING, minutes_ago=20)
	with pytest.raises(frappe.ValidationError):
		frappe.rename_doc("Consent Purpose", MARKETING, "OC Renamed", force=True)
	with pytest.raises(frappe.ValidationError):
		frappe.delete_doc("Consent Purpose", MARKETING)
	with pytest.raises(frappe.ValidationError):
		frappe.delete_doc("Consent Purpose", default())
	settings = frappe.get_doc(SETTINGS)
	settings.default_purpose = MARKETING
	with pytest.raises(frappe.ValidationError, match="cannot change"):
		settings.save()
	assert frappe.db.exists("Consent Purpose", MARKETING)


def test_purposes_are_kept_by_admins_only(two_purposes):
	frappe.set_user(user("user"))
	with pytest.raises(frappe.PermissionError):
		frappe.get_doc({"doctype": "Consent Purpose", "purpose_name": "OC Nope", "for_text": 1}).insert()
	assert frappe.get_list("Consent Purpose", pluck="name")  # users read them (the dialog offers them)
	frappe.set_user(user("outsider"))
	with pytest.raises(frappe.PermissionError):
		api.purpose_states(doctype="Phone", name=make_phone(random_number()).name)


# --- over HTTP: REST as each role, the inbound door, the SMS door -----------------------------------------


def test_rest_opt_in_and_can_contact_with_a_purpose_as_each_role(server):
	with committed_purposes():
		number = random_number()
		name = committed_phone(number)
		manager, outsider = Client(server, "manager"), Client(server, "outsider")
		denied = outsider.action(
			"opt_in",
			doctype="Phone",
			name=name,
			channel="Text",
			method="Verbal",
			purpose=MARKETING,
			**when(5),
		)
		assert denied.status_code == 403, denied.text
		done = manager.action(
			"opt_in",
			doctype="Phone",
			name=name,
			channel="Text",
			method="Verbal",
			purpose=MARKETING,
			**when(5),
		)
		assert done.status_code == 200, done.text
		check = manager.get(
			"/api/method/opt_consent.api.can_contact", channel="Text", address=number, purpose=MARKETING
		)
		assert check.status_code == 200 and check.json()["message"]["allowed"] is True, check.text
		assert check.json()["message"]["purpose"] == MARKETING
		bad = manager.get(
			"/api/method/opt_consent.api.can_contact", channel="Text", address=number, purpose="Nope"
		)
		assert bad.status_code == 417 and "not a known Consent Purpose" in message_of(bad)


def sent_to(name, number, purpose):
	"""A text the SMS door sent the number for ``purpose`` (committed: what a reply answers)."""
	sent = frappe.get_doc(
		{
			"doctype": "Sent Text",
			"number": number,
			"number_e164": frappe.db.get_value("Phone", name, "phone_e164"),
			"status": "Sent",
			"message": "20% off this week",
			"source": "Send SMS",
			"purpose": purpose,
			"sent_at": frappe.utils.now_datetime(),
		}
	)
	sent.flags.from_sms_door = True
	sent.insert(ignore_permissions=True)
	frappe.db.commit()
	COMMITTED.append(("Sent Text", sent.name))


def test_a_stop_answers_the_purpose_of_the_latest_text_then_revoke_all_ends_both(gateway):  # noqa: F811
	"""Per purpose: a STOP in reply to a marketing text stops marketing only; under revoke-all a STOP ends
	every purpose."""
	with committed_purposes() as marketing:
		number = random_number()
		name = committed_phone(number, opt_in_texts=True)
		act(name, "Opt In", purpose=marketing, minutes_ago=3)
		sent_to(name, number, marketing)
		answer = post(gateway, sender=number, message="STOP", message_id=message_id())
		assert answer.status_code == 200 and answer.json()["message"]["status"] == "Applied", answer.text
		frappe.db.rollback()
		assert allowed("Text", number, marketing)[0] is False
		assert allowed("Text", number) == (True, "opted_in")
	with committed_purposes(rules.SCOPE_REVOKE_ALL, since=add_days(nowdate(), -1)) as marketing:
		time.sleep(1.1)  # the opt in is dated to the second: after the STOP
		act(name, "Opt In", purpose=marketing, minutes_ago=0)
		frappe.db.commit()
		answer = post(gateway, sender=number, message="stop", message_id=message_id())
		assert answer.status_code == 200 and answer.json()["message"]["status"] == "Applied", answer.text
		frappe.db.rollback()
		assert allowed("Text", number, marketing)[0] is False
		assert allowed("Text", number)[0] is False
		assert verify_record("Phone", name)["ok"]


def test_the_sms_door_checks_each_notification_against_its_purpose(site):
	from opt_consent.api import sms as sms_door

	with stand_in_gateway() as stand_in, clean_door(stand_in):
		frappe.db.rollback()
		make_purpose(MARKETING)
		purposes.clear_cache()
		phone = texting_phone()  # servicing (default) texts allowed, marketing never given
		settings = frappe.get_doc(SETTINGS)
		settings.sms_purpose = MARKETING
		settings.flags.seeding = True
		settings.save(ignore_permissions=True)
		answer = sms_door.send_sms([phone.phone], "A marketing text", success_msg=False)
		assert answer["sent_to"] == [] and [w["reason"] for w in answer["withheld"]] == ["not_opted_in"]
		withheld = frappe.get_all("Withheld Message", {"number_e164": phone.phone_e164}, ["purpose"])
		assert [w.purpose for w in withheld] == [MARKETING]
		settings.sms_purpose = None
		settings.save(ignore_permissions=True)
		answer = sms_door.send_sms([phone.phone], "Your payment is due", success_msg=False)
		assert len(answer["sent_to"]) == 1
		sent = frappe.get_all("Sent Text", {"number_e164": phone.phone_e164}, ["purpose"])
		assert [s.purpose for s in sent] == [default()]
		frappe.db.rollback()
		purposes.clear_cache()


# --- the history import's optional purpose column -------------------------------------------------------


def test_the_history_import_takes_an_optional_purpose_column(two_purposes):
	import os

	from tests.integration import test_history_import as hi_tests

	existing = make_phone(random_number())  # servicing and marketing texts opted in on the desk
	act(existing.name, "Opt In", minutes_ago=60 * 24 * 4)
	act(existing.name, "Opt In", purpose=MARKETING, minutes_ago=60 * 24 * 3)
	fresh = random_number()
	header = [*hi_tests.COLUMNS, "purpose"]
	path = hi_tests.write_csv(
		[
			hi_tests.ev(fresh, "Text", "Opt In", 10, phone_type="Cell", purpose=MARKETING),
			hi_tests.ev(fresh, "Text", "Opt In", 9, "09:05", phone_type="Cell"),  # no purpose: the default
			hi_tests.ev(existing.phone, "Text", "Opt Out", 1, method="Text Reply", purpose=MARKETING),
			hi_tests.ev(fresh, "Call", "Opt In", 8, purpose="No Such Purpose"),
		],
		header=header,
	)
	try:
		result = hi_tests.run(path)
	finally:
		os.unlink(path)
	assert result.recorded == 3
	assert [r["code"] for r in result.kept] == ["unknown_purpose"]
	assert allowed("Text", fresh, MARKETING)[0] is True and allowed("Text", fresh)[0] is True
	assert allowed("Text", existing.phone, MARKETING) == (False, "opted_out")
	assert allowed("Text", existing.phone) == (True, "opted_in")  # per purpose: servicing untouched
	for name in (existing.name, hi_tests.phone_of(fresh)):
		assert verify_record("Phone", name)["ok"]
	rows = frappe.get_all("Opt Log", {"parent": hi_tests.phone_of(fresh)}, ["purpose"], order_by="idx")
	assert [r.purpose for r in rows] == [MARKETING, default()]


def test_the_confirmation_asks_the_scope_and_an_all_answer_stops_every_purpose(gateway, door):  # noqa: F811
	"""Per purpose, a STOP in reply to a marketing text stops marketing; the one confirmation asks whether
	to stop everything (FCC 24-24), and the answer ALL is recorded as a revocation of every purpose."""
	from opt_consent import tasks
	from tests.integration.test_reasonable_means import drop_job, set_confirmation

	set_confirmation(True, "You are unsubscribed from these texts.")
	try:
		with committed_purposes() as marketing:
			number = random_number()
			name = committed_phone(number, opt_in_texts=True)
			act(name, "Opt In", purpose=marketing, minutes_ago=3)
			sent_to(name, number, marketing)
			stop = post(gateway, sender=number, message="STOP", message_id=message_id())
			assert stop.json()["message"]["status"] == "Applied", stop.text
			kept = stop.json()["message"]["inbound_text"]
			drop_job(kept)
			tasks.send_revocation_confirmation(kept)
			assert door.received[-1]["text"] == (
				"You are unsubscribed from these texts. Reply ALL to stop every message from us."
			)
			frappe.db.rollback()
			assert allowed("Text", number) == (True, "opted_in")
			time.sleep(1.1)
			answer = post(gateway, sender=number, message="ALL", message_id=message_id())
			# applied, and flagged for a person: ALL is an answer, not a keyword
			assert (answer.json()["message"]["status"], answer.json()["message"]["changed"]) == ("Flagged", 1)
			frappe.db.rollback()
			assert allowed("Text", number)[0] is False and allowed("Text", number, marketing)[0] is False
			assert verify_record("Phone", name)["ok"]
			# the answer gets no second confirmation: one text confirms a revocation (64.1200(a)(12))
			answered = frappe.get_doc("Inbound Text", answer.json()["message"]["inbound_text"])
			assert answered.confirmation_status in ("", None)
	finally:
		set_confirmation(False)


def test_an_all_answer_after_a_purpose_revocation_stops_every_purpose(gateway):  # noqa: F811
	with committed_purposes() as marketing:
		number = random_number()
		name = committed_phone(number, opt_in_texts=True)
		act(name, "Opt In", purpose=marketing, minutes_ago=3)
		act(name, "Opt Out", purpose=marketing, minutes_ago=2)
		frappe.db.commit()
		frappe.db.rollback()
		assert allowed("Text", number) == (True, "opted_in")
		answer = post(gateway, sender=number, message="ALL", message_id=message_id())
		assert answer.status_code == 200, answer.text
		assert (answer.json()["message"]["status"], answer.json()["message"]["changed"]) == ("Flagged", 1)
		frappe.db.rollback()
		assert allowed("Text", number)[0] is False and allowed("Text", number, marketing)[0] is False
		row = frappe.get_all("Opt Log", {"parent": name}, ["scope", "source"], order_by="idx desc", limit=1)[
			0
		]
		assert (row.scope, row.source) == (rules.ALL, "Inbound SMS")


def test_the_daily_lapse_follows_the_default_purposes_period_and_leaves_another_purpose(
	two_purposes, monkeypatch
):
	"""The scheduler's job lapses the default purpose by its own period (the record's Text Opt) and names
	it on the Lapsed row; a purpose with no period of its own keeps its consent."""
	from opt_consent.jobs import runs
	from tests.integration.factories import make_reauth_settings

	frappe.db.set_value("Consent Purpose", default(), "reauth_days", 30)
	purposes.clear_cache()
	make_reauth_settings(0, 0)  # the settings' own period: never lapses
	phone = make_phone(random_number())
	act(phone.name, "Opt In", minutes_ago=60 * 24 * 31)
	act(phone.name, "Opt In", purpose=MARKETING, minutes_ago=60 * 24 * 31 - 5)
	monkeypatch.setattr(runs, "commit", lambda: None)
	runs.start_lapse(inline=True)
	doc = frappe.get_doc("Phone", phone.name)
	assert doc.text_opt == 0
	lapsed = [r for r in doc.opt_logs if r.action == "Lapsed"]
	assert [(r.purpose, r.hash_scheme) for r in lapsed] == [(default(), 4)]
	assert allowed("Text", phone.phone) == (False, "lapsed")
	assert allowed("Text", phone.phone, MARKETING) == (True, "opted_in")
	assert verify_record("Phone", phone.name)["ok"]


def test_the_contacts_consent_section_shows_each_purpose_when_there_are_several(two_purposes):
	contact = frappe.get_doc(
		{
			"doctype": "Contact",
			"first_name": "OC Purpose",
			"phone_nos": [{"phone": random_number(), "is_primary_mobile_no": 1}],
		}
	).insert(ignore_permissions=True)
	record = frappe.get_all("Phone", {"link_name": contact.name}, pluck="name")[0]
	frappe.db.set_value("Phone", record, "phone_type", "Cell")
	act(record, "Opt In", purpose=MARKETING, minutes_ago=5)
	section = api.contact_consent(contact.name)
	states = {(s["channel"], s["purpose"]): s["opted_in"] for s in section["records"][0]["purposes"]}
	assert states[("Text", MARKETING)] is True and states[("Text", default())] is False


def test_data_import_adds_purposes_and_cannot_rewrite_a_rows_purpose(site):
	"""An admin sets purposes up by Frappe's Data Import; the same door cannot move a sealed row to another
	purpose (the record's guards refuse it, the row is as it was)."""
	from tests.integration.test_bad_input import run_import

	frappe.db.rollback()
	name = "OC Test Imported Purpose"
	try:
		logs = run_import(
			"Consent Purpose",
			"Insert New Records",
			["purpose_name", "legal_basis", "requires_written", "for_call", "for_text", "for_email"],
			[[name, rules.PRIOR_EXPRESS_WRITTEN_CONSENT, 1, 0, 1, 0]],
		)
		assert [log.success for log in logs] == [1], logs
		imported = frappe.get_doc("Consent Purpose", name)
		assert (imported.requires_written, imported.for_text, imported.for_call) == (1, 1, 0)
		purposes.clear_cache()
		assert purposes.get_purposes().known[name].requires_written
		phone = texting_phone()
		frappe.db.commit()
		COMMITTED.append(("Phone", phone.name))
		row = frappe.get_all("Opt Log", {"parent": phone.name}, ["name", "purpose", "row_hash"])[0]
		logs = run_import(
			"Phone",
			"Update Existing Records",
			["name", "opt_logs.name", "opt_logs.purpose"],
			[[phone.name, row.name, name]],
		)
		assert [log.success for log in logs] == [0], logs
		frappe.db.rollback()
		assert frappe.db.get_value("Opt Log", row.name, ["purpose", "row_hash"]) == (
			row.purpose,
			row.row_hash,
		)
		assert verify_record("Phone", phone.name)["ok"]
	finally:
		frappe.db.rollback()
		frappe.db.delete("Consent Purpose", name)
		frappe.db.commit()
		purposes.clear_cache()


def test_the_fast_reads_of_a_purpose_decide_as_the_whole_log_replayed(two_purposes):
	"""The joined query of can_contact and the scrub's covering rows (read through the purpose index) give
	the decision the pure rules give on each record's whole log."""
	from opt_consent.gate import adapter as gate_adapter
	from opt_consent.gate import rules as gate
	from opt_consent.ledger.rules import purposes as core

	phones = [make_phone(random_number()) for _ in range(6)]
	home = make_phone(random_number(), phone_type="Home")
	act(phones[0].name, "Opt In", purpose=MARKETING, minutes_ago=30)
	act(phones[1].name, "Opt In", purpose=MARKETING, minutes_ago=30)
	act(phones[1].name, "Opt Out", purpose=MARKETING, minutes_ago=20)
	act(phones[2].name, "Opt In", minutes_ago=30)
	act(phones[2].name, "Opt Out", minutes_ago=20)  # every purpose
	act(phones[3].name, "Opt In", purpose=MARKETING, minutes_ago=30)
	act(phones[3].name, "Opt Out", purpose=default(), minutes_ago=20)  # the default only
	act(phones[4].name, "Opt In", channel="Call", purpose=MARKETING, minutes_ago=30)  # another channel
	records = [*phones, home]
	site = purposes.get_purposes()
	spec = gate_adapter.CHANNELS["Text"]
	logs = gate_adapter.logs_by_record("Phone", [r.name for r in records])
	expected = []
	for record in records:
		doc = frappe.get_doc("Phone", record.name)
		state, last = core.purpose_state(doc.as_dict(), "Text", MARKETING, site.default, logs[record.name])
		expected.append(gate.decide("Text", state, last_action=last, phone_type=doc.phone_type).reason)
	joined = [api.can_contact("Text", r.phone_e164, purpose=MARKETING)["reason"] for r in records]
	scrubbed = [
		r["reason"] for r in contact_control.scrub("Text", [r.phone_e164 for r in records], purpose=MARKETING)
	]
	assert joined == scrubbed == expected
	assert expected[:4] == ["opted_in", "opted_out", "opted_out", "opted_in"]


# A purpose's latest covering action read with the records (the scrub's query) ------------------------------


def test_the_scrub_reads_each_records_latest_covering_action_as_the_rules_pick_it():
	"""The scrub reads, with each record, the action of its latest log row covering the purpose, in SQL
	(gate.adapter.last_action_column). Over logs of rows for the purpose, for the default (named and
	unnamed), for another purpose, of other channels, revocations of all purposes and of one, with equal
	dates and times (log order decides), it is the action the pure rule's last_covering picks, for every
	record, and the scrub's answers are those of the path that reads the rows."""
	import datetime as dt
	import random

	from opt_consent.gate import adapter as gate_adapter

	spec = gate_adapter.channel_spec("Call")
	site = purposes.get_purposes()
	draw = random.Random(20270131)
	phones, logs = [], {}
	for _ in range(60):
		phone = make_phone()
		rows = []
		for idx in range(1, draw.randrange(0, 7) + 1):
			row = {
				"name": frappe.generate_hash(length=12),
				"parent": phone.name,
				"idx": idx,
				"channel": draw.choice(["Call", "Call", "Call", "Text"]),
				"action": draw.choice(["Opt In", "Opt Out", "Opt Out"]),
				"event_date": dt.date(2026, 11, draw.randrange(1, 4)),
				"event_time": dt.timedelta(hours=draw.choice([9, 9, 10])),
				"purpose": draw.choice([MARKETING, MARKETING, site.default, None, "", "OC Other Purpose"]),
				"scope": draw.choice([rules.ALL, "", None]),
			}
			frappe.db.sql(
				"""insert into `tabOpt Log` (name, parent, parenttype, parentfield, idx, channel, action,
				event_date, event_time, purpose, scope, creation, modified, owner, modified_by)
				values (%(name)s, %(parent)s, 'Phone', 'opt_logs', %(idx)s, %(channel)s, %(action)s,
				%(event_date)s, %(event_time)s, %(purpose)s, %(scope)s, now(), now(), 'Administrator',
				'Administrator')""",
				row,
			)
			rows.append(row)
		phones.append(phone)
		logs[phone.name] = rows
	keys = [p.phone_e164 for p in phones]
	read = contact_control.records_for(spec, keys, check_permission=False, purpose=MARKETING)
	for phone in phones:
		(record,) = read[phone.phone_e164]
		last = rules.last_covering(logs[phone.name], "Call", MARKETING, site.default)
		assert record[gate_adapter.LAST_ACTION] == (last["action"] if last else None), logs[phone.name]
	# the consent verdicts the scrub answers by: from the column, and from the rows read as before
	plain = contact_control.records_for(spec, keys, check_permission=False)
	assert all(gate_adapter.LAST_ACTION not in r for key in keys for r in plain[key])
	by_column = contact_control.consent_verdicts(spec, read, None, MARKETING)
	by_rows = contact_control.consent_verdicts(spec, plain, None, MARKETING)
	assert by_column == by_rows
	assert {d.reason for d, _record in by_rows.values()} >= {"opted_in", "opted_out"}
