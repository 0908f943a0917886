"""Revocation by any reasonable means (47 CFR 64.1200(a)(10), FCC 24-24), through the doors people use: the
gateway's inbound door over HTTP (replies as people write them, the honour-by clock, the review), the
whitelisted record_revocation over REST as each role, an email reply fed through Frappe's own receive code,
and the one confirmation text (64.1200(a)(12)) against a gateway stand-in on 127.0.0.1."""

import frappe
import pytest
from frappe.desk import query_report
from frappe.utils import add_to_date, get_datetime, getdate, now_datetime
from frappe.utils.background_jobs import get_job

from opt_consent import tasks
from opt_consent.api import workspace
from opt_consent.ledger.settings import honour_by
from opt_consent.revocation import confirmation_job as confirmations
from opt_consent.revocation.rules import confirmation
from tests.integration.factories import (
	make_email,
	random_email,
	random_number,
	user,
	when,
)
from tests.integration.http import Client, message_of
from tests.integration.test_gate import committed_phone, gateway, message_id, post, text_log  # noqa: F401
from tests.integration.test_sms_door import clean_door, stand_in_gateway, stripped

SETTINGS = "Opt Consent Settings"
INBOUND = "Inbound Text"


@pytest.fixture(autouse=True)
def evidence_path(record_property):
	"""Each test here is one evidence path tried (listed in docs/RELIABILITY.md)."""
	record_property("evidence_path", 1)


@pytest.fixture(scope="module")
def sms_stand_in(site):
	with stand_in_gateway() as stand_in:
		yield stand_in


@pytest.fixture
def door(sms_stand_in):
	with clean_door(sms_stand_in) as stand_in:
		yield stand_in


@pytest.fixture
def confirmations_off():
	"""Most tests here are about reading replies: no confirmation is queued (committed for the server)."""
	before = frappe.db.get_single_value(SETTINGS, "send_revocation_confirmation")
	set_confirmation(False)
	yield
	set_confirmation(bool(before))


def set_confirmation(on: bool, text: str | None = None) -> None:
	frappe.db.rollback()
	values = {"send_revocation_confirmation": int(on)}
	if text:
		values["revocation_confirmation_text"] = text
	frappe.db.set_single_value(SETTINGS, values)
	frappe.db.commit()
	frappe.clear_document_cache(SETTINGS, SETTINGS)


def reply(url, number, message):
	response = post(url, sender=number, message=message, message_id=message_id())
	assert response.status_code == 200, response.text
	return response.json()["message"]


# --- the inbound door: every "stop" a person actually writes -------------------------------------------

# replies from the field that were dropped as Unrecognised when only an exact keyword counted
REVOCATIONS = {
	"Stop.": "Applied",
	"STOP!!!": "Applied",
	"opt out": "Applied",
	"Opt-out": "Applied",
	"Stop please": "Applied",
	"UNSUBSCRIBE ME": "Applied",
	"STOP ALL": "Applied",
	"ALTO": "Applied",
	"BAJA": "Applied",
	"Stop texting me": "Flagged",
	"remove me from your list": "Flagged",
	"I don't want these messages": "Flagged",
	"wrong number, stop texting": "Flagged",
}


@pytest.mark.parametrize("message", sorted(REVOCATIONS))
def test_a_reply_a_person_writes_revokes_texting_consent(gateway, confirmations_off, message):  # noqa: F811
	number = random_number()
	cell = committed_phone(number, opt_in_texts=True)
	answer = reply(gateway, number, message)
	assert (answer["status"], answer["changed"]) == (REVOCATIONS[message], 1), message
	assert [r.action for r in text_log(cell)] == ["Opt In", "Opt Out"]
	assert frappe.db.get_value("Phone", cell, "text_opt") == 0
	kept = frappe.get_doc(INBOUND, answer["inbound_text"])
	assert kept.reading == "Revocation" and kept.matched_words
	assert kept.honour_by == honour_by(getdate(kept.received_at))


@pytest.mark.parametrize(
	"message",
	[
		"I stopped by your office",
		"I can't pay until the end of the month",
		"can you send the payment link again?",
		"what is my balance?",
	],
)
def test_an_ordinary_reply_revokes_nothing_and_waits_with_its_honour_by_date(gateway, message):  # noqa: F811
	number = random_number()
	cell = committed_phone(number, opt_in_texts=True)
	answer = reply(gateway, number, message)
	assert answer["status"] == "Unrecognised"
	assert [r.action for r in text_log(cell)] == ["Opt In"]
	kept = frappe.get_doc(INBOUND, answer["inbound_text"])
	assert (kept.reading, kept.confirmation_status or "") == ("Other", "")
	assert kept.honour_by == honour_by(getdate(kept.received_at))


