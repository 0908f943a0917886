"""The door texts leave by, end to end on the real site: SMS Settings point at a gateway stand-in served on
127.0.0.1 by this module; the desk's Send SMS (over HTTP as the desk calls it) and an SMS Notification fired
by saving a document text exactly the numbers whose texting consent is in force; every other number is kept
as a Withheld Message and the sender is told which and why. Two-factor codes never pass the door."""

import contextlib
import html
import json
import re
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import frappe
import pytest
import requests
from frappe.utils import add_to_date, now_datetime, today

from opt_consent import install
from opt_consent.ledger.consent import ActionRequest, record_action
from opt_consent.outbound import door as sms
from tests.integration.bench import SITES
from tests.integration.factories import API_KEYS, COMMITTED, make_phone, make_user, random_number, user

SEND_SMS = "/api/method/frappe.core.doctype.sms_settings.sms_settings.send_sms"
SETTINGS = "Opt Consent Settings"
EVIDENCE = "Withheld Message"
SENT = "Sent Text"
RECIPIENT_ROLE = "OC SMS Recipient"


# --- the gateway stand-in -----------------------------------------------------------------------------


class Gateway:
	"""An SMS gateway on 127.0.0.1 that remembers every message it was asked to send and answers 200 (or,
	as ``refuse`` says, refuses the numbers given with a 503, or keeps them waiting ``slow`` seconds)."""

	def __init__(self):
		self.received: list[dict] = []
		self.refuse: set[str] = set()
		self.slow: float = 0
		gateway = self

		class Handler(BaseHTTPRequestHandler):
			def do_GET(self):
				query = {key: values[0] for key, values in parse_qs(urlparse(self.path).query).items()}
				if gateway.slow:
					time.sleep(gateway.slow)
				if query.get("to") in gateway.refuse:
					self.send_response(503)
					self.end_headers()
					self.wfile.write(b"busy, try later")
					return
				gateway.received.append(query)
				self.send_response(200)
				self.end_headers()
				self.wfile.write(b"OK")

			def log_message(self, *args):
				pass

		self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
		self.url = f"http://127.0.0.1:{self.server.server_address[1]}/send"
		self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
		self.thread.start()

	def numbers(self) -> list[str]:
		return [message["to"] for message in self.received]

	def wait_for(self, count: int, seconds: float = 30) -> list[str]:
		deadline = time.monotonic() + seconds
		while len(self.received) < count and time.monotonic() < deadline:
			time.sleep(0.1)
		return self.numbers()

	def stop(self):
		self.server.shutdown()
		self.server.server_close()


SMS_FIELDS = ("sms_gateway_url", "message_parameter", "receiver_parameter", "use_post")


@contextlib.contextmanager
def stand_in_gateway():
	"""The stand-in, and SMS Settings pointed at it (committed: the web server sends; restored after)."""
	stand_in = Gateway()
	frappe.db.rollback()
	before = {field: frappe.db.get_single_value("SMS Settings", field) for field in SMS_FIELDS}
	settings = frappe.get_doc("SMS Settings")
	settings.update(
		{
			"sms_gateway_url": stand_in.url,
			"message_parameter": "text",
			"receiver_parameter": "to",
			"use_post": 0,
		}
	)
	settings.save(ignore_permissions=True)
	frappe.db.commit()
	try:
		yield stand_in
	finally:
		frappe.db.rollback()
		for field, value in before.items():
			frappe.db.set_single_value("SMS Settings", field, value)
		frappe.db.commit()
		stand_in.stop()


@contextlib.contextmanager
def clean_door(gateway):
	"""A clean stand-in for one test; the evidence and logs the web server committed are removed after."""
	gateway.received.clear()
	gateway.refuse.clear()
	gateway.slow = 0
	started = add_to_date(now_datetime(), seconds=-1)
	try:
		yield gateway
	finally:
		frappe.db.rollback()
		for doctype in (EVIDENCE, SENT, "Contact Attempt"):
			frappe.db.delete(doctype, {"creation": (">=", started)})
		if frappe.db.exists("DocType", "SMS Log"):  # Frappe 16 ships it; Frappe 15 without ERPNext has none
			frappe.db.delete("SMS Log", {"creation": (">=", started)})
		frappe.db.commit()


@pytest.fixture(scope="module")
def gateway(site):
	with stand_in_gateway() as stand_in:
		yield stand_in


@pytest.fixture
def door(gateway):
	with clean_door(gateway) as stand_in:
		yield stand_in


