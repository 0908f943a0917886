"""The gate on the real site: can_contact now and in the past, Frappe's mailer honouring email consent,
the inbound SMS endpoint over HTTP, and the revocation clock and report."""

import datetime as dt
from unittest import mock

import frappe
import pytest
import requests
from frappe.utils import add_to_date, getdate, now_datetime, today
from frappe.utils.password import get_decrypted_password, remove_encrypted_password, set_encrypted_password

from opt_consent.gate.adapter import can_contact
from opt_consent.ledger.consent import ActionRequest, apply_outcome, record_action
from opt_consent.ledger.rules import business_days, engine
from opt_consent.model import channels
from tests.integration.factories import (
	COMMITTED,
	make_email,
	make_inbound_text,
	make_outgoing_email_account,
	make_phone,
	random_email,
	random_number,
	user,
)

SETTINGS = "Opt Consent Settings"


def ago(minutes: int) -> dt.datetime:
	return add_to_date(now_datetime(), minutes=-minutes)


def act(doc, action, channel, minutes_ago=5, method="Verbal"):
	at = ago(minutes_ago)
	return record_action(
		ActionRequest(doc.doctype, doc.name, action, channel, at.date(), at.strftime("%H:%M:%S"), method)
	)


def verdict(channel, address, at=None):
	answer = can_contact(channel, address, at)
	return answer["allowed"], answer["reason"]


# --- can_contact now ----------------------------------------------------------------------------------


def test_every_phone_state_now():
	phone = make_phone(random_number(), "Cell")
	number = phone.phone
	assert verdict("Call", number) == (False, "not_opted_in")
	act(phone, "Opt In", "Call", 30)
	act(phone, "Opt In", "Text", 25)
	assert verdict("Call", number) == (True, "opted_in")
	answer = can_contact("Text", phone.phone_e164.replace("+1", "+1 "))
	assert (answer["allowed"], answer["reason"], answer["record"], answer["doctype"]) == (
		True,
		"opted_in",
		phone.name,
		"Phone",
	)
	act(phone, "Opt Out", "Call", 20)
	assert verdict("Call", number) == (False, "opted_out")
	# with the seed's policy the call opt out set Active = No and Do Not Call: texting is blocked with it
	from opt_consent.ledger.settings import get_policy

	blocks = get_policy().opt_out_blocks
	assert verdict("Text", number) == ((False, "do_not_call") if blocks else (True, "opted_in"))


def test_inactive_and_do_not_call_set_by_hand():
	phone = make_phone(random_number(), "Cell")
	act(phone, "Opt In", "Call", 30)
	frappe.db.set_value("Phone", phone.name, "active", 0)
	assert verdict("Call", phone.phone) == (False, "inactive")
	frappe.db.set_value("Phone", phone.name, {"active": 1, "do_not_call": 1})
	assert verdict("Call", phone.phone) == (False, "do_not_call")


def test_text_on_a_home_line_and_lapsed_texting():
	home = make_phone(random_number(), "Home")
	act(home, "Opt In", "Call", 30)
	assert verdict("Text", home.phone) == (False, "not_cell")
	cell = make_phone(random_number(), "Cell")
	act(cell, "Opt In", "Text", 30)
	# a lapse as the reauthorisation rules record it: a Lapsed log row clears Text Opt
	doc = frappe.get_doc("Phone", cell.name)
	at = ago(10)
	outcome = engine.Outcome(
		changes=engine.changes_for("Phone", channels.LAPSED, "Text", at.date(), None),
		log={"channel": "Text", "action": channels.LAPSED, "event_date": at.date(), "event_time": at.time()},
		event_at=at,
	)
	apply_outcome(doc, outcome, {"recorded_at": now_datetime(), "source": "Scheduler"})
	doc.save(ignore_permissions=True)
	assert verdict("Text", cell.phone) == (False, "lapsed")
	assert verdict("Text", cell.phone, at=str(ago(20))) == (True, "opted_in")


