"""Contact Control on the real site: the rules in the settings (and the Regulation F template), attempts
recorded through the API, the SMS door and the email queue, overrides, local hours from the party's address
or the number, the gate's next allowed moment, and a list scrubbed set-based; every door as each role."""

import contextlib
import datetime as dt
from zoneinfo import ZoneInfo

import frappe
import pytest
from frappe.utils import add_to_date, get_system_timezone, now_datetime

from opt_consent.api import control
from opt_consent.contact_control import adapter as contact_control
from opt_consent.contact_control import rules as cc
from opt_consent.gate import rules as gate
from opt_consent.ledger.consent import ActionRequest, record_action
from tests.integration.factories import (
	make_email,
	make_outgoing_email_account,
	make_phone,
	random_email,
	random_number,
	user,
)
from tests.integration.http import Client, message_of

SETTINGS = "Opt Consent Settings"
CONTROL = "/api/method/opt_consent.control."


def set_rules(*rows, override_role=None):
	settings = frappe.get_doc(SETTINGS)
	settings.set("contact_rules", [])
	for row in rows:
		settings.append("contact_rules", {"enabled": 1, "counts_per": cc.PER_ADDRESS, **row})
	settings.override_role = override_role
	settings.save()
	frappe.clear_document_cache(SETTINGS, SETTINGS)


def cap(n, days=7, per=cc.PER_ADDRESS, channels="Call", name="cap"):
	return {
		"rule_name": name,
		"kind": cc.FREQUENCY_CAP,
		"channels": channels,
		"max_attempts": n,
		"window_days": days,
		"counts_per": per,
	}


def hours(start="08:00:00", end="21:00:00", channels="Call, Text", name="hours", **kw):
	return {
		"rule_name": name,
		"kind": cc.ALLOWED_HOURS,
		"channels": channels,
		"start_time": start,
		"end_time": end,
		**kw,
	}


def opted_in_phone(number=None, channels=("Call", "Text"), **fields):
	phone = make_phone(number or random_number(), "Cell", **fields)
	at = add_to_date(now_datetime(), days=-2)
	for channel in channels:
		record_action(
			ActionRequest(
				"Phone", phone.name, "Opt In", channel, at.date(), at.strftime("%H:%M:%S"), "Verbal"
			)
		)
	return frappe.get_doc("Phone", phone.name)


def attempt(phone, outcome=cc.NO_ANSWER, minutes_ago=0, channel="Call", **kw):
	at = add_to_date(now_datetime(), minutes=-minutes_ago) if minutes_ago else None
	return contact_control.record_attempt(channel, phone.phone_e164, outcome, at, **kw)


def site_time(moment: dt.datetime) -> dt.datetime:
	return moment.astimezone(ZoneInfo(get_system_timezone())).replace(tzinfo=None)


def ceil_minute(moment: dt.datetime) -> dt.datetime:
	return cc.ceil_minute(moment)


# --- settings ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module", autouse=True)
def keep_settings(site):
	"""Tests that commit (for the web server) change the rules: put the site's rules back afterwards."""
	before = frappe.get_doc(SETTINGS)
	rows = [
		{k: v for k, v in row.as_dict().items() if k not in ("name", "idx")} for row in before.contact_rules
	]
	role = before.override_role
	yield
	frappe.db.rollback()
	settings = frappe.get_doc(SETTINGS)
	settings.set("contact_rules", [])
	for row in rows:
		settings.append("contact_rules", row)
	settings.override_role = role
	settings.save()
	frappe.db.commit()