@pytest.fixture
def door_settings():
	"""Save Opt Consent Settings' SMS door fields for the web server to see; restored after."""
	frappe.db.rollback()
	doc = frappe.get_doc(SETTINGS)
	before = (doc.sms_no_record, [row.notification for row in doc.sms_exempt_notifications])

	def apply(no_record=None, exempt=None):
		settings = frappe.get_doc(SETTINGS)
		if no_record is not None:
			settings.sms_no_record = no_record
		if exempt is not None:
			settings.set("sms_exempt_notifications", [{"notification": name} for name in exempt])
		settings.save(ignore_permissions=True)
		frappe.db.commit()

	yield apply
	frappe.db.rollback()
	apply(no_record=before[0], exempt=before[1])


# --- numbers in every state ---------------------------------------------------------------------------


def act(name, action, channel, minutes_ago):
	at = add_to_date(now_datetime(), minutes=-minutes_ago)
	record_action(ActionRequest("Phone", name, action, channel, at.date(), at.strftime("%H:%M:%S"), "Verbal"))


def numbers_in_every_state() -> dict[str, str]:
	"""A committed Phone per texting state (the web server must see them), keyed by the reason expected."""
	phones = {}

	def phone(key, phone_type="Cell", steps=()):
		doc = make_phone(random_number(), phone_type)
		for action, channel, minutes in steps:
			act(doc.name, action, channel, minutes)
		COMMITTED.append(("Phone", doc.name))
		phones[key] = doc
		return doc

	phone("opted_in", steps=[("Opt In", "Text", 30)])
	phone("opted_out", steps=[("Opt In", "Text", 30), ("Opt Out", "Text", 10)])
	lapsed = phone("lapsed", steps=[("Opt In", "Text", 30)])
	# the reauthorisation rules stored the day its consent runs out; today it has (the daily job not run yet)
	frappe.db.set_value("Phone", lapsed.name, "text_consent_lapses_on", today())
	phone("not_opted_in")
	phone("not_cell", "Home", steps=[("Opt In", "Call", 30)])
	frappe.db.commit()
	numbers = {key: doc.phone for key, doc in phones.items()}
	numbers["unknown_address"] = random_number()
	return numbers


def stripped(number: str) -> str:
	"""The number as Frappe's sender hands it to the gateway (spaces, dashes and brackets removed)."""
	return re.sub(r"[ \-()]", "", number)


def desk_send(url, key, numbers, message="Your statement is ready"):
	"""POST Send SMS as the desk's frappe.call does (form fields, the list as JSON)."""
	session = requests.Session()
	session.headers["Authorization"] = API_KEYS[key]
	return session.post(
		url + SEND_SMS, data={"receiver_list": json.dumps(numbers), "msg": message}, timeout=60
	)


def server_messages(response) -> str:
	body = response.json()
	return " ".join(
		str(json.loads(m).get("message", m)) for m in json.loads(body.get("_server_messages") or "[]")
	)


def evidence(**filters) -> list:
	frappe.db.rollback()  # see what the web server committed
	return frappe.get_all(
		EVIDENCE,
		filters=filters,
		fields=[
			"number",
			"number_e164",
			"outcome",
			"reason",
			"sent_by",
			"source",
			"notification",
			"reference_doctype",
			"reference_name",
			"message",
		],
		order_by="creation asc",
	)


REASON_LABELS = {
	"opted_out": "Opted Out",
	"lapsed": "Lapsed",
	"not_opted_in": "Never Opted In",
	"not_cell": "Not a Cell",
	"unknown_address": "Unknown Number",
}


# --- the desk's Send SMS ------------------------------------------------------------------------------


def test_desk_send_sms_texts_only_numbers_with_texting_consent_in_force(server, door):
	numbers = numbers_in_every_state()
	response = desk_send(server, "user", list(numbers.values()), "Your statement is ready")
	assert response.status_code == 200, response.text

	# the stand-in received exactly the permitted number, with the message
	assert door.numbers() == [stripped(numbers["opted_in"])]
	assert door.received[0]["text"] == "Your statement is ready"

	# the sender sees which numbers were withheld and why
	answer = response.json()["message"]
	assert answer["sent_to"] == [numbers["opted_in"]]
	assert {w["number"]: w["reason"] for w in answer["withheld"]} == {
		number: reason for reason, number in numbers.items() if reason != "opted_in"
	}
	shown = server_messages(response)
	for reason, number in numbers.items():
		if reason != "opted_in":
			assert f"{html.escape(number)}: {REASON_LABELS[reason]}" in shown
	assert "SMS sent successfully" in shown  # the door's sender ran for the permitted number

	# each withheld message is kept as evidence
	rows = evidence(sent_by=user("user"))
	assert {row.number: row.reason for row in rows} == {
		number: REASON_LABELS[reason] for reason, number in numbers.items() if reason != "opted_in"
	}
	for row in rows:
		assert (row.outcome, row.source, row.message) == ("Withheld", "Send SMS", "Your statement is ready")
	assert {row.number_e164 for row in rows} == {
		stripped(number) for reason, number in numbers.items() if reason != "opted_in"
	}