def test_texting_lapsed_by_the_reauthorisation_rules_before_the_job_runs():
	cell = make_phone(random_number(), "Cell")
	act(cell, "Opt In", "Text", 30)
	if not frappe.get_meta("Phone").has_field("text_consent_lapses_on"):
		pytest.skip("the reauthorisation fields are not on Phone")
	frappe.db.set_value("Phone", cell.name, "text_consent_lapses_on", add_to_date(getdate(today()), days=1))
	assert verdict("Text", cell.phone) == (True, "opted_in")
	frappe.db.set_value("Phone", cell.name, "text_consent_lapses_on", getdate(today()))
	assert verdict("Text", cell.phone) == (False, "lapsed")
	assert verdict("Call", cell.phone) == (False, "not_opted_in")


def test_every_email_state_now():
	email = make_email(random_email().upper())
	address = email.email_id.lower()
	assert verdict("Email", address) == (False, "not_opted_in")
	act(email, "Opt In", "Email", 30)
	assert verdict("Email", address.upper()) == (True, "opted_in")
	frappe.db.set_value("Email", email.name, "do_not_email", 1)
	assert verdict("Email", address) == (False, "do_not_email")
	frappe.db.set_value("Email", email.name, {"do_not_email": 0, "active": 0})
	assert verdict("Email", address) == (False, "inactive")
	frappe.db.set_value("Email", email.name, "active", 1)
	act(email, "Opt Out", "Email", 10)
	assert verdict("Email", address) == (False, "opted_out")


def test_unknown_and_invalid_addresses():
	assert verdict("Call", random_number()) == (False, "unknown_address")
	assert verdict("Email", random_email()) == (False, "unknown_address")
	for channel, address in (("Call", "12"), ("Text", ""), ("Email", "not an email"), ("Email", None)):
		answer = can_contact(channel, address)
		assert (answer["allowed"], answer["reason"], answer["record"]) == (False, "invalid_address", None)


def test_a_bad_channel_is_a_clear_error():
	with pytest.raises(frappe.ValidationError, match="is not a channel"):
		can_contact("Fax", "+14155550123")


def test_the_most_restrictive_record_wins():
	number = random_number()
	allowed = make_phone(number, "Cell")
	act(allowed, "Opt In", "Call", 30)
	blocked = make_phone(number, "Cell")
	act(blocked, "Opt In", "Call", 30)
	assert verdict("Call", number) == (True, "opted_in")
	act(blocked, "Opt Out", "Call", 10)
	answer = can_contact("Call", number)
	assert (answer["allowed"], answer["reason"], answer["record"]) == (False, "opted_out", blocked.name)


def test_a_home_line_with_the_same_number_does_not_decide_texts():
	number = random_number()
	make_phone(number, "Home")
	cell = make_phone(number, "Cell")
	act(cell, "Opt In", "Text", 30)
	answer = can_contact("Text", number)
	assert (answer["allowed"], answer["record"]) == (True, cell.name)


def test_lookup_uses_the_indexed_normalised_columns():
	for doctype, column in (("Phone", "phone_e164"), ("Email", "email_normalized")):
		indexes = frappe.db.sql(f"show index from `tab{doctype}` where Column_name = %s", column)
		assert indexes, column


# --- can_contact at a past moment ---------------------------------------------------------------------


def test_past_moments_replay_the_log():
	phone = make_phone(random_number(), "Cell")
	act(phone, "Opt In", "Call", 300)
	act(phone, "Opt Out", "Call", 200)
	act(phone, "Opt In", "Call", 100)
	number = phone.phone
	assert verdict("Call", number, at=str(ago(400))) == (False, "not_opted_in")
	assert verdict("Call", number, at=str(ago(250))) == (True, "opted_in")
	assert verdict("Call", number, at=str(ago(150))) == (False, "opted_out")
	assert verdict("Call", number, at=str(ago(50))) == (True, "opted_in")
	assert verdict("Call", number) == (True, "opted_in")
	email = make_email()
	act(email, "Opt In", "Email", 60)
	act(email, "Opt Out", "Email", 30)
	assert verdict("Email", email.email_id, at=ago(45)) == (True, "opted_in")
	assert verdict("Email", email.email_id, at=ago(15)) == (False, "opted_out")


def test_a_bad_moment_is_a_clear_error():
	with pytest.raises(frappe.ValidationError, match="not a valid date"):
		can_contact("Call", random_number(), at="yesterday-ish")


# --- permission ---------------------------------------------------------------------------------------


def test_can_contact_needs_read_permission():
	phone = make_phone(random_number(), "Cell")
	frappe.set_user(user("auditor"))
	assert can_contact("Call", phone.phone)["reason"] == "not_opted_in"
	frappe.set_user(user("outsider"))
	with pytest.raises(frappe.PermissionError):
		can_contact("Call", phone.phone)


