"""Bad input and tamper attempts through the web server: each refused clearly (4xx), nothing changed."""

import csv
import io
import json

import frappe
import pytest
from frappe.utils import add_to_date, now_datetime

from tests.integration.factories import COMMITTED, make_method, random_email, random_number, snapshot
from tests.integration.http import METHOD, Client, message_of

DISABLED, IN_ONLY, OUT_ONLY = "OC Bad Input Disabled", "OC Bad Input In Only", "OC Bad Input Out Only"


def at(**delta) -> dict:
	moment = add_to_date(now_datetime(), **delta)
	return {"date": moment.date().isoformat(), "time": moment.strftime("%H:%M:%S")}


@pytest.fixture(scope="module")
def records(server):
	"""A Cell phone opted in to calls 30 minutes ago, a Home phone and an Email, committed by the server."""
	for name, enabled, for_in, for_out in ((DISABLED, 0, 1, 1), (IN_ONLY, 1, 1, 0), (OUT_ONLY, 1, 0, 1)):
		if not frappe.db.exists("Opt Method", name):
			COMMITTED.insert(0, ("Opt Method", name))  # removed after the records that might use them
		make_method(name, enabled, for_in, for_out)
	frappe.db.commit()
	client = Client(server, "user")
	cell = client.create("Phone", phone=random_number(), phone_type="Cell")["name"]
	home = client.create("Phone", phone=random_number(), phone_type="Home")["name"]
	email = client.create("Email", email_id=random_email())["name"]
	response = client.action(
		"opt_in", doctype="Phone", name=cell, channel="Call", method="Verbal", **at(minutes=-30)
	)
	assert response.status_code == 200, response.text
	return {"cell": cell, "home": home, "email": email}


def state(records: dict) -> dict:
	frappe.db.rollback()  # see what the server committed
	return {key: snapshot("Email" if key == "email" else "Phone", name) for key, name in records.items()}


def created(doctype: str, fields: dict) -> bool:
	"""Whether a record with the case's address exists (other sessions may create records meanwhile)."""
	frappe.db.rollback()
	field = "email_id" if doctype == "Email" else "phone"
	return bool(fields.get(field)) and bool(frappe.db.exists(doctype, {field: fields[field]}))


def call_out(r, **change):
	"""A valid opt out of calls on the Cell phone, with ``change`` applied (None removes a key)."""
	data = {"doctype": "Phone", "name": r["cell"], "channel": "Call", "method": "Verbal", **at(minutes=-5)}
	data.update(change)
	return ("opt_out", {k: v for k, v in data.items() if v is not None})


def text_in(r, **change):
	data = {"doctype": "Phone", "name": r["cell"], "channel": "Text", "method": "Written", **at(minutes=-5)}
	data.update(change)
	return ("opt_in", {k: v for k, v in data.items() if v is not None})