def test_a_sender_who_cannot_read_phones_cannot_text_an_opt_out_and_sees_no_record(server, door):
	numbers = numbers_in_every_state()
	phone = frappe.db.get_value("Phone", {"phone": numbers["opted_out"]}, "name")
	response = desk_send(server, "outsider", [numbers["opted_out"]])
	assert response.status_code == 200, response.text
	assert door.numbers() == []
	shown = server_messages(response)
	assert "Opted Out" in shown and html.escape(numbers["opted_out"]) in shown
	assert phone not in shown and phone not in response.text
	assert [row.reason for row in evidence(sent_by=user("outsider"))] == ["Opted Out"]


def test_numbers_with_no_consent_record_follow_the_setting(server, door, door_settings):
	unknown = random_number()
	markup = "<b>555</b>"
	response = desk_send(server, "user", [unknown, markup])
	assert response.status_code == 200, response.text
	assert door.numbers() == []  # the safe default: withhold
	assert {row.number: row.reason for row in evidence(sent_by=user("user"))} == {
		unknown: "Unknown Number",
		markup: "Invalid Number",
	}
	assert "&lt;b&gt;555&lt;/b&gt;: Invalid Number" in server_messages(response)  # escaped, never run

	door_settings(no_record="Send")
	frappe.db.delete(EVIDENCE, {"sent_by": user("user")})
	frappe.db.commit()
	response = desk_send(server, "user", [unknown, markup])
	assert response.status_code == 200, response.text
	assert door.numbers() == [stripped(unknown)]  # an invalid number is withheld whatever the setting
	rows = evidence(sent_by=user("user"))
	assert {(row.number, row.outcome, row.reason) for row in rows} == {
		(unknown, "Sent (No Consent Record)", "Unknown Number"),
		(markup, "Withheld", "Invalid Number"),
	}


def test_desk_send_sms_is_post_only_and_needs_a_login(server, door):
	number = numbers_in_every_state()["opted_in"]
	session = requests.Session()
	session.headers["Authorization"] = API_KEYS["user"]
	got = session.get(
		server + SEND_SMS, params={"receiver_list": json.dumps([number]), "msg": "hi"}, timeout=30
	)
	assert got.status_code == 403, got.text
	guest = requests.post(
		server + SEND_SMS, data={"receiver_list": json.dumps([number]), "msg": "hi"}, timeout=30
	)
	assert guest.status_code == 403, guest.text
	assert door.numbers() == []


# --- an SMS Notification ------------------------------------------------------------------------------


def recipients_with_numbers(numbers: dict[str, str]) -> None:
	"""Users holding RECIPIENT_ROLE, one per number, their Mobile No the number (committed)."""
	if not frappe.db.exists("Role", RECIPIENT_ROLE):
		frappe.get_doc({"doctype": "Role", "role_name": RECIPIENT_ROLE, "desk_access": 1}).insert(
			ignore_permissions=True
		)
		COMMITTED.insert(0, ("Role", RECIPIENT_ROLE))  # removed after its users
	for number in numbers.values():
		email = make_user(f"oc-sms-{frappe.generate_hash(length=8)}@example.com", [RECIPIENT_ROLE])
		frappe.db.set_value("User", email, "mobile_no", number)
		COMMITTED.append(("User", email))
	frappe.db.commit()


@pytest.fixture
def sms_notification():
	"""An SMS Notification on a new ToDo, to every user with RECIPIENT_ROLE (committed; deleted after, so
	that no other ToDo of the session texts anyone)."""
	name = f"OC SMS Door {frappe.generate_hash(length=6)}"
	doc = frappe.get_doc(
		{
			"doctype": "Notification",
			"__newname": name,
			"channel": "SMS",
			"document_type": "ToDo",
			"event": "New",
			"enabled": 1,
			"message": "New task: {{ doc.description }}",
			"recipients": [{"receiver_by_role": RECIPIENT_ROLE}],
		}
	)
	doc.insert(ignore_permissions=True)
	frappe.db.commit()
	yield doc.name
	frappe.db.rollback()
	frappe.delete_doc("Notification", doc.name, force=True, ignore_permissions=True)
	frappe.db.commit()