def test_can_contact_sees_only_records_the_user_may_read():
	"""A user restricted by a User Permission gets only the records it allows (the get_list path)."""
	number = random_number()
	allowed = make_phone(number, "Cell")
	hidden = make_phone(number, "Cell")
	act(hidden, "Opt Out", "Call", 30)  # the most restrictive record, for a user who can see it
	act(allowed, "Opt In", "Call", 20)
	assert can_contact("Call", number)["record"] == hidden.name
	restriction = frappe.get_doc(
		{"doctype": "User Permission", "user": user("user"), "allow": "Phone", "for_value": allowed.name}
	).insert(ignore_permissions=True)
	try:
		frappe.set_user(user("user"))
		answer = can_contact("Call", number)
		assert (answer["record"], answer["reason"]) == (allowed.name, "opted_in")
		assert can_contact("Call", random_number())["reason"] == "unknown_address"
	finally:
		frappe.set_user("Administrator")
		restriction.delete(ignore_permissions=True)  # clears the cached user permissions too


def test_can_contact_over_http(server):
	phone = make_phone(random_number(), "Cell")
	act(phone, "Opt In", "Call", 30)
	frappe.db.commit()
	COMMITTED.append(("Phone", phone.name))
	from tests.integration.factories import API_KEYS

	url = f"{server}/api/method/opt_consent.api.can_contact"
	answer = requests.get(
		url,
		params={"channel": "Call", "address": phone.phone},
		headers={"Authorization": API_KEYS["user"]},
		timeout=30,
	)
	assert answer.status_code == 200, answer.text
	assert answer.json()["message"]["reason"] == "opted_in"
	outsider = requests.get(
		url,
		params={"channel": "Call", "address": phone.phone},
		headers={"Authorization": API_KEYS["outsider"]},
		timeout=30,
	)
	assert outsider.status_code == 403
	guest = requests.get(url, params={"channel": "Call", "address": phone.phone}, timeout=30)
	assert guest.status_code == 403


# --- Frappe's mailer ----------------------------------------------------------------------------------


def global_unsubscribes(address):
	return frappe.get_all(
		"Email Unsubscribe", filters={"email": address, "global_unsubscribe": 1}, pluck="name"
	)


def queued_to(address):
	rows = frappe.get_all("Email Queue Recipient", filters={"recipient": address}, pluck="parent")
	return rows


def test_email_unsubscribe_follows_opt_out_and_opt_in():
	email = make_email()
	address = email.email_normalized
	act(email, "Opt In", "Email", 40)
	assert global_unsubscribes(address) == []
	act(email, "Opt Out", "Email", 30)
	assert len(global_unsubscribes(address)) == 1
	act(email, "Opt In", "Email", 20)
	assert global_unsubscribes(address) == []


def test_unsubscribe_stays_while_another_record_of_the_address_is_opted_out():
	first = make_email()
	second = make_email(first.email_id.upper())
	act(first, "Opt Out", "Email", 40)
	act(second, "Opt Out", "Email", 35)
	act(second, "Opt In", "Email", 30)
	assert len(global_unsubscribes(first.email_normalized)) == 1
	act(first, "Opt In", "Email", 20)
	assert global_unsubscribes(first.email_normalized) == []


@pytest.fixture
def outbox():
	account = make_outgoing_email_account()
	frappe.local.outgoing_email_account = {}
	yield frappe.db.get_value("Email Account", account, "email_id")
	frappe.local.outgoing_email_account = {}


def test_frappe_queue_drops_mail_to_an_opted_out_address_and_sends_to_an_opted_in_one(outbox):
	out = make_email()
	act(out, "Opt In", "Email", 40)
	act(out, "Opt Out", "Email", 30)
	inside = make_email()
	act(inside, "Opt In", "Email", 30)
	for address in (out.email_normalized, inside.email_normalized):
		frappe.sendmail(
			recipients=[address],
			sender=outbox,
			subject="Statement",
			message="Your statement is ready.",
			reference_doctype="Email",
			reference_name=inside.name,
			now=False,
		)
	assert queued_to(out.email_normalized) == []
	queues = queued_to(inside.email_normalized)
	assert len(queues) == 1

	smtp = mock.MagicMock()
	queue = frappe.get_doc("Email Queue", queues[0])
	with (
		mock.patch.object(frappe.db, "commit"),
		mock.patch.dict(frappe.flags, {"testing_email": True, "mute_emails": False}),
	):
		queue.send(smtp_server_instance=smtp)
	sent_to = [call.kwargs["to_addrs"] for call in smtp.session.sendmail.call_args_list]
	assert sent_to == [inside.email_normalized]
	assert frappe.db.get_value("Email Queue Recipient", {"parent": queue.name}, "status") == "Sent"