def test_free_text_never_grants_consent(gateway, confirmations_off):  # noqa: F811
	number = random_number()
	cell = committed_phone(number)
	for message in ("yes I want to start getting texts", "Start please me", "ok yes"):
		assert reply(gateway, number, message)["status"] == "Unrecognised"
	assert text_log(cell) == []
	assert reply(gateway, number, "START")["status"] == "Applied"


def overdue(name: str) -> None:
	"""Received 20 days ago and never reviewed: its honour-by date has passed."""
	received = add_to_date(now_datetime(), days=-20)
	frappe.db.set_value(
		INBOUND,
		name,
		{"received_at": received, "honour_by": honour_by(received.date())},
		update_modified=False,
	)
	frappe.db.commit()


def test_an_unreviewed_text_counts_on_the_card_and_report_until_a_person_reviews_it(gateway):  # noqa: F811
	number = random_number()
	committed_phone(number, opt_in_texts=True)
	name = reply(gateway, number, "who is this? I pay on the 5th")["inbound_text"]
	overdue(name)
	frappe.set_user(user("user"))
	rows = query_report.run("Revocations", filters={"overdue": 1})["result"]
	mine = [row for row in rows if isinstance(row, dict) and row.get("record") == name]
	assert [(r["record_doctype"], r["state"], r["channel"]) for r in mine] == [
		(INBOUND, "Awaiting Review", "Text")
	]
	assert mine[0]["days_left"] < 0
	card = workspace.revocations_past_honour_by()
	assert card["value"] == len(query_report.run("Revocations", filters=card["route_options"])["result"])
	before = card["value"]
	response = Client(gateway, "user").post(  # the desk's review: a POST as the user
		"/api/method/opt_consent.inbound.mark_reviewed", name=name, note="asked who we are"
	)
	assert response.status_code == 200, message_of(response)
	frappe.db.rollback()
	assert workspace.revocations_past_honour_by()["value"] == before - 1
	frappe.set_user(user("outsider"))  # no role on the report, no read on Inbound Text: nothing
	with pytest.raises(frappe.PermissionError):
		query_report.run("Revocations", filters={"overdue": 1})
	assert workspace.revocations_past_honour_by()["value"] == 0


def test_a_review_that_reads_it_as_a_revocation_records_it_at_the_original_receipt(gateway):  # noqa: F811
	number = random_number()
	cell = committed_phone(number, opt_in_texts=True)
	name = reply(gateway, number, "pls no more of this")["inbound_text"]
	received = add_to_date(now_datetime(), minutes=-10)  # after the opt in, 30 minutes ago
	frappe.db.set_value(INBOUND, name, "received_at", received, update_modified=False)
	frappe.db.commit()
	outsider = Client(gateway, "outsider").post(
		"/api/method/opt_consent.inbound.mark_reviewed", name=name, as_revocation=1
	)
	assert outsider.status_code == 403, outsider.text
	response = Client(gateway, "user").post(
		"/api/method/opt_consent.inbound.mark_reviewed", name=name, as_revocation=1, note="reads as stop"
	)
	assert response.status_code == 200, message_of(response)
	rows = text_log(cell)
	assert [r.action for r in rows] == ["Opt In", "Opt Out"]
	revoked = frappe.get_all(
		"Opt Log",
		filters={"parent": cell, "action": "Opt Out"},
		fields=["event_date", "event_time", "honour_by", "source"],
	)[0]
	assert get_datetime(f"{revoked.event_date} {revoked.event_time}") == received
	assert revoked.honour_by == honour_by(received.date())
	assert frappe.db.get_value(INBOUND, name, "status") == "Reviewed"
	again = Client(gateway, "user").post(
		"/api/method/opt_consent.inbound.mark_reviewed", name=name, as_revocation=1
	)
	assert again.status_code == 417 and [r.action for r in text_log(cell)] == ["Opt In", "Opt Out"]


# --- record_revocation: dialers, IVRs, web forms --------------------------------------------------------

RECORD = "/api/method/opt_consent.api.record_revocation"