def new_todo(server, description) -> str:
	session = requests.Session()
	session.headers["Authorization"] = API_KEYS["user"]
	response = session.post(
		server + "/api/resource/ToDo",
		json={"description": description, "allocated_to": user("user")},
		timeout=60,
	)
	assert response.status_code == 200, response.text
	name = response.json()["data"]["name"]
	COMMITTED.append(("ToDo", name))
	return name


@pytest.fixture
def notification_numbers(door):
	"""Numbers in every state, each the Mobile No of a user the Notification texts; no other user of the
	role (a previous test's users are gone or hold numbers of their own)."""
	frappe.db.rollback()
	for email in frappe.get_all("Has Role", filters={"role": RECIPIENT_ROLE}, pluck="parent"):
		frappe.db.set_value("User", email, "mobile_no", None)
	numbers = numbers_in_every_state()
	recipients_with_numbers(numbers)
	return numbers


def test_an_sms_notification_texts_only_numbers_with_texting_consent_in_force(
	server, door, notification_numbers, sms_notification
):
	numbers, notification = notification_numbers, sms_notification
	todo = new_todo(server, "Call the bank")

	assert door.wait_for(1) == [stripped(numbers["opted_in"])]
	time.sleep(0.5)
	assert door.numbers() == [stripped(numbers["opted_in"])]  # and nothing else
	assert door.received[0]["text"] == "New task: Call the bank"

	rows = evidence(notification=notification)
	assert {row.number: (row.outcome, row.reason) for row in rows} == {
		number: ("Withheld", REASON_LABELS[reason])
		for reason, number in numbers.items()
		if reason != "opted_in"
	}
	for row in rows:
		assert (row.source, row.sent_by, row.reference_doctype, row.reference_name, row.message) == (
			"Notification",
			user("user"),
			"ToDo",
			todo,
			"New task: Call the bank",
		)


def test_a_transactional_notification_is_exempt_and_the_exemption_is_recorded(
	server, door, door_settings, notification_numbers, sms_notification
):
	numbers, notification = notification_numbers, sms_notification
	door_settings(exempt=[notification])
	new_todo(server, "Your password was changed")

	expected = sorted(stripped(number) for number in numbers.values())
	assert sorted(door.wait_for(len(expected))) == expected
	rows = evidence(notification=notification)
	assert {row.number: (row.outcome, row.reason) for row in rows} == {
		number: ("Sent (Exempt)", REASON_LABELS[reason])
		for reason, number in numbers.items()
		if reason != "opted_in"
	}


# --- two-factor login codes ---------------------------------------------------------------------------


def test_two_factor_codes_are_never_blocked(door):
	from frappe.twofactor import send_token_via_sms

	opted_out = numbers_in_every_state()["opted_out"]
	assert send_token_via_sms("JBSWY3DPEHPK3PXP", token=1, phone_no=opted_out)
	frappe.db.commit()  # nothing to keep: the job carries its arguments
	# what a worker of the short queue does with the queued job
	subprocess.run(
		[
			sys.executable,
			"-m",
			"frappe.utils.bench_helper",
			"frappe",
			"worker",
			"--queue",
			"short",
			"--burst",
		],
		cwd=SITES,
		check=True,
		capture_output=True,
		timeout=120,
	)
	assert door.wait_for(1) == [opted_out]
	assert door.received[0]["text"].startswith("Your verification code is ")
	assert evidence(number=opted_out) == []


# --- the evidence list --------------------------------------------------------------------------------


def recorded_row() -> str:
	phone = make_phone(random_number())
	screening = sms.screen([phone.phone], "hello", source=sms.SEND_SMS)
	assert screening.permitted == [] and len(screening.recorded) == 1
	return screening.recorded[0]