def test_frappe_drops_even_system_mail_to_a_globally_unsubscribed_address(outbox):
	"""What Frappe does, documented in the README: its global unsubscribe has no transactional exemption."""
	email = make_email()
	act(email, "Opt Out", "Email", 30)
	frappe.sendmail(
		recipients=[email.email_normalized],
		sender=outbox,
		subject="Password Reset",
		message="reset link",
		add_unsubscribe_link=0,
		now=False,
	)
	assert queued_to(email.email_normalized) == []


# --- inbound texts over HTTP --------------------------------------------------------------------------

SECRET = "oc-test-inbound-" + "s3cr3t"
HELP_TEXT = "Acme Collections: reply STOP to stop texts."
INBOUND = "/api/method/opt_consent.inbound.receive"


@pytest.fixture(scope="module")
def gateway(server):
	"""The shared secret and help text set and committed (the server is another process), then restored."""
	old_secret = get_decrypted_password(SETTINGS, SETTINGS, "inbound_sms_secret", raise_exception=False)
	old_help = frappe.db.get_single_value(SETTINGS, "sms_help_text")
	# no confirmation text is queued for the revocations posted here (the confirmation has its own tests)
	old_confirmation = frappe.db.get_single_value(SETTINGS, "send_revocation_confirmation")
	set_encrypted_password(SETTINGS, SETTINGS, SECRET, "inbound_sms_secret")
	frappe.db.set_single_value(
		SETTINGS,
		{"inbound_sms_secret": "*" * 8, "sms_help_text": HELP_TEXT, "send_revocation_confirmation": 0},
	)
	frappe.db.commit()
	frappe.clear_document_cache(SETTINGS, SETTINGS)
	yield server
	frappe.db.rollback()
	if old_secret:
		set_encrypted_password(SETTINGS, SETTINGS, old_secret, "inbound_sms_secret")
	else:
		remove_encrypted_password(SETTINGS, SETTINGS, "inbound_sms_secret")
		frappe.db.set_single_value(SETTINGS, "inbound_sms_secret", None)
	frappe.db.set_single_value(SETTINGS, "sms_help_text", old_help)
	frappe.db.set_single_value(SETTINGS, "send_revocation_confirmation", old_confirmation)
	frappe.db.commit()
	frappe.clear_document_cache(SETTINGS, SETTINGS)


def post(url, secret=SECRET, **body):
	headers = {"X-Opt-Consent-Secret": secret} if secret else {}
	response = requests.post(url + INBOUND, json=body, headers=headers, timeout=30)
	if response.status_code == 200 and response.json()["message"].get("status") != "Duplicate":
		COMMITTED.append(("Inbound Text", response.json()["message"]["inbound_text"]))
	return response


def committed_phone(number, phone_type="Cell", opt_in_texts=False):
	phone = make_phone(number, phone_type)
	if opt_in_texts:
		act(phone, "Opt In", "Text", 30)
	frappe.db.commit()
	COMMITTED.append(("Phone", phone.name))
	return phone.name


def text_log(name):
	frappe.db.rollback()  # see what the server committed
	return frappe.get_all(
		"Opt Log",
		filters={"parenttype": "Phone", "parent": name, "channel": "Text"},
		fields=["action", "method", "source", "message_id", "honour_by", "recorded_at"],
		order_by="idx asc",
	)


def message_id():
	return "gw-" + frappe.generate_hash(length=12)