# (id, user, request builder, expected status, a words of the expected message)
ACTION_CASES = [
	(
		"unknown method",
		"user",
		lambda r: call_out(r, method="Carrier Pigeon"),
		417,
		"is not a known Opt Method",
	),
	("disabled method", "user", lambda r: call_out(r, method=DISABLED), 417, "is disabled"),
	(
		"opt-in-only method to opt out",
		"user",
		lambda r: call_out(r, method=IN_ONLY),
		417,
		"cannot be used to opt out",
	),
	(
		"opt-out-only method to opt in",
		"user",
		lambda r: text_in(r, method=OUT_ONLY),
		417,
		"cannot be used to opt in",
	),
	(
		"opt-out-only method to reauth",
		"user",
		lambda r: ("text_reauth", {**text_in(r, method=OUT_ONLY)[1]}),
		417,
		"cannot be used to opt in",
	),
	("missing method", "user", lambda r: call_out(r, method=None), 417, "Method is required"),
	("empty method", "user", lambda r: call_out(r, method=""), 417, "Method is required"),
	("blank method", "user", lambda r: call_out(r, method="   "), 417, "is not a known Opt Method"),
	("missing date", "user", lambda r: call_out(r, date=None), 417, "Date is required"),
	("impossible date", "user", lambda r: call_out(r, date="2026-13-45"), 417, "is not a valid date"),
	("word for a date", "user", lambda r: call_out(r, date="yesterday"), 417, "is not a valid date"),
	("US-style date", "user", lambda r: call_out(r, date="01/02/2026"), 417, "is not a valid date"),
	(
		"far-past date",
		"user",
		lambda r: call_out(r, date="1900-01-01"),
		417,
		"more than 10 years in the past",
	),
	("future date", "user", lambda r: call_out(r, **at(days=2)), 417, "in the future"),
	("future time today", "user", lambda r: call_out(r, **at(hours=3)), 417, "in the future"),
	("number for a date", "user", lambda r: call_out(r, date=20260101), 417, "date"),
	("missing time", "user", lambda r: call_out(r, time=None), 417, "Time is required"),
	("hour 25", "user", lambda r: call_out(r, time="25:00"), 417, "is not a valid time"),
	("word for a time", "user", lambda r: call_out(r, time="noon"), 417, "is not a valid time"),
	("minute 60", "user", lambda r: call_out(r, time="12:60"), 417, "is not a valid time"),
	("out-of-order date", "user", lambda r: call_out(r, **at(hours=-2)), 417, "is earlier than the latest"),
	(
		"Email channel on a Phone",
		"user",
		lambda r: call_out(r, channel="Email"),
		417,
		"is not a channel of a Phone",
	),
	("unknown channel", "user", lambda r: call_out(r, channel="Fax"), 417, "is not a channel of a Phone"),
	("missing channel", "user", lambda r: call_out(r, channel=None), 417, "Channel is required"),
	(
		"Call channel on an Email",
		"user",
		lambda r: call_out(r, doctype="Email", name=r["email"]),
		417,
		"is not a channel of a Email",
	),
	(
		"text on a Home phone",
		"user",
		lambda r: text_in(r, name=r["home"]),
		417,
		"only be given on a Cell phone",
	),
	(
		"text reauth on a Home phone",
		"user",
		lambda r: ("text_reauth", {"name": r["home"], "method": "Written", **at(minutes=-5)}),
		417,
		"only be given on a Cell phone",
	),
	("opt in twice", "user", lambda r: ("opt_in", call_out(r)[1]), 417, "is already opted in"),
	("non-existent record", "user", lambda r: call_out(r, name="PHN-99999999"), 404, "not found"),
	("missing record name", "user", lambda r: call_out(r, name=None), 417, "Name is required"),
	(
		"wrong doctype",
		"user",
		lambda r: call_out(r, doctype="Customer"),
		417,
		"only be recorded on a Phone or an Email",
	),
	(
		"child doctype",
		"user",
		lambda r: call_out(r, doctype="Opt Log"),
		417,
		"only be recorded on a Phone or an Email",
	),
	("Email's name as a Phone", "user", lambda r: call_out(r, name=r["email"]), 404, "not found"),
	("oversize method", "user", lambda r: call_out(r, method="M" * 300), 417, "is not a known Opt Method"),
	("oversize note", "user", lambda r: call_out(r, note="n" * 1001), 417, "the limit is 1000"),
	("oversize name", "user", lambda r: call_out(r, name="PHN-" + "9" * 500), 404, "not found"),
	("oversize channel", "user", lambda r: call_out(r, channel="C" * 500), 417, "is not a channel"),
	(
		"script in method",
		"user",
		lambda r: call_out(r, method="<script>alert(1)</script>"),
		417,
		"is not a known Opt Method",
	),
	("HTML in note", "user", lambda r: call_out(r, note="<b>agreed</b>"), 417, "must be plain text"),
	(
		"script in note",
		"user",
		lambda r: call_out(r, note="ok <img src=x onerror=alert(1)>"),
		417,
		"must be plain text",
	),
	("control character in note", "user", lambda r: call_out(r, note="a\x00b"), 417, "control characters"),
	("list as a method", "user", lambda r: call_out(r, method=["Verbal"]), 417, "method"),
	("guest", None, lambda r: call_out(r), 403, None),
	("read-only auditor", "auditor", lambda r: call_out(r), 403, None),
	("user of another role", "outsider", lambda r: call_out(r), 403, None),
	(
		"auditor reauth",
		"auditor",
		lambda r: ("text_reauth", {"name": r["cell"], "method": "Written", **at(minutes=-5)}),
		403,
		None,
	),
]