def test_regulation_f_template_is_seeded_disabled_once_and_one_call_enables_it():
	from opt_consent.install import seed_contact_rule_templates

	set_rules()
	seed_contact_rule_templates()
	seed_contact_rule_templates()  # idempotent
	frappe.clear_document_cache(SETTINGS, SETTINGS)
	rows = frappe.get_all(
		"Opt Consent Contact Rule",
		filters={"template": cc.REGULATION_F},
		fields=["rule_name", "enabled", "kind"],
	)
	assert len(rows) == 3 and not any(row.enabled for row in rows)
	assert contact_control.rules() == []
	# an admin renamed one of the template's rows: enabling finds it, it adds no second one
	settings = frappe.get_doc(SETTINGS)
	settings.contact_rules[0].rule_name = "Our weekly call cap"
	settings.save()
	assert control.enable_regulation_f()["rules"]
	frappe.clear_document_cache(SETTINGS, SETTINGS)
	rows = frappe.get_all(
		"Opt Consent Contact Rule", filters={"template": cc.REGULATION_F}, fields=["enabled"]
	)
	assert len(rows) == 3 and all(row.enabled for row in rows)
	assert [rule.kind for rule in contact_control.rules()] == list(cc.KINDS)


def test_enable_regulation_f_needs_settings_write(server):
	for key, status in (("user", 403), ("auditor", 403), ("outsider", 403), (None, 403)):
		response = Client(server, key).post(CONTROL + "enable_regulation_f")
		assert response.status_code == status, (key, response.text)
	response = Client(server, "manager").post(CONTROL + "enable_regulation_f")
	assert response.status_code == 200, message_of(response)
	assert len(response.json()["message"]["rules"]) >= 3


@pytest.mark.parametrize(
	"row",
	[
		cap(0),
		{**cap(2), "channels": "Fax"},
		hours("21:00:00", "08:00:00"),
		{**hours(), "days_of_week": "Funday"},
		{
			"rule_name": "hold",
			"kind": cc.HOLD_AFTER_OUTCOME,
			"channels": "Call",
			"window_days": 7,
			"outcomes": "Shouting",
		},
	],
)
def test_a_rule_that_makes_no_sense_is_refused_and_nothing_changes(row):
	before = [r.as_dict() for r in frappe.get_doc(SETTINGS).contact_rules]
	with pytest.raises(frappe.ValidationError):
		set_rules(row)
	frappe.clear_document_cache(SETTINGS, SETTINGS)
	assert [r.as_dict() for r in frappe.get_doc(SETTINGS).contact_rules] == before


# --- the gate answers when -----------------------------------------------------------------------------


def test_no_rules_keeps_the_consent_verdict():
	set_rules()
	phone = opted_in_phone()
	answer = control_can_contact("Call", phone.phone)
	assert answer["allowed"] and answer["reason"] == gate.OPTED_IN and answer["next_allowed_at"]
	refused = control_can_contact("Call", make_phone(random_number()).phone)
	assert not refused["allowed"] and refused["reason"] == gate.NOT_OPTED_IN
	assert refused["next_allowed_at"] is None  # only a new opt in could allow it


def control_can_contact(channel, address, at=None, reference=None):
	from opt_consent.api.consent import can_contact

	return can_contact(channel, address, at, reference)


def test_frequency_cap_refuses_the_next_call_and_says_when():
	set_rules(cap(2, 7))
	phone = opted_in_phone()
	first = attempt(phone, minutes_ago=60)
	attempt(phone, minutes_ago=30)
	with pytest.raises(contact_control.AttemptRefusedError, match="Too many attempts"):
		attempt(phone)
	answer = control_can_contact("Call", phone.phone_e164)
	assert (answer["allowed"], answer["reason"], answer["rule"]) == (False, cc.REASON_FREQUENCY_CAP, "cap")
	first_at = frappe.db.get_value("Contact Attempt", first["name"], "attempted_at")
	assert answer["next_allowed_at"] == ceil_minute(first_at + dt.timedelta(days=7))
	# texts are not capped by a calls rule
	assert control_can_contact("Text", phone.phone_e164)["allowed"]
	# the refused attempt left nothing behind
	assert frappe.db.count("Contact Attempt", {"address": phone.phone_e164}) == 2