def test_stop_from_a_known_cell_number_opts_it_out_once_even_when_posted_twice(gateway):
	number = random_number()
	cell = committed_phone(number, opt_in_texts=True)
	home = committed_phone(number, "Home")
	msg = message_id()
	first = post(gateway, sender=number, message=" Stop ", message_id=msg)
	assert first.status_code == 200, first.text
	assert first.json()["message"]["status"] == "Applied"
	# recorded on every phone with the number, whatever its type: a type changed back later cannot revive it
	assert first.json()["message"]["changed"] == 2
	again = post(gateway, sender=number, message=" Stop ", message_id=msg)
	assert again.status_code == 200, again.text
	assert again.json()["message"]["status"] == "Duplicate"
	rows = text_log(cell)
	assert [(r.action, r.method, r.source, r.message_id) for r in rows] == [
		("Opt In", "Verbal", "API", None),
		("Opt Out", "Text Reply", "Inbound SMS", msg),
	]
	assert rows[1].honour_by == business_days.add_business_days(getdate(rows[1].recorded_at), 10)
	assert frappe.db.get_value("Phone", cell, "text_opt") == 0
	assert [(r.action, r.source) for r in text_log(home)] == [("Opt Out", "Inbound SMS")]
	inbound = frappe.get_doc("Inbound Text", {"message_id": msg})
	assert (inbound.status, inbound.keyword, inbound.sender_e164) == (
		"Applied",
		"Opt Out",
		frappe.db.get_value("Phone", cell, "phone_e164"),
	)
	assert {row.phone: row.outcome for row in inbound.phones} == {
		cell: "Opted out of texts",
		home: "Opted out of texts",
	}
	assert can_contact("Text", number)["reason"] == "opted_out"


@pytest.mark.parametrize(
	"word", ["STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"]
)
def test_every_opt_out_keyword(gateway, word):
	number = random_number()
	cell = committed_phone(number, opt_in_texts=True)
	response = post(gateway, sender=number, message=word.lower(), message_id=message_id())
	assert response.json()["message"]["status"] == "Applied", response.text
	assert [r.action for r in text_log(cell)] == ["Opt In", "Opt Out"]


@pytest.mark.parametrize("word", ["START", "yes", "Unstop"])
def test_opt_in_keywords_opt_texts_back_in(gateway, word):
	number = random_number()
	cell = committed_phone(number, opt_in_texts=True)
	post(gateway, sender=number, message="STOP", message_id=message_id())
	response = post(gateway, sender=number, message=word, message_id=message_id())
	assert response.json()["message"]["status"] == "Applied", response.text
	assert [(r.action, r.source) for r in text_log(cell)][1:] == [
		("Opt Out", "Inbound SMS"),
		("Opt In", "Inbound SMS"),
	]
	assert frappe.db.get_value("Phone", cell, "text_opt") == 1


def test_phones_already_in_the_target_state_are_skipped_without_error(gateway):
	number = random_number()
	cell = committed_phone(number, opt_in_texts=True)
	response = post(gateway, sender=number, message="yes", message_id=message_id())
	assert response.status_code == 200
	assert (response.json()["message"]["status"], response.json()["message"]["changed"]) == ("No Change", 0)
	post(gateway, sender=number, message="stop", message_id=message_id())
	response = post(gateway, sender=number, message="QUIT", message_id=message_id())
	assert response.status_code == 200
	assert response.json()["message"]["status"] == "No Change"
	assert [r.action for r in text_log(cell)] == ["Opt In", "Opt Out"]


def test_help_changes_nothing_and_returns_the_help_text(gateway):
	number = random_number()
	cell = committed_phone(number, opt_in_texts=True)
	for word in ("HELP", " info"):
		response = post(gateway, sender=number, message=word, message_id=message_id())
		assert response.status_code == 200
		assert response.json()["message"]["status"] == "Help"
		assert response.json()["message"]["reply"] == HELP_TEXT
	assert [r.action for r in text_log(cell)] == ["Opt In"]


def test_other_text_is_kept_for_review(gateway):
	number = random_number()
	cell = committed_phone(number, opt_in_texts=True)
	msg = message_id()
	response = post(gateway, sender=number, message="can you call me after 5?", message_id=msg)
	assert response.json()["message"]["status"] == "Unrecognised"
	assert [r.action for r in text_log(cell)] == ["Opt In"]
	inbound = frappe.get_doc("Inbound Text", {"message_id": msg})
	assert (inbound.message, [r.phone for r in inbound.phones]) == ("can you call me after 5?", [cell])
	assert inbound.name in frappe.get_all("Inbound Text", filters={"status": "Unrecognised"}, pluck="name")