def test_a_withheld_message_is_read_only_evidence():
	name = recorded_row()
	for key in ("manager", "user", "auditor"):
		frappe.set_user(user(key))
		assert frappe.get_list(EVIDENCE, filters={"name": name}, pluck="name") == [name]
		assert frappe.has_permission(EVIDENCE, "export") and frappe.has_permission(EVIDENCE, "report")
		assert not frappe.has_permission(EVIDENCE, "write") and not frappe.has_permission(EVIDENCE, "create")
		doc = frappe.get_doc(EVIDENCE, name)
		doc.reason = "Opted In"
		with pytest.raises(frappe.PermissionError):
			doc.save(ignore_permissions=True)
		with pytest.raises(frappe.PermissionError):
			frappe.delete_doc(EVIDENCE, name, ignore_permissions=True)
	frappe.set_user(user("outsider"))
	assert not frappe.has_permission(EVIDENCE, "read")
	frappe.set_user("Administrator")
	with pytest.raises(frappe.PermissionError):  # not even a System Manager edits one
		frappe.get_doc(EVIDENCE, name).save()
	with pytest.raises(frappe.PermissionError):  # only the door records one (REST, Data Import, a script)
		frappe.get_doc({"doctype": EVIDENCE, "number": "+14155550100", "reason": "Opted Out"}).insert(
			ignore_permissions=True
		)
	frappe.delete_doc(EVIDENCE, name)  # a System Manager may delete
	assert not frappe.db.exists(EVIDENCE, name)


def test_rest_cannot_create_or_change_a_withheld_message(server):
	name = recorded_row()
	frappe.db.commit()
	COMMITTED.append((EVIDENCE, name))
	session = requests.Session()
	session.headers["Authorization"] = API_KEYS["manager"]
	created = session.post(
		server + f"/api/resource/{EVIDENCE}",
		json={"number": "+14155550100", "reason": "Opted Out"},
		timeout=30,
	)
	assert created.status_code == 403, created.text
	changed = session.put(
		server + f"/api/resource/{EVIDENCE}/{name}", json={"reason": "Opted In"}, timeout=30
	)
	assert changed.status_code == 403, changed.text
	deleted = session.delete(server + f"/api/resource/{EVIDENCE}/{name}", timeout=30)
	assert deleted.status_code == 403, deleted.text
	frappe.db.rollback()
	assert frappe.db.get_value(EVIDENCE, name, "reason") == "Never Opted In"


# --- settings -----------------------------------------------------------------------------------------


def test_an_unsaved_site_withholds_numbers_with_no_record():
	frappe.db.delete("Singles", {"doctype": SETTINGS, "field": "sms_no_record"})
	frappe.clear_document_cache(SETTINGS, SETTINGS)
	assert sms.no_record_policy() == "Withhold"  # unset reads as the safe default
	install.seed()
	assert frappe.db.get_single_value(SETTINGS, "sms_no_record") == "Withhold"
	unknown = random_number()
	assert sms.screen([unknown], "hi", source=sms.SEND_SMS).permitted == []


# --- the door's own sender: every text the gateway took, or refused, is kept --------------------------


def sent_texts(**filters) -> list:
	frappe.db.rollback()  # see what the web server committed
	return frappe.get_all(
		SENT,
		filters=filters,
		fields=[
			"number",
			"number_e164",
			"status",
			"gateway_status",
			"gateway_answer",
			"source",
			"sent_by",
			"message",
		],
		order_by="creation asc",
	)


def test_send_sms_keeps_each_text_the_gateway_took_and_counts_it_as_an_attempt(server, door):
	"""On any site, with or without Frappe's SMS Log (Frappe 15 without ERPNext has none, and Frappe's own
	sender fails after the gateway took the text there): a 200, a Sent Text and a Contact Attempt."""
	numbers = numbers_in_every_state()
	response = desk_send(server, "user", [numbers["opted_in"]], "Statement ready")
	assert response.status_code == 200, response.text
	assert door.numbers() == [stripped(numbers["opted_in"])]
	rows = sent_texts(sent_by=user("user"))
	assert [(r.number, r.status, r.gateway_status, r.gateway_answer, r.source, r.message) for r in rows] == [
		(stripped(numbers["opted_in"]), "Sent", 200, "OK", "Send SMS", "Statement ready")
	]
	e164 = rows[0].number_e164
	assert e164.startswith("+1")
	attempts = frappe.get_all("Contact Attempt", {"address": e164}, ["channel", "source", "outcome"])
	assert [(a.channel, a.source, a.outcome) for a in attempts] == [("Text", "SMS", "Sent")]
	if frappe.db.exists("DocType", "SMS Log"):  # Frappe 16: its log is written as its own sender writes it
		assert frappe.db.exists("SMS Log", {"sent_to": stripped(numbers["opted_in"])})