def test_hold_after_a_conversation():
	set_rules(
		{
			"rule_name": "hold",
			"kind": cc.HOLD_AFTER_OUTCOME,
			"channels": "Call",
			"window_days": 7,
			"outcomes": cc.CONVERSATION,
		}
	)
	phone = opted_in_phone()
	attempt(phone, cc.VOICEMAIL, minutes_ago=20)
	assert control_can_contact("Call", phone.phone_e164)["allowed"]
	talk = attempt(phone, cc.CONVERSATION, minutes_ago=10)
	answer = control_can_contact("Call", phone.phone_e164)
	assert answer["reason"] == cc.REASON_CONVERSATION_HOLD
	talked = frappe.db.get_value("Contact Attempt", talk["name"], "attempted_at")
	assert answer["next_allowed_at"] == ceil_minute(talked + dt.timedelta(days=7))


def test_outside_hours_in_the_numbers_zone_and_next_allowed_in_site_and_local_time():
	set_rules(hours())
	phone = opted_in_phone("+1 212 555 0142")  # New York
	ny = ZoneInfo("America/New_York")
	tomorrow = (now_datetime() + dt.timedelta(days=1)).date()
	three_am = dt.datetime.combine(tomorrow, dt.time(3, 0), tzinfo=ny)
	answer = control_can_contact("Call", phone.phone_e164, str(site_time(three_am)))
	assert (answer["allowed"], answer["reason"]) == (False, cc.REASON_OUTSIDE_HOURS)
	eight = dt.datetime.combine(tomorrow, dt.time(8, 0), tzinfo=ny)
	assert answer["next_allowed_at"] == site_time(eight)
	assert answer["local_next_allowed_at"] == [
		{"zone": "America/New_York", "at": dt.datetime.combine(tomorrow, dt.time(8))}
	]
	noon = dt.datetime.combine(tomorrow, dt.time(12, 0), tzinfo=ny)
	assert control_can_contact("Call", phone.phone_e164, str(site_time(noon)))["allowed"]


def contact_with_address(state: str, country="United States"):
	contact = frappe.get_doc(
		{"doctype": "Contact", "first_name": "CC " + frappe.generate_hash(length=6)}
	).insert(ignore_permissions=True)
	frappe.get_doc(
		{
			"doctype": "Address",
			"address_title": contact.name,
			"address_line1": "1 Main Street",
			"city": "Somewhere",
			"state": state,
			"country": country,
			"links": [{"link_doctype": "Contact", "link_name": contact.name}],
		}
	).insert(ignore_permissions=True)
	return contact


def test_the_party_address_decides_the_zone_and_a_two_zone_state_needs_both():
	set_rules(hours())
	contact = contact_with_address("California")
	phone = opted_in_phone("+1 212 555 0143", link_doctype="Contact", link_name=contact.name)
	day = (now_datetime() + dt.timedelta(days=1)).date()
	# 09:00 in New York is 06:00 in Los Angeles: the address (California) decides, not the number
	nine_ny = dt.datetime.combine(day, dt.time(9), tzinfo=ZoneInfo("America/New_York"))
	answer = control_can_contact("Call", phone.phone_e164, str(site_time(nine_ny)))
	assert not answer["allowed"]
	assert answer["next_allowed_at"] == site_time(
		dt.datetime.combine(day, dt.time(8), tzinfo=ZoneInfo("America/Los_Angeles"))
	)
	# Texas spans Central and Mountain time: 08:30 Central is 07:30 Mountain, refused until 08:00 Mountain
	texan = contact_with_address("TX")
	other = opted_in_phone("+1 212 555 0144", link_doctype="Contact", link_name=texan.name)
	half_past = dt.datetime.combine(day, dt.time(8, 30), tzinfo=ZoneInfo("America/Chicago"))
	answer = control_can_contact("Call", other.phone_e164, str(site_time(half_past)))
	assert not answer["allowed"]
	assert answer["next_allowed_at"] == site_time(
		dt.datetime.combine(day, dt.time(8), tzinfo=ZoneInfo("America/Denver"))
	)
	assert {z["zone"] for z in answer["local_next_allowed_at"]} == {"America/Chicago", "America/Denver"}