CREATE_CASES = [
	("short number", "Phone", {"phone": "12345"}, "phone"),
	("invalid US number", "Phone", {"phone": "+1 555 0100"}, "is not a valid phone number"),
	("words for a number", "Phone", {"phone": "call me maybe"}, "phone"),
	("oversize number", "Phone", {"phone": "+1 212 555 0123 " + "9" * 40}, "is not a valid phone number"),
	("unknown country code", "Phone", {"phone": "+999 1234 5678"}, "is not a valid phone number"),
	("no phone", "Phone", {"phone": ""}, "Phone"),
	("not an email", "Email", {"email_id": "not-an-email"}, "valid email"),
	("email without a domain", "Email", {"email_id": "a@b"}, "valid email"),
	("two emails", "Email", {"email_id": "one@example.com, two@example.com"}, "valid email"),
	("email with a display name", "Email", {"email_id": "Bob <bob@example.com>"}, "valid email"),
	(
		"opted in on arrival",
		"Phone",
		{"phone": "+1 212 555 0142", "call_opt": 1},
		"can only be changed by recording",
	),
	(
		"log on arrival",
		"Email",
		{
			"email_id": "arrive@example.com",
			"opt_logs": [
				{"channel": "Email", "action": "Opt In", "event_date": "2026-01-01", "event_time": "10:00:00"}
			],
		},
		"cannot bring consent history",
	),
]


@pytest.mark.parametrize("case, who, build, status, words", ACTION_CASES, ids=[c[0] for c in ACTION_CASES])
def test_bad_action_is_refused_and_changes_nothing(
	server, records, case, who, build, status, words, record_property
):
	method, data = build(records)
	before = state(records)
	response = Client(server, who).action(method, **data)
	assert response.status_code == status, (response.status_code, response.text[:400])
	if words:
		assert words.lower() in message_of(response).lower(), message_of(response)
	# user input is escaped in what the desk shows (the message), not echoed as markup
	assert "<script>" not in message_of(response) and "<img" not in message_of(response)
	assert state(records) == before
	record_property("bad_inputs_tried", 1)


@pytest.mark.parametrize("case, doctype, fields, words", CREATE_CASES, ids=[c[0] for c in CREATE_CASES])
def test_bad_record_is_refused_and_creates_nothing(
	server, records, case, doctype, fields, words, record_property
):
	before = state(records)
	assert not created(doctype, fields)
	response = Client(server, "user").post(f"/api/resource/{doctype}", **fields)
	assert response.status_code == 417, (response.status_code, response.text[:400])
	assert words.lower() in message_of(response).lower(), message_of(response)
	assert state(records) == before
	assert not created(doctype, fields)
	record_property("bad_inputs_tried", 1)


@pytest.mark.parametrize("who", [None, "auditor", "outsider"])
def test_creating_records_needs_the_create_permission(server, records, who, record_property):
	before = state(records)
	fields = {"phone": random_number(), "phone_type": "Cell"}
	response = Client(server, who).post("/api/resource/Phone", **fields)
	assert response.status_code == 403, response.text[:400]
	assert state(records) == before
	assert not created("Phone", fields)
	record_property("bad_inputs_tried", 1)


@pytest.mark.parametrize("who", [None, "user", "outsider"])
def test_verify_log_needs_an_admin_or_an_auditor(server, records, who, record_property):
	response = Client(server, who).get(METHOD + "verify_log", doctype="Phone", name=records["cell"])
	assert response.status_code == 403, response.text[:400]
	record_property("bad_inputs_tried", 1)


@pytest.mark.parametrize("who", ["manager", "auditor"])
def test_verify_log_answers_an_admin_and_an_auditor(server, records, who):
	response = Client(server, who).get(METHOD + "verify_log", doctype="Phone", name=records["cell"])
	assert response.status_code == 200, response.text
	assert response.json()["message"] == {"doctype": "Phone", "name": records["cell"], "rows": 1, "ok": True}