def test_a_gateway_that_refuses_is_recorded_as_not_sent_and_the_sender_told(server, door):
	numbers = numbers_in_every_state()
	other = make_phone(random_number())
	act(other.name, "Opt In", "Text", 30)
	COMMITTED.append(("Phone", other.name))
	frappe.db.commit()
	door.refuse.add(stripped(numbers["opted_in"]))
	response = desk_send(server, "user", [numbers["opted_in"], other.phone], "Statement ready")
	assert response.status_code == 200, response.text  # never a 500 once a text has left
	assert door.numbers() == [stripped(other.phone)]
	answer = response.json()["message"]
	assert answer["sent_to"] == [other.phone]
	assert [(n["number"], n["gateway_status"]) for n in answer["not_sent"]] == [(numbers["opted_in"], 503)]
	assert "the gateway answered 503" in server_messages(response)
	rows = {r.number: r for r in sent_texts(sent_by=user("user"))}
	assert (
		rows[stripped(numbers["opted_in"])].status,
		rows[stripped(numbers["opted_in"])].gateway_answer,
	) == (
		"Not Sent",
		"busy, try later",
	)
	assert rows[stripped(other.phone)].status == "Sent"
	# only the text that left counts as an attempt
	assert not frappe.db.exists(
		"Contact Attempt", {"address": rows[stripped(numbers["opted_in"])].number_e164}
	)


def test_a_gateway_that_does_not_answer_in_time_is_recorded_as_not_sent(door, monkeypatch):
	numbers = numbers_in_every_state()
	monkeypatch.setattr(sms, "GATEWAY_TIMEOUT", 0.5)
	door.slow = 2
	from opt_consent.api import sms as door_api

	answer = door_api.send_sms([numbers["opted_in"]], "Statement ready")
	assert answer["sent_to"] == [] and answer["not_sent"][0]["gateway_status"] == 0
	assert "Timeout" in answer["not_sent"][0]["answer"]
	row = frappe.get_doc(SENT, answer["not_sent"][0]["sent_text"])
	assert (row.status, row.gateway_status) == ("Not Sent", 0)
	door.wait_for(1, seconds=door.slow + 3)  # the stand-in's late answer lands here, not in the next test


def test_a_text_that_left_is_never_turned_into_an_error_by_its_recording(door, monkeypatch):
	"""Once the gateway took a text, a failure to record it is logged for the admin and the sender still
	gets the normal answer: the request is not rolled back into a 500 around a text already sent."""
	numbers = numbers_in_every_state()

	def broken(*args, **kwargs):
		raise frappe.QueryTimeoutError("Lock wait timeout exceeded")

	monkeypatch.setattr(sms, "keep_sent", broken)
	errors_before = frappe.db.count("Error Log")
	from opt_consent.api import sms as door_api

	answer = door_api.send_sms([numbers["opted_in"]], "Statement ready")
	assert answer["sent_to"] == [numbers["opted_in"]] and door.numbers() == [stripped(numbers["opted_in"])]
	assert frappe.db.count("Error Log") == errors_before + 1
	# the attempt is still counted (its own step)
	e164 = frappe.db.get_value("Phone", {"phone": numbers["opted_in"]}, "phone_e164")
	assert frappe.db.exists("Contact Attempt", {"address": e164})


def test_an_sms_notification_keeps_each_text_sent_with_its_notification(
	server, door, notification_numbers, sms_notification
):
	numbers, notification = notification_numbers, sms_notification
	todo = new_todo(server, "Call the bank")
	assert door.wait_for(1) == [stripped(numbers["opted_in"])]
	rows = sent_texts(notification=notification)
	assert [(r.number, r.status, r.source) for r in rows] == [
		(stripped(numbers["opted_in"]), "Sent", "Notification")
	]
	assert frappe.db.get_value(SENT, {"notification": notification}, "reference_name") == todo


def test_with_no_gateway_set_the_sender_is_told_as_frappe_tells_and_nothing_is_sent(door, monkeypatch):
	numbers = numbers_in_every_state()
	monkeypatch.setattr(sms, "gateway_url", lambda: None)
	from opt_consent.api import sms as door_api

	frappe.local.message_log = []
	answer = door_api.send_sms([numbers["opted_in"]], "Statement ready")
	assert answer["sent_to"] == [] and answer["not_sent"] == [] and door.numbers() == []
	assert "Please Update SMS Settings" in str(frappe.local.message_log)
	assert not frappe.db.exists(SENT, {"message": "Statement ready", "sent_by": "Administrator"})