def test_jurisdiction_from_the_number():
	set_rules(hours(country="Canada"))
	us = opted_in_phone("+1 212 555 0145")
	day = (now_datetime() + dt.timedelta(days=1)).date()
	night = dt.datetime.combine(day, dt.time(3), tzinfo=ZoneInfo("America/New_York"))
	assert control_can_contact("Call", us.phone_e164, str(site_time(night)))["allowed"]  # not in Canada
	toronto = opted_in_phone("+1 416 555 0146")
	assert not control_can_contact("Call", toronto.phone_e164, str(site_time(night)))["allowed"]


def test_counted_per_party_and_reference_across_the_partys_numbers():
	set_rules(cap(2, 7, cc.PER_PARTY_REFERENCE))
	contact = frappe.get_doc(
		{"doctype": "Contact", "first_name": "Debtor " + frappe.generate_hash(length=6)}
	).insert(ignore_permissions=True)
	home = opted_in_phone(link_doctype="Contact", link_name=contact.name)
	work = opted_in_phone(link_doctype="Contact", link_name=contact.name)
	attempt(home, minutes_ago=30, reference="DEBT-1")
	attempt(home, minutes_ago=20, reference="DEBT-1")
	assert not control_can_contact("Call", work.phone_e164, reference="DEBT-1")["allowed"]
	assert control_can_contact("Call", work.phone_e164, reference="DEBT-2")["allowed"]
	with pytest.raises(contact_control.AttemptRefusedError):
		attempt(work, reference="DEBT-1")
	assert attempt(work, reference="DEBT-2")["name"]


# --- attempts and overrides ----------------------------------------------------------------------------


def test_an_attempt_is_a_communication_on_the_partys_timeline():
	set_rules()
	contact = frappe.get_doc(
		{"doctype": "Contact", "first_name": "Timeline " + frappe.generate_hash(length=6)}
	).insert(ignore_permissions=True)
	phone = opted_in_phone(link_doctype="Contact", link_name=contact.name)
	result = attempt(phone, cc.VOICEMAIL, reference="DEBT-9")
	doc = frappe.get_doc("Contact Attempt", result["name"])
	assert (doc.channel, doc.outcome, doc.source, doc.party_type, doc.party) == (
		"Call",
		cc.VOICEMAIL,
		cc.SOURCE_API,
		"Contact",
		contact.name,
	)
	assert (doc.record_doctype, doc.record, doc.reference, doc.override) == ("Phone", phone.name, "DEBT-9", 0)
	communication = frappe.get_doc("Communication", result["communication"])
	assert communication.communication_medium == "Phone" and communication.phone_no == phone.phone_e164
	assert {(l.link_doctype, l.link_name) for l in communication.timeline_links} >= {
		("Contact", contact.name),
		("Phone", phone.name),
	}


def test_consent_is_never_overridden_and_bad_input_records_nothing():
	set_rules(cap(1), override_role="Opt Consent Manager")
	phone = make_phone(random_number())
	frappe.set_user(user("manager"))
	with pytest.raises(contact_control.AttemptRefusedError, match="never opted in"):
		contact_control.record_attempt("Call", phone.phone_e164, cc.NO_ANSWER, override_reason="urgent")
	for args in (
		("Fax", phone.phone_e164, cc.NO_ANSWER),
		("Call", phone.phone_e164, "Shouting"),
		("Text", phone.phone_e164, cc.NO_ANSWER),
		("Call", "not a number", cc.NO_ANSWER),
	):
		with pytest.raises(frappe.ValidationError):
			contact_control.record_attempt(*args)
	opted = opted_in_phone()
	with pytest.raises(frappe.ValidationError, match="future"):
		contact_control.record_attempt(
			"Call", opted.phone_e164, cc.NO_ANSWER, str(add_to_date(now_datetime(), hours=2))
		)
	assert frappe.db.count("Contact Attempt", {"address": ["in", [phone.phone_e164, opted.phone_e164]]}) == 0