def test_record_revocation_by_an_ivr_key_press_through_rest_as_each_role(gateway):  # noqa: F811
	number = random_number()
	cell = committed_phone(number, opt_in_texts=True)
	home = committed_phone(number, "Home")
	revoked = add_to_date(now_datetime(), hours=-2).replace(microsecond=0)
	body = {"channel": "Call", "address": number, "means": "IVR Key Press", "revoked_at": str(revoked)}
	for key in ("outsider", "auditor"):
		response = Client(gateway, key).post(RECORD, **body)
		assert response.status_code == 403, (key, response.text)
		# and learns nothing of which numbers are on file
		unknown = Client(gateway, key).post(RECORD, **{**body, "address": random_number()})
		assert unknown.status_code == 403, (key, unknown.text)
	frappe.db.rollback()
	assert frappe.db.get_value("Phone", cell, "call_opt") == 0 or not frappe.get_all(
		"Opt Log", {"parent": cell, "channel": "Call"}
	)
	get = Client(gateway, "user").get(RECORD, **body)
	assert get.status_code == 403, get.text  # a write: POST only
	response = Client(gateway, "user").post(RECORD, **body, reference="ivr-call-77")
	assert response.status_code == 200, message_of(response)
	answer = response.json()["message"]
	assert answer["changed"] == 2 and str(answer["honour_by"]) == str(honour_by(revoked.date()))
	frappe.db.rollback()
	for name in (cell, home):
		rows = frappe.get_all(
			"Opt Log",
			filters={"parent": name, "channel": "Call"},
			fields=["action", "method", "event_date", "event_time", "message_id", "honour_by"],
		)
		assert [(r.action, r.method, r.message_id) for r in rows] == [
			("Opt Out", "IVR Key Press", "ivr-call-77")
		]
		assert get_datetime(f"{rows[0].event_date} {rows[0].event_time}") == revoked
	again = Client(gateway, "user").post(RECORD, **body)
	assert again.status_code == 200 and again.json()["message"]["changed"] == 0


@pytest.mark.parametrize(
	"body, status",
	[
		({"channel": "Fax", "address": "+14155550100", "means": "Web Form"}, 417),
		({"channel": "Call", "address": "not a number", "means": "Web Form"}, 417),
		({"channel": "Call", "address": None, "means": "Web Form"}, 417),
		({"channel": "Call", "means": "Smoke Signal"}, 417),
		({"channel": "Call", "means": "Web Form", "revoked_at": "yesterday-ish"}, 417),
		({"channel": "Call", "means": "Web Form", "revoked_at": "2999-01-01 10:00:00"}, 417),
		({"channel": "Call", "address": "+1 415 555 0199", "means": "Web Form"}, 404),
	],
)
def test_record_revocation_refuses_bad_input_and_changes_nothing(gateway, body, status):  # noqa: F811
	number = random_number()
	cell = committed_phone(number, opt_in_texts=True)
	body = {"address": number, **body}
	if body.get("address") == "+1 415 555 0199":
		body["address"] = random_number()
	response = Client(gateway, "user").post(RECORD, **body)
	assert response.status_code == status, response.text
	assert message_of(response)
	assert [r.action for r in text_log(cell)] == ["Opt In"]
	assert not frappe.get_all("Opt Log", {"parent": cell, "channel": "Call"})


def test_record_revocation_respects_user_permissions(gateway):  # noqa: F811
	"""A user restricted to other records may not revoke on this one (row level): nothing is recorded."""
	number = random_number()
	cell = committed_phone(number, opt_in_texts=True)
	other = committed_phone(random_number())
	permission = frappe.get_doc(
		{"doctype": "User Permission", "user": user("restricted"), "allow": "Phone", "for_value": other}
	).insert(ignore_permissions=True)
	frappe.db.commit()
	try:
		response = Client(gateway, "restricted").post(
			RECORD, channel="Text", address=number, means="Web Form"
		)
		assert response.status_code == 403, response.text
		assert [r.action for r in text_log(cell)] == ["Opt In"]
	finally:
		frappe.delete_doc("User Permission", permission.name, ignore_permissions=True, force=True)
		frappe.db.commit()


# --- email replies, through Frappe's own receive code ---------------------------------------------------


def raw_mail(sender: str, subject: str, body: str) -> bytes:
	headers = [
		f"From: Pat Doe <{sender}>",
		"To: billing@example.com",
		f"Subject: {subject}",
		f"Message-ID: <{frappe.generate_hash(length=12)}@mail.example.com>",
		"Date: " + frappe.utils.now_datetime().strftime("%a, %d %b %Y %H:%M:%S") + " +0000",
		'Content-Type: text/plain; charset="utf-8"',
	]
	return ("\r\n".join(headers) + "\r\n\r\n" + body.replace("\n", "\r\n") + "\r\n").encode()