# --- tamper paths -----------------------------------------------------------------------------------


def stored_doc(name: str) -> dict:
	frappe.db.rollback()
	return frappe.parse_json(frappe.as_json(frappe.get_doc("Phone", name).as_dict()))


def _form(doc, change):
	return (
		"post",
		"/api/method/frappe.desk.form.save.savedocs",
		{"doc": json.dumps(change(doc)), "action": "Save"},
	)


def _set(doc, **fields):
	doc.update(fields)
	return doc


def _log(doc, **fields):
	doc["opt_logs"][0].update(fields)
	return doc


def _extra_row(doc):
	doc["opt_logs"].append(
		{
			"doctype": "Opt Log",
			"channel": "Call",
			"action": "Opt Out",
			"event_date": "2026-01-01",
			"event_time": "10:00:00",
			"method": "Verbal",
		}
	)
	return doc


TAMPER_CASES = [
	(
		"form: opt checkbox",
		"user",
		lambda d, r: _form(d, lambda x: _set(x, call_opt=0)),
		"can only be changed by recording",
	),
	(
		"form: opt in method",
		"user",
		lambda d, r: _form(d, lambda x: _set(x, call_opt_in_method="Written")),
		"can only be changed by recording",
	),
	(
		"form: log row method",
		"user",
		lambda d, r: _form(d, lambda x: _log(x, method="Written")),
		"append-only",
	),
	(
		"form: log row hash",
		"user",
		lambda d, r: _form(d, lambda x: _log(x, row_hash="0" * 64)),
		"append-only",
	),
	("form: log row removed", "user", lambda d, r: _form(d, lambda x: _set(x, opt_logs=[])), "append-only"),
	("form: log row added", "user", lambda d, r: _form(d, _extra_row), "append-only"),
	(
		"REST PUT: opt checkbox",
		"manager",
		lambda d, r: ("put", f"/api/resource/Phone/{r['cell']}", {"call_opt": 0}),
		"can only be changed by recording",
	),
	(
		"REST PUT: opt out date",
		"manager",
		lambda d, r: ("put", f"/api/resource/Phone/{r['cell']}", {"call_opt_out_date": "2026-01-01"}),
		"can only be changed by recording",
	),
	(
		"REST PUT: log emptied",
		"manager",
		lambda d, r: ("put", f"/api/resource/Phone/{r['cell']}", {"opt_logs": []}),
		"append-only",
	),
	(
		"REST PUT: log row edited",
		"manager",
		lambda d, r: (
			"put",
			f"/api/resource/Phone/{r['cell']}",
			{"opt_logs": [{**d["opt_logs"][0], "note": "edited"}]},
		),
		"append-only",
	),
	(
		"REST PUT: log row added",
		"manager",
		lambda d, r: ("put", f"/api/resource/Phone/{r['cell']}", {"opt_logs": _extra_row(d)["opt_logs"]}),
		"append-only",
	),
	(
		"REST Opt Log: PUT",
		"manager",
		lambda d, r: ("put", f"/api/resource/Opt Log/{d['opt_logs'][0]['name']}", {"method": "Written"}),
		"evidence",
	),
	(
		"REST Opt Log: DELETE",
		"manager",
		lambda d, r: ("delete", f"/api/resource/Opt Log/{d['opt_logs'][0]['name']}", None),
		"evidence",
	),
	(
		"REST Opt Log: POST",
		"manager",
		lambda d, r: (
			"post",
			"/api/resource/Opt Log",
			{
				"parent": r["cell"],
				"parenttype": "Phone",
				"parentfield": "opt_logs",
				"channel": "Call",
				"action": "Opt Out",
				"event_date": "2026-01-01",
				"event_time": "10:00:00",
			},
		),
		"evidence",
	),
	(
		"REST DELETE of a record with history",
		"manager",
		lambda d, r: ("delete", f"/api/resource/Phone/{r['cell']}", None),
		"can only be deleted by a System Manager",
	),
]