def test_override_needs_the_role_and_a_reason_and_is_recorded_beside_the_attempt():
	set_rules(cap(1), override_role="Opt Consent Manager")
	phone = opted_in_phone()
	attempt(phone, minutes_ago=5)
	frappe.set_user(user("user"))
	with pytest.raises(contact_control.AttemptRefusedError, match="Opt Consent Manager"):
		attempt(phone, override_reason="the person asked us to call back")
	frappe.set_user(user("manager"))
	with pytest.raises(contact_control.AttemptRefusedError):
		attempt(phone)  # the role, but no reason
	result = attempt(phone, cc.CONVERSATION, override_reason="the person asked us to call back")
	doc = frappe.get_doc("Contact Attempt", result["name"])
	assert (doc.override, doc.refused_reason, doc.refused_rule) == (1, cc.REASON_FREQUENCY_CAP, "cap")
	assert doc.override_reason == "the person asked us to call back" and doc.recorded_by == user("manager")


def test_concurrent_attempts_cannot_both_pass_a_cap():
	"""record_attempt locks the address's records: the second of two attempts sees the first."""
	set_rules(cap(1))
	phone = opted_in_phone()
	frappe.db.commit()
	try:
		attempt(phone)
		other = frappe.db.sql  # the same connection sees its own attempt; a second one waits on the lock
		rows = other("select count(*) from `tabContact Attempt` where address=%s", phone.phone_e164)
		assert rows[0][0] == 1
		with pytest.raises(contact_control.AttemptRefusedError):
			attempt(phone)
	finally:
		frappe.db.rollback()
		frappe.delete_doc("Phone", phone.name, force=True, ignore_permissions=True)
		frappe.db.commit()


def test_attempts_are_evidence_on_every_door(server):
	set_rules()
	phone = opted_in_phone()
	result = attempt(phone)
	frappe.db.commit()
	name = result["name"]
	try:
		manager = Client(server, "manager")
		response = manager.put(f"/api/resource/Contact Attempt/{name}", outcome=cc.CONVERSATION)
		assert response.status_code in (403, 417), response.text
		response = manager.delete(f"/api/resource/Contact Attempt/{name}")
		assert response.status_code == 403, response.text
		response = Client(server, "user").post(
			"/api/resource/Contact Attempt",
			channel="Call",
			address=phone.phone_e164,
			outcome=cc.NO_ANSWER,
			attempted_at=str(now_datetime()),
		)
		assert response.status_code == 403, response.text
		frappe.db.rollback()
		assert frappe.db.get_value("Contact Attempt", name, "outcome") == cc.NO_ANSWER
	finally:
		frappe.delete_doc("Contact Attempt", name, force=True, ignore_permissions=True)
		if result["communication"]:
			frappe.delete_doc("Communication", result["communication"], force=True, ignore_permissions=True)
		frappe.delete_doc("Phone", phone.name, force=True, ignore_permissions=True)
		frappe.db.commit()