def receive(raw: bytes, create_contact: int = 1):
	"""What Frappe's mail pull does with one message: InboundMail(...).process() makes the Communication."""
	from frappe.email.receive import InboundMail

	account = frappe.get_doc(
		{
			"doctype": "Email Account",
			"email_id": f"billing-{frappe.generate_hash(length=6)}@example.com",
			"email_account_name": f"OC Billing {frappe.generate_hash(length=6)}",
			"enable_incoming": 0,
			"enable_outgoing": 0,
			"awaiting_password": 0,
			"no_smtp_authentication": 1,
			"create_contact": create_contact,
		}
	).insert(ignore_permissions=True)
	return InboundMail(raw, account).process()


def opted_in_email():
	email = make_email(random_email())
	api_opt_in = __import__("opt_consent.api", fromlist=["opt_in"]).opt_in
	api_opt_in(doctype="Email", name=email.name, channel="Email", method="Verbal", **when(60))
	return email


@pytest.mark.parametrize(
	"subject, body", [("Re: Your statement", "Unsubscribe"), ("Re: hi", "Please stop emailing me.\n\nPat")]
)
def test_an_email_reply_that_says_unsubscribe_withdraws_email_consent(subject, body):
	email = opted_in_email()
	communication = receive(raw_mail(email.email_id, subject, body))
	rows = frappe.get_all(
		"Opt Log",
		filters={"parent": email.name},
		fields=["action", "source", "method", "message_id"],
		order_by="idx",
	)
	assert [(r.action, r.source, r.method) for r in rows] == [
		("Opt In", "API", "Verbal"),
		("Opt Out", "Inbound Email", "Email Reply"),
	]
	assert rows[1].message_id == communication.message_id[:140]
	assert frappe.db.get_value("Email", email.name, "email_opt") == 0
	assert frappe.get_all(
		"Comment", {"reference_name": communication.name, "content": ("like", "%revocation%")}
	)


def test_an_ordinary_email_reply_or_a_quoted_footer_withdraws_nothing():
	email = opted_in_email()
	body = "Thanks, I will pay on Friday.\n\nOn Mon, Acme wrote:\n> To unsubscribe reply STOP\n> Unsubscribe"
	receive(raw_mail(email.email_id, "Re: Your statement", body))
	assert [r.action for r in frappe.get_all("Opt Log", {"parent": email.name}, ["action"])] == ["Opt In"]
	assert frappe.db.get_value("Email", email.name, "email_opt") == 1


def test_mail_from_an_address_not_on_file_is_left_alone():
	"""(With the Email Account's Create Contact on, Frappe makes a Contact for the sender first, the Contact
	gets its Email record, and the revocation is recorded on it: protective either way.)"""
	sender = random_email()
	communication = receive(raw_mail(sender, "unsubscribe", "unsubscribe"), create_contact=0)
	comments = frappe.get_all("Comment", {"reference_name": communication.name}, ["content"])
	assert communication.name and not [c for c in comments if "revocation" in (c.content or "")]
	assert not frappe.db.exists("Email", {"email_normalized": sender})


# --- the one confirmation -----------------------------------------------------------------------------


def revoke_by_text(url, number, message="STOP"):
	answer = reply(url, number, message)
	return frappe.get_doc(INBOUND, answer["inbound_text"])


def drop_job(name: str) -> None:
	if job := get_job(f"opt_consent_confirm_{name}"):
		job.delete()


def test_one_confirmation_after_a_stop_exempt_from_the_block_it_created_and_never_a_second(
	gateway,  # noqa: F811
	door,
):
	set_confirmation(True, "You are unsubscribed and will get no more texts from us.")
	number = random_number()
	cell = committed_phone(number, opt_in_texts=True)
	kept = revoke_by_text(gateway, number)
	assert kept.confirmation_status == confirmation.PENDING
	job = get_job(f"opt_consent_confirm_{kept.name}")
	assert job is not None and job.kwargs["kwargs"]["name"] == kept.name  # queued after the door's commit
	drop_job(kept.name)
	tasks.send_revocation_confirmation(kept.name)  # what the worker runs
	assert door.numbers() == [stripped(number)]
	assert door.received[0]["text"] == "You are unsubscribed and will get no more texts from us."
	frappe.db.rollback()
	kept.reload()
	assert (kept.confirmation_status, kept.confirmation_attempts) == (confirmation.SENT, 1)
	sent = frappe.get_doc("Sent Text", kept.confirmation)
	assert (sent.status, sent.source, sent.reference_doctype, sent.reference_name) == (
		"Sent",
		"Revocation Confirmation",
		INBOUND,
		kept.name,
	)
	# never a second one: the job again, the sweep, a duplicate post of the STOP
	tasks.send_revocation_confirmation(kept.name)
	tasks.retry_revocation_confirmations()
	post(gateway, sender=number, message="STOP", message_id=kept.message_id)
	assert len(door.received) == 1
	# the texting block stands for everything else
	assert frappe.db.get_value("Phone", cell, "text_opt") == 0
	# beside the revocation on the Phone's log
	phone = frappe.get_doc("Phone", cell)
	phone.run_method("onload")
	assert phone.get_onload().opt_confirmations[kept.message_id]["status"] == confirmation.SENT