def test_a_revocation_in_plain_words_is_applied_and_flagged_for_review(gateway):
	""" "please stop texting me" was once kept unapplied for review: a revocation by any reasonable means
	(47 CFR 64.1200(a)(10)) is now applied at once, and flagged for a person to look at."""
	number = random_number()
	cell = committed_phone(number, opt_in_texts=True)
	msg = message_id()
	response = post(gateway, sender=number, message="please stop texting me", message_id=msg)
	assert (response.json()["message"]["status"], response.json()["message"]["changed"]) == ("Flagged", 1)
	assert [r.action for r in text_log(cell)] == ["Opt In", "Opt Out"]
	inbound = frappe.get_doc("Inbound Text", {"message_id": msg})
	assert (inbound.reading, inbound.matched_words) == ("Revocation", "stop")


def test_unknown_number_changes_nothing_and_is_recorded(gateway):
	number = random_number()
	msg = message_id()
	response = post(gateway, sender=number, message="STOP", message_id=msg)
	assert response.status_code == 200
	assert response.json()["message"]["status"] == "Unknown Number"
	frappe.db.rollback()
	assert frappe.db.get_value("Inbound Text", {"message_id": msg}, "status") == "Unknown Number"


def test_missing_or_wrong_secret_is_refused_and_changes_nothing(gateway):
	number = random_number()
	cell = committed_phone(number, opt_in_texts=True)
	for secret in (None, "wrong", SECRET + "x", SECRET[:-1]):
		msg = message_id()
		response = post(gateway, secret=secret, sender=number, message="STOP", message_id=msg)
		assert response.status_code == 403, (secret, response.text)
		assert SECRET not in response.text
		frappe.db.rollback()
		assert not frappe.db.exists("Inbound Text", {"message_id": msg})
	assert [r.action for r in text_log(cell)] == ["Opt In"]
	in_body = requests.post(
		gateway + INBOUND,
		json={"sender": number, "message": "STOP", "message_id": message_id(), "secret": SECRET},
		timeout=30,
	)
	assert in_body.status_code == 200, in_body.text
	COMMITTED.append(("Inbound Text", in_body.json()["message"]["inbound_text"]))


def test_malformed_bodies_get_a_4xx_and_change_nothing(gateway):
	number = random_number()
	cell = committed_phone(number, opt_in_texts=True)
	for body in (
		{"message": "STOP", "message_id": message_id()},
		{"sender": number, "message_id": message_id()},
		{"sender": number, "message": "STOP"},
		{"sender": number, "message": "STOP", "message_id": "   "},
		{"sender": "not a number", "message": "STOP", "message_id": message_id()},
		{"sender": number, "message": "x" * 1601, "message_id": message_id()},
	):
		response = post(gateway, **body)
		assert response.status_code == 400, (body, response.text)
	assert [r.action for r in text_log(cell)] == ["Opt In"]
	by_get = requests.get(
		gateway + INBOUND,
		params={"sender": number, "message": "STOP", "message_id": message_id()},
		headers={"X-Opt-Consent-Secret": SECRET},
		timeout=30,
	)
	assert 400 <= by_get.status_code < 500
	assert [r.action for r in text_log(cell)] == ["Opt In"]


# --- Inbound Text review ------------------------------------------------------------------------------


def test_an_inbound_text_can_only_be_marked_reviewed():
	from opt_consent.api.inbound import mark_reviewed

	doc = make_inbound_text()
	doc.message = "STOP"
	with pytest.raises(frappe.PermissionError, match="cannot be edited"):
		doc.save(ignore_permissions=True)
	with pytest.raises(frappe.PermissionError):
		frappe.get_doc({"doctype": "Inbound Text", "sender": "x", "message": "y", "message_id": "z"}).insert(
			ignore_permissions=True
		)
	frappe.set_user(user("auditor"))
	with pytest.raises(frappe.PermissionError):
		mark_reviewed(doc.name, "no")
	frappe.set_user(user("user"))
	reviewed = mark_reviewed(doc.name, "Recorded an opt out on the phone by hand.")
	assert (reviewed["status"], reviewed["reviewed_by"]) == ("Reviewed", user("user"))
	with pytest.raises(frappe.ValidationError):
		mark_reviewed(doc.name, "again")


# --- revocation clock and report ----------------------------------------------------------------------