def test_record_attempt_and_scrub_through_the_api_as_each_role(server):
	set_rules(cap(1))
	phone = opted_in_phone()
	frappe.db.commit()
	try:
		for key, status in (("outsider", 403), (None, 403), ("auditor", 403)):
			response = Client(server, key).post(
				CONTROL + "record_attempt", channel="Call", address=phone.phone_e164, outcome=cc.NO_ANSWER
			)
			assert response.status_code == status, (key, response.text)
		user_client = Client(server, "user")
		response = user_client.post(
			CONTROL + "record_attempt", channel="Call", address=phone.phone_e164, outcome=cc.NO_ANSWER
		)
		assert response.status_code == 200, message_of(response)
		response = user_client.post(
			CONTROL + "record_attempt", channel="Call", address=phone.phone_e164, outcome=cc.NO_ANSWER
		)
		assert response.status_code == 417 and "Too many attempts" in message_of(response)
		response = user_client.get(
			CONTROL + "record_attempt", channel="Call", address=phone.phone_e164, outcome=cc.NO_ANSWER
		)
		assert response.status_code in (403, 405)  # a write is POST only
		response = user_client.post(
			CONTROL + "scrub", channel="Call", addresses=[phone.phone_e164, "nonsense"]
		)
		assert response.status_code == 200, message_of(response)
		rows = response.json()["message"]
		assert [(r["allowed"], r["reason"]) for r in rows] == [
			(False, cc.REASON_FREQUENCY_CAP),
			(False, gate.INVALID_ADDRESS),
		]
		assert (
			Client(server, "outsider")
			.post(CONTROL + "scrub", channel="Call", addresses=[phone.phone_e164])
			.status_code
			== 403
		)
		assert (
			Client(server, None)
			.post(CONTROL + "scrub", channel="Call", addresses=[phone.phone_e164])
			.status_code
			== 403
		)
		response = Client(server, "outsider").get(CONTROL + "next_allowed", doctype="Phone", name=phone.name)
		assert response.status_code == 403
		response = user_client.get(CONTROL + "next_allowed", doctype="Phone", name=phone.name)
		assert response.status_code == 200, message_of(response)
		call = response.json()["message"]["channels"]["Call"]
		assert call["reason"] == cc.REASON_FREQUENCY_CAP and "Next allowed at" in call["message"]
	finally:
		frappe.db.rollback()
		for name, communication in frappe.get_all(
			"Contact Attempt", {"address": phone.phone_e164}, ["name", "communication"], as_list=True
		):
			frappe.delete_doc("Contact Attempt", name, force=True, ignore_permissions=True)
			if communication:
				frappe.delete_doc("Communication", communication, force=True, ignore_permissions=True)
		frappe.delete_doc("Phone", phone.name, force=True, ignore_permissions=True)
		frappe.db.commit()


# --- scrubbing a list ----------------------------------------------------------------------------------


def test_scrub_answers_each_address_in_order_as_can_contact_does():
	set_rules(cap(1), hours("00:00:00", "23:59:00"))
	capped, free, out, never = (
		opted_in_phone(),
		opted_in_phone(),
		opted_in_phone(),
		make_phone(random_number()),
	)
	attempt(capped, minutes_ago=5)
	at = add_to_date(now_datetime(), minutes=-1)
	record_action(
		ActionRequest("Phone", out.name, "Opt Out", "Call", at.date(), at.strftime("%H:%M:%S"), "Verbal")
	)
	addresses = [
		capped.phone,
		free.phone_e164,
		out.phone_e164,
		never.phone_e164,
		"+1 999",
		random_number(),
		free.phone_e164,
	]
	rows = contact_control.scrub("Call", addresses)
	assert [r["address"] for r in rows] == addresses
	assert [r["reason"] for r in rows] == [
		cc.REASON_FREQUENCY_CAP,
		gate.OPTED_IN,
		gate.OPTED_OUT,
		gate.NOT_OPTED_IN,
		gate.INVALID_ADDRESS,
		gate.UNKNOWN_ADDRESS,
		gate.OPTED_IN,
	]
	for address, row in zip(addresses, rows, strict=True):
		single = control_can_contact("Call", address)
		assert (row["allowed"], row["reason"], row["rule"]) == (
			single["allowed"],
			single["reason"],
			single["rule"],
		), address
		if not row["allowed"] and row["next_allowed_at"]:
			assert row["next_allowed_at"] == single["next_allowed_at"]


def test_scrub_sees_only_records_the_user_may_read():
	set_rules()
	mine, theirs = opted_in_phone(), opted_in_phone()
	frappe.get_doc(
		{"doctype": "User Permission", "user": user("restricted"), "allow": "Phone", "for_value": mine.name}
	).insert(ignore_permissions=True)
	frappe.set_user(user("restricted"))
	rows = contact_control.scrub("Call", [mine.phone_e164, theirs.phone_e164])
	assert [r["reason"] for r in rows] == [gate.OPTED_IN, gate.UNKNOWN_ADDRESS]


def sender_address() -> str:
	account = make_outgoing_email_account()
	frappe.local.outgoing_email_account = {}
	return frappe.db.get_value("Email Account", account, "email_id")


# --- Frappe's own doors count ---------------------------------------------------------------------------