def test_a_failing_gateway_is_retried_within_the_five_minutes_then_given_up(gateway, door):  # noqa: F811
	set_confirmation(True)
	number = random_number()
	committed_phone(number, opt_in_texts=True)
	kept = revoke_by_text(gateway, number, "opt out please")
	drop_job(kept.name)
	door.refuse.add(stripped(number))
	assert confirmations.send(kept.name) == confirmation.PENDING
	door.refuse.clear()
	tasks.retry_revocation_confirmations()  # the minute's sweep
	frappe.db.rollback()
	kept.reload()
	assert (kept.confirmation_status, kept.confirmation_attempts) == (confirmation.SENT, 2)
	statuses = frappe.get_all(
		"Sent Text", {"reference_name": kept.name}, pluck="status", order_by="creation asc"
	)
	assert statuses == ["Not Sent", "Sent"] and len(door.received) == 1

	late = revoke_by_text(gateway, random_and_committed(), "STOP")
	drop_job(late.name)
	frappe.db.set_value(INBOUND, late.name, "received_at", add_to_date(now_datetime(), minutes=-6))
	frappe.db.commit()
	assert confirmations.send(late.name) == confirmation.FAILED  # past the five minutes: none sent
	assert len(door.received) == 1


def random_and_committed():
	number = random_number()
	committed_phone(number, opt_in_texts=True)
	return number


def test_settings_turn_the_confirmation_off_and_check_its_wording(gateway, confirmations_off):  # noqa: F811
	number = random_and_committed()
	kept = revoke_by_text(gateway, number)
	assert kept.confirmation_status == confirmation.OFF
	assert get_job(f"opt_consent_confirm_{kept.name}") is None
	settings = frappe.get_doc(SETTINGS)
	settings.send_revocation_confirmation = 1
	for wording in (
		"",
		"Unsubscribed. 20% off if you come back: www.acme.com",
		"Stopped. " * 30,
		"Stopped. Save big today!",
	):
		settings.revocation_confirmation_text = wording
		with pytest.raises(frappe.ValidationError):
			settings.save()
	settings.reload()
	settings.append("reply_words", {"kind": "Opt In", "phrase": "Stop"})
	with pytest.raises(frappe.ValidationError):
		settings.save()


def test_a_reply_word_cannot_take_a_revocation_away_by_any_door(gateway, confirmations_off):  # noqa: F811
	"""REST on the child table skips the settings' validate: the row checks itself; and a row written past
	every check (straight into the database) is left out when replies are read, so STOP still revokes."""
	frappe.set_user("Administrator")
	frappe.db.rollback()
	response = Client(gateway, "manager").post(
		"/api/resource/Opt Consent Reply Word",
		parent=SETTINGS,
		parenttype=SETTINGS,
		parentfield="reply_words",
		kind="Opt In",
		phrase="Stop",
	)
	assert response.status_code == 417, response.text
	frappe.db.rollback()
	assert not frappe.db.exists("Opt Consent Reply Word", {"phrase": "Stop"})

	row = frappe.get_doc(SETTINGS).append("reply_words", {"kind": "Opt In", "phrase": "STOP"})
	row.db_insert()  # past every check
	frappe.db.commit()
	frappe.clear_document_cache(SETTINGS, SETTINGS)
	try:
		number = random_number()
		cell = committed_phone(number, opt_in_texts=True)
		assert reply(gateway, number, "STOP")["status"] == "Applied"
		assert [r.action for r in text_log(cell)] == ["Opt In", "Opt Out"]
	finally:
		frappe.db.delete("Opt Consent Reply Word", {"name": row.name})
		frappe.db.commit()
		frappe.clear_document_cache(SETTINGS, SETTINGS)