def test_every_opt_out_gets_an_honour_by_date_and_opt_ins_do_not():
	phone = make_phone(random_number(), "Cell")
	email = make_email()
	act(phone, "Opt In", "Call", 30)
	act(phone, "Opt Out", "Call", 20)
	act(phone, "Opt Out", "Text", 10)
	act(email, "Opt Out", "Email", 10)
	rows = frappe.get_all(
		"Opt Log",
		filters={"parent": ["in", [phone.name, email.name]]},
		fields=["action", "honour_by", "recorded_at"],
		order_by="recorded_at asc",
	)
	for row in rows:
		expected = (
			business_days.add_business_days(getdate(row.recorded_at), 10) if row.action == "Opt Out" else None
		)
		assert row.honour_by == expected


def test_honour_by_reads_the_number_of_days_from_settings():
	frappe.db.set_single_value(SETTINGS, "revocation_business_days", 3)
	phone = make_phone(random_number(), "Cell")
	act(phone, "Opt Out", "Call", 5)
	row = frappe.get_all("Opt Log", filters={"parent": phone.name}, fields=["honour_by", "recorded_at"])[0]
	assert row.honour_by == business_days.add_business_days(getdate(row.recorded_at), 3)


def test_honour_by_skips_the_holidays_in_settings():
	from frappe.utils import add_days, today

	settings = frappe.get_doc(SETTINGS)
	settings.holiday_list = None
	settings.set("holidays", [])
	base = business_days.add_business_days(getdate(today()), 10)
	# every business day of the window is a holiday: the deadline moves by as many business days
	window = [
		d
		for d in (add_days(getdate(today()), i) for i in range(1, 15))
		if business_days.is_business_day(d, ())
	]
	for day in window[:3]:
		settings.append("holidays", {"holiday_date": day, "description": "test"})
	settings.save()
	phone = make_phone(random_number(), "Cell")
	act(phone, "Opt Out", "Call", 5)
	row = frappe.get_all("Opt Log", filters={"parent": phone.name}, fields=["honour_by", "recorded_at"])[0]
	assert row.honour_by == business_days.add_business_days(getdate(row.recorded_at), 10, set(window[:3]))
	assert row.honour_by > base


def run_report(**filters):
	from opt_consent.opt_consent.report.revocations.revocations import execute

	columns, data = execute(filters)
	return [c["fieldname"] for c in columns], data


def test_revocations_report():
	phone = make_phone(random_number(), "Cell")
	email = make_email()
	act(phone, "Opt In", "Call", 30)
	act(phone, "Opt Out", "Call", 20)
	act(email, "Opt Out", "Email", 10)
	fields, data = run_report(from_date=today(), to_date=today())
	for column in ("received", "honour_by", "channel", "source", "record_doctype", "record", "address"):
		assert column in fields
	mine = {r["record"]: r for r in data if r["record"] in (phone.name, email.name)}
	assert set(mine) == {phone.name, email.name}
	assert (mine[phone.name]["channel"], mine[phone.name]["record_doctype"], mine[phone.name]["address"]) == (
		"Call",
		"Phone",
		phone.phone,
	)
	assert mine[email.name]["address"] == email.email_id
	assert all(r["honour_by"] >= getdate(today()) for r in mine.values())

	_, emails_only = run_report(channel="Email", from_date=today())
	assert phone.name not in {r["record"] for r in emails_only}
	_, yesterday = run_report(to_date=str(add_to_date(getdate(today()), days=-1)))
	assert not {phone.name, email.name} & {r["record"] for r in yesterday}

	_, overdue = run_report(overdue=1)
	assert not {phone.name, email.name} & {r["record"] for r in overdue}
	row = frappe.get_all("Opt Log", filters={"parent": email.name, "action": "Opt Out"}, pluck="name")[0]
	frappe.db.set_value("Opt Log", row, "honour_by", add_to_date(getdate(today()), days=-1))
	_, overdue = run_report(overdue=1)
	assert email.name in {r["record"] for r in overdue}
	assert [r["days_left"] for r in overdue if r["record"] == email.name] == [-1]


def test_revocations_report_shows_only_doctypes_the_user_may_read():
	phone = make_phone(random_number(), "Cell")
	act(phone, "Opt Out", "Call", 10)
	frappe.set_user(user("outsider"))
	_, data = run_report(from_date=today())
	assert data == []