def test_mail_frappe_queues_counts_as_an_attempt():
	set_rules()
	sender = sender_address()
	email = make_email(random_email())
	frappe.sendmail(
		recipients=[f"Some One <{email.email_id.upper()}>"],
		sender=sender,
		subject="Statement",
		message="Hello",
		now=False,
	)
	rows = frappe.get_all(
		"Contact Attempt", {"address": email.email_normalized}, ["channel", "source", "outcome", "record"]
	)
	assert [(r.channel, r.source, r.outcome, r.record) for r in rows] == [
		("Email", cc.SOURCE_EMAIL_QUEUE, cc.SENT, email.name)
	]
	# nobody with a consent record: nothing counted
	frappe.sendmail(
		recipients=["nobody-known@example.com"], sender=sender, subject="Hi", message="Hello", now=False
	)
	assert not frappe.db.exists("Contact Attempt", {"address": "nobody-known@example.com"})


def test_email_hours_and_caps_apply_to_email_records():
	set_rules(cap(1, channels="Email"))
	sender = sender_address()
	email = make_email(random_email())
	at = add_to_date(now_datetime(), days=-2)
	record_action(
		ActionRequest("Email", email.name, "Opt In", "Email", at.date(), at.strftime("%H:%M:%S"), "Verbal")
	)
	assert control_can_contact("Email", email.email_id)["allowed"]
	queue = frappe.sendmail(
		recipients=[email.email_id], sender=sender, subject="Statement", message="Hello", now=False
	)
	# about this test's own mail and record: queued to its address, counted on its record, not later than now
	assert queue and [r.recipient for r in queue.recipients] == [email.email_id], queue
	attempts = frappe.get_all(
		"Contact Attempt",
		{"address": email.email_normalized},
		["channel", "source", "record", "attempted_at"],
	)
	assert [(a.channel, a.source, a.record) for a in attempts] == [
		("Email", cc.SOURCE_EMAIL_QUEUE, email.name)
	]
	assert attempts[0].attempted_at <= now_datetime()
	answer = control_can_contact("Email", email.email_id)
	assert (answer["allowed"], answer["reason"]) == (False, cc.REASON_FREQUENCY_CAP)


@contextlib.contextmanager
def door_stand_in():
	"""The SMS door's gateway call replaced: every number it is handed is taken (200)."""
	from unittest import mock

	from opt_consent.outbound import door

	def take(settings, number, message):
		return door.Delivery(number, True, 200, "OK")

	with (
		mock.patch.object(door, "gateway_url", return_value="http://127.0.0.1:9/send"),
		mock.patch.object(door, "post_one", side_effect=take) as gateway,
	):
		yield gateway


def test_the_sms_door_withholds_a_text_outside_the_persons_hours_and_counts_the_ones_sent():
	from opt_consent.api import sms

	phone = opted_in_phone("+1 212 555 0147")
	today_ny = dt.datetime.now(ZoneInfo("America/New_York")).weekday()
	other_days = ", ".join(day for i, day in enumerate(cc.WEEKDAYS) if i != today_ny)
	set_rules(hours("00:00:00", "23:59:00", channels="Text", days_of_week=other_days))
	with door_stand_in() as gateway:
		result = sms.send_sms([phone.phone], "Your statement is ready")
	assert gateway.call_count == 0 and result["sent_to"] == []
	assert [(w["reason"], w["reason_label"]) for w in result["withheld"]] == [
		(cc.REASON_OUTSIDE_HOURS, "Outside Hours")
	]
	assert (
		frappe.db.get_value("Withheld Message", {"number_e164": phone.phone_e164}, "reason")
		== "Outside Hours"
	)
	assert not frappe.db.exists("Contact Attempt", {"address": phone.phone_e164})
	set_rules()
	with door_stand_in() as gateway:
		result = sms.send_sms([phone.phone], "Your statement is ready")
	assert gateway.call_count == 1 and result["sent_to"] == [phone.phone]
	rows = frappe.get_all("Contact Attempt", {"address": phone.phone_e164}, ["channel", "source", "outcome"])
	assert [(r.channel, r.source, r.outcome) for r in rows] == [("Text", cc.SOURCE_SMS, cc.SENT)]