@pytest.mark.parametrize("case, who, build, words", TAMPER_CASES, ids=[c[0] for c in TAMPER_CASES])
def test_tamper_path_is_refused(server, records, case, who, build, words, record_property):
	verb, path, data = build(stored_doc(records["cell"]), records)
	before = state(records)
	client = Client(server, who)
	response = client.delete(path) if verb == "delete" else getattr(client, verb)(path, **data)
	assert 400 <= response.status_code < 500, (response.status_code, response.text[:400])
	assert words.lower() in message_of(response).lower(), message_of(response)
	assert state(records) == before
	record_property("tamper_paths_refused", 1)


def run_import(doctype: str, import_type: str, header: list[str], rows: list[list]) -> list[dict]:
	"""Frappe's Data Import, run here as the desk's import would run it; returns its log."""
	from frappe.core.doctype.data_import.importer import Importer

	content = io.StringIO()
	csv.writer(content).writerows([header, *rows])
	file = frappe.get_doc(
		{
			"doctype": "File",
			"file_name": f"{doctype}-import.csv",
			"content": content.getvalue(),
			"is_private": 1,
		}
	).insert(ignore_permissions=True)
	data_import = frappe.get_doc(
		{
			"doctype": "Data Import",
			"reference_doctype": doctype,
			"import_type": import_type,
			"import_file": file.file_url,
		}
	).insert(ignore_permissions=True)
	COMMITTED.extend([("File", file.name), ("Data Import", data_import.name)])
	frappe.db.commit()  # the importer commits and rolls back per row
	Importer(doctype, data_import=data_import).import_data()
	logs = frappe.get_all(
		"Data Import Log",
		filters={"data_import": data_import.name},
		fields=["success", "messages", "exception"],
	)
	frappe.db.delete("Data Import Log", {"data_import": data_import.name})
	frappe.db.commit()
	return logs


IMPORT_CASES = [
	(
		"update opt checkbox",
		"Phone",
		"Update Existing Records",
		lambda r: (["name", "call_opt"], [[r["cell"], 0]]),
	),
	(
		"update opt in method",
		"Phone",
		"Update Existing Records",
		lambda r: (["name", "call_opt_in_method"], [[r["cell"], "Written"]]),
	),
	(
		"update log row",
		"Phone",
		"Update Existing Records",
		lambda r: (
			["name", "opt_logs.name", "opt_logs.method"],
			[[r["cell"], stored_doc(r["cell"])["opt_logs"][0]["name"], "Written"]],
		),
	),
	(
		"append log row",
		"Phone",
		"Update Existing Records",
		lambda r: (
			["name", "opt_logs.channel", "opt_logs.action", "opt_logs.event_date", "opt_logs.event_time"],
			[[r["cell"], "Call", "Opt Out", "2026-01-01", "10:00:00"]],
		),
	),
	(
		"insert opted-in phone",
		"Phone",
		"Insert New Records",
		lambda r: (
			["phone", "phone_type", "call_opt", "call_opt_in_date"],
			[["+1 303 555 0177", "Cell", 1, "2026-01-01"]],
		),
	),
	(
		"insert email with a log",
		"Email",
		"Insert New Records",
		lambda r: (
			["email_id", "opt_logs.channel", "opt_logs.action", "opt_logs.event_date", "opt_logs.event_time"],
			[["imported@example.com", "Email", "Opt In", "2026-01-01", "10:00:00"]],
		),
	),
]


@pytest.mark.parametrize("case, doctype, import_type, build", IMPORT_CASES, ids=[c[0] for c in IMPORT_CASES])
def test_data_import_cannot_touch_consent(records, case, doctype, import_type, build, record_property):
	header, rows = build(records)
	before = state(records)
	logs = run_import(doctype, import_type, header, rows)
	assert logs and not any(log.success for log in logs), logs
	text = " ".join(str(log.messages) + str(log.exception) for log in logs)
	refusals = ("can only be changed by recording", "append-only", "cannot bring consent history")
	assert any(refusal in text for refusal in refusals), text[-600:]
	assert state(records) == before
	record_property("tamper_paths_refused", 1)
