"""Evidence for a dispute on the real site: who may produce it, that it holds the whole log, that producing
it is logged (and the log cannot be changed), that its JSON twin verifies offline and a tampered copy does
not, and that the print format renders (and the PDF, where this machine can make one)."""

import io
import json
import os
import shutil
import subprocess
import zipfile
from pathlib import Path

import frappe
import pytest

from opt_consent.api import evidence as evidence_api
from opt_consent.evidence_document import document as evidence
from opt_consent.evidence_document.rules import evidence_file
from tests.integration.factories import (
	COMMITTED,
	make_email,
	make_phone_with_history,
	user,
	when,
)
from tests.integration.http import Client

REPO = Path(__file__).resolve().parents[2]
PRODUCE = "/api/method/opt_consent.evidence.produce"
LONG = 64  # more rows than the form's 50-row window


def long_history(n: int = LONG) -> str:
	"""A Cell phone with ``n`` rows: Call in and out in turn, oldest first."""
	return make_phone_with_history(
		tuple((10 + n - i, "opt_in" if i % 2 == 0 else "opt_out", "Call") for i in range(n)), notes=True
	)


def exports_of(name: str, doctype: str = "Phone") -> list:
	"""The exports of this record (a deleted record's name can come back, Frappe reverting the last number
	of a series: the exports of the earlier record with that name stay, with its creation time)."""
	created = frappe.db.get_value(doctype, name, "creation")
	return frappe.get_all(
		"Evidence Export",
		filters={"record_doctype": doctype, "record_name": name, "record_created": created},
		fields=["*"],
		order_by="creation asc",
	)


def committed_phone(steps=((30, "opt_in", "Call"), (20, "opt_in", "Text"), (10, "opt_out", "Call"))) -> str:
	"""A phone with history the web server can see (removed at the end of the session)."""
	name = make_phone_with_history(steps, notes=True)
	COMMITTED.append(("Phone", name))
	frappe.db.commit()
	return name


# --- in process ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["manager", "auditor"])
def test_managers_and_auditors_produce_the_whole_log_beyond_the_window(who):
	name = long_history()
	assert len(frappe.get_doc("Phone", name).opt_logs) == 50  # the form's window
	frappe.set_user(user(who))
	export, data = evidence.produce("Phone", name, "JSON")
	document = json.loads(data)
	assert [row["idx"] for row in document["log"]] == list(range(1, LONG + 1))
	assert document["log"][0]["note"] == "opt_in Call"
	assert document["chain"]["rows"] == LONG
	assert document["chain"]["verification"]["ok"] is True
	assert document["record"]["normalised_address"] == frappe.db.get_value("Phone", name, "phone_e164")
	assert document["record"]["channels"]["Call"]["opted_in"] is False
	assert document["produced"]["by"] == user(who)
	for row in document["log"]:
		assert set(evidence_file.ROW_KEYS) | set(evidence_file.scheme_fields(row["hash_scheme"])) <= set(row)
		for field in ("recorded_by", "source", "method", "note"):
			assert field in row
	# the export is logged with the twin's hash and the head hash
	logged = frappe.get_all("Evidence Export", filters={"name": export["name"]}, fields=["*"])[0]
	assert logged.sha256 == evidence_file.sha256(data)
	assert logged.head_hash == document["log"][-1]["row_hash"] == document["chain"]["head_hash"]
	assert (logged.format, logged.produced_by, logged.rows, logged.chain_ok) == ("JSON", user(who), LONG, 1)
	assert evidence_file.verify(data).ok


def test_the_user_role_and_outsiders_may_not_produce_evidence():
	name = make_phone_with_history()
	for who in ("user", "outsider"):
		frappe.set_user(user(who))
		with pytest.raises(frappe.PermissionError):
			evidence.produce("Phone", name, "JSON")
	frappe.set_user("Administrator")
	assert exports_of(name) == []


def test_a_user_permission_limits_evidence_to_the_allowed_records():
	mine, other = make_phone_with_history(), make_phone_with_history()
	frappe.get_doc(
		{"doctype": "User Permission", "user": user("restricted"), "allow": "Phone", "for_value": mine}
	).insert(ignore_permissions=True)
	frappe.set_user(user("restricted"))  # an auditor (and user) restricted to one phone
	assert evidence.produce("Phone", mine, "JSON")[0]["record_name"] == mine
	with pytest.raises(frappe.PermissionError):
		evidence.produce("Phone", other, "JSON")
	with pytest.raises(frappe.PermissionError):
		evidence_api.options("Phone", other)


def test_withheld_messages_and_contact_attempts_are_included():
	name = make_phone_with_history()
	number = frappe.db.get_value("Phone", name, "phone_e164")
	withheld = frappe.get_doc(
		{
			"doctype": "Withheld Message",
			"number": number,
			"number_e164": number,
			"outcome": "Withheld",
			"reason": "Never Opted In",
			"created_at": frappe.utils.now_datetime(),
			"sent_by": user("user"),
			"source": "Send SMS",
			"message": "Spring sale!",
		}
	)
	withheld.flags.from_sms_door = True
	withheld.insert(ignore_permissions=True)
	attempts = frappe.db.exists("DocType", "Contact Attempt")
	if attempts:
		attempt = frappe.get_doc(
			{
				"doctype": "Contact Attempt",
				"channel": "Call",
				"address": number,
				"outcome": "No Answer",
				"attempted_at": frappe.utils.now_datetime(),
				"source": "API",
				"recorded_by": user("user"),
			}
		)
		attempt.flags.from_contact_control = True
		attempt.insert(ignore_permissions=True)
	document = evidence.build("Phone", name)
	assert [m["message"] for m in document["withheld_messages"]] == ["Spring sale!"]
	assert document["contact_attempts_recorded"] == bool(attempts)
	if attempts:
		assert [(a["channel"], a["outcome"]) for a in document["contact_attempts"]] == [("Call", "No Answer")]
	html = frappe.get_print("Phone", name, "Phone Evidence", no_letterhead=1)
	assert "Spring sale!" in html
	assert ("No Answer" in html) == bool(attempts)
	assert "Withheld Messages (1)" in html and "<th>Sent By</th>" in html
	assert html.count('class="oc-withheld"') == 1
	assert ("Contact Attempts (1)" in html) == bool(attempts) == ("<th>Attempted At</th>" in html)


def test_the_wording_text_is_shown_when_rows_name_one():
	if not frappe.db.exists("DocType", "Consent Wording"):
		pytest.skip("the Consent Wording doctype is not on this site yet")
	text = "I agree to calls about my account."
	# stored as its publisher would leave it (its own rules are tested with the doctype)
	wording = frappe.get_doc(
		{"doctype": "Consent Wording", "name": f"OC Calls {frappe.generate_hash(length=6)} v1", "text": text}
	)
	wording.db_insert()
	name = make_phone_with_history()
	frappe.db.set_value(
		"Opt Log",
		{"parent": name, "idx": 1},
		{"wording": wording.name, "wording_hash": evidence_file.sha256(text.encode())},
		update_modified=False,
	)
	document = evidence.build("Phone", name)
	assert document["wordings"][wording.name]["text"] == text
	assert text in frappe.get_print("Phone", name, "Phone Evidence", no_letterhead=1)


def test_the_print_format_renders_every_row_and_the_verdict():
	name = long_history()
	frappe.set_user(user("auditor"))
	html = frappe.get_print("Phone", name, "Phone Evidence", no_letterhead=1)
	assert html.count('class="oc-log-row"') == LONG
	assert "The log verifies" in html
	head = frappe.get_all(
		"Opt Log", filters={"parent": name}, fields=["row_hash"], order_by="idx desc", limit=1
	)[0].row_hash
	assert head in html
	assert "was not logged as an Evidence Export" in html  # opened outside the Evidence button


def test_the_email_print_format_renders():
	email = make_email()
	from opt_consent.api import consent as api

	api.opt_in(
		doctype="Email", name=email.name, channel="Email", method="Web Form", note="signup", **when(10)
	)
	frappe.set_user(user("manager"))
	html = frappe.get_print("Email", email.name, "Email Evidence", no_letterhead=1)
	assert html.count('class="oc-log-row"') == 1 and "signup" in html and email.email_id in html
	export, data = evidence.produce("Email", email.name, "JSON")
	assert evidence_file.verify(data).ok and export["address"] == email.email_normalized


def test_a_broken_log_is_reported_in_the_evidence_and_its_export():
	name = make_phone_with_history(notes=True)
	frappe.db.set_value("Opt Log", {"parent": name, "idx": 1}, "note", "edited", update_modified=False)
	export, data = evidence.produce("Phone", name, "JSON")
	document = json.loads(data)
	assert document["chain"]["verification"]["ok"] is False
	assert export["chain_ok"] == 0 and "Row 1" in export["verification"]
	verdict = evidence_file.verify(data)
	assert (verdict.ok, verdict.code, verdict.idx) == (False, "edited", 1)


def test_an_export_cannot_be_edited_deleted_or_forged_even_by_the_administrator():
	name = make_phone_with_history()
	export, _data = evidence.produce("Phone", name, "JSON")
	doc = frappe.get_doc("Evidence Export", export["name"])
	doc.sha256 = "0" * 64
	with pytest.raises(frappe.PermissionError):
		doc.save(ignore_permissions=True)
	with pytest.raises(frappe.PermissionError):
		frappe.delete_doc("Evidence Export", export["name"], ignore_permissions=True)
	with pytest.raises(frappe.PermissionError):
		frappe.get_doc({"doctype": "Evidence Export", "record_doctype": "Phone", "record_name": name}).insert(
			ignore_permissions=True
		)
	assert frappe.db.get_value("Evidence Export", export["name"], "sha256") == export["sha256"]


def test_pdf_where_this_machine_can_make_one():
	name = make_phone_with_history(notes=True)
	frappe.set_user(user("auditor"))
	if shutil.which("wkhtmltopdf"):
		export, pdf = evidence.produce("Phone", name, "PDF")
		assert pdf.startswith(b"%PDF")
		assert export["document_sha256"] == evidence_file.sha256(pdf)
	else:
		assert evidence_api.options("Phone", name)["pdf"] is False
		with pytest.raises(frappe.ValidationError, match="wkhtmltopdf is not installed"):
			evidence.produce("Phone", name, "PDF")
		frappe.set_user("Administrator")
		assert exports_of(name) == []  # nothing produced, nothing logged


def test_a_contact_gives_one_twin_per_record_in_a_zip():
	from tests.integration.factories import random_email, random_number

	contact = frappe.get_doc(
		{
			"doctype": "Contact",
			"first_name": f"OC {frappe.generate_hash(length=8)}",
			"phone_nos": [{"phone": random_number(), "is_primary_mobile_no": 1}],
			"email_ids": [{"email_id": random_email(), "is_primary": 1}],
		}
	).insert(ignore_permissions=True)
	frappe.set_user(user("manager"))
	with pytest.raises(frappe.PermissionError):  # the Contact itself must be readable
		evidence.produce_for_contact(contact.name)
	frappe.set_user("Administrator")
	frappe.share.add("Contact", contact.name, user("manager"), read=1)
	frappe.set_user(user("manager"))
	exports, data = evidence.produce_for_contact(contact.name)
	with zipfile.ZipFile(io.BytesIO(data)) as archive:
		names = sorted(archive.namelist())
		assert len(names) == 2 and names[0].startswith("email-") and names[1].startswith("phone-")
		for member in names:
			body = archive.read(member)
			assert evidence_file.verify(body).ok
			assert evidence_file.sha256(body) in {e["sha256"] for e in exports}
	assert {e["party"] for e in exports} == {f"Contact {contact.name}"}
	frappe.set_user(user("user"))
	with pytest.raises(frappe.PermissionError):
		evidence.produce_for_contact(contact.name)


# --- through the web server ---------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["manager", "auditor"])
def test_http_json_twin_is_logged_and_verifies_offline_and_a_tampered_copy_fails(server, who, tmp_path):
	name = committed_phone()
	response = Client(server, who).post(PRODUCE, doctype="Phone", name=name, format="JSON")
	assert response.status_code == 200, response.text
	assert "attachment" in response.headers.get("Content-Disposition", "")
	data = response.content
	frappe.db.rollback()  # see what the server committed
	logged = exports_of(name)
	assert len(logged) == 1 and logged[0].produced_by == user(who)
	assert logged[0].sha256 == evidence_file.sha256(data)

	good = tmp_path / "evidence.json"
	good.write_bytes(data)
	tampered = json.loads(data)
	tampered["log"][1]["method"] = "Written"
	bad = tmp_path / "tampered.json"
	bad.write_bytes(evidence_file.dumps(tampered))
	# the stand-alone verifier, under the system's Python (no Frappe on its path)
	python = shutil.which("python3") or "python3"
	env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
	run = lambda *a: subprocess.run(  # noqa: E731
		[python, "-m", "opt_consent.evidence_document.rules.evidence_file", "verify", *a],
		cwd=REPO,
		env=env,
		capture_output=True,
		text=True,
		timeout=60,
	)
	ok = run(str(good), "--sha256", logged[0].sha256)
	assert ok.returncode == 0, ok.stdout + ok.stderr
	assert logged[0].head_hash in ok.stdout
	broken = run(str(bad))
	assert broken.returncode == 1 and "row 2" in broken.stdout


def test_http_refuses_the_user_role_an_outsider_and_a_guest(server):
	name = committed_phone()
	for who in ("user", "outsider", None):
		response = Client(server, who).post(PRODUCE, doctype="Phone", name=name, format="JSON")
		assert response.status_code == 403, (who, response.status_code, response.text[:300])
	response = Client(server, None).get(
		"/api/method/opt_consent.evidence.options", doctype="Phone", name=name
	)
	assert response.status_code == 403
	# producing is a POST
	response = Client(server, "auditor").get(PRODUCE, doctype="Phone", name=name, format="JSON")
	assert response.status_code in (403, 405)
	frappe.db.rollback()
	assert exports_of(name) == []


def test_http_a_user_permission_refuses_other_records(server):
	mine, other = committed_phone(), committed_phone()
	permission = frappe.get_doc(
		{"doctype": "User Permission", "user": user("restricted"), "allow": "Phone", "for_value": mine}
	).insert(ignore_permissions=True)
	frappe.db.commit()
	try:
		client = Client(server, "restricted")
		assert client.post(PRODUCE, doctype="Phone", name=mine, format="JSON").status_code == 200
		assert client.post(PRODUCE, doctype="Phone", name=other, format="JSON").status_code == 403
	finally:
		frappe.delete_doc("User Permission", permission.name, ignore_permissions=True, force=True)
		frappe.db.commit()
	assert [e.record_name for e in exports_of(mine)] == [mine] and exports_of(other) == []


def test_http_the_export_log_cannot_be_edited_or_deleted(server):
	name = committed_phone()
	manager = Client(server, "manager")
	assert manager.post(PRODUCE, doctype="Phone", name=name, format="JSON").status_code == 200
	frappe.db.rollback()
	export = exports_of(name)[0]
	resource = f"/api/resource/Evidence Export/{export.name}"
	for who in ("manager", "auditor", "user"):
		client = Client(server, who)
		assert client.put(resource, sha256="0" * 64).status_code == 403
		assert client.delete(resource).status_code == 403
		assert (
			client.post(
				"/api/method/frappe.client.set_value",
				doctype="Evidence Export",
				name=export.name,
				fieldname="sha256",
				value="0" * 64,
			).status_code
			== 403
		)
		assert (
			client.post(
				"/api/method/frappe.client.delete", doctype="Evidence Export", name=export.name
			).status_code
			== 403
		)
		assert (
			client.post(
				"/api/resource/Evidence Export", record_doctype="Phone", record_name=name, sha256="1"
			).status_code
			== 403
		)
	# auditors and managers read it; the user role does not
	assert Client(server, "auditor").get(resource).status_code == 200
	assert Client(server, "user").get(resource).status_code == 403
	frappe.db.rollback()
	assert frappe.db.get_value("Evidence Export", export.name, "sha256") == export.sha256
	assert len(exports_of(name)) == 1


def test_http_print_is_logged_and_its_print_view_names_the_export(server):
	name = committed_phone()
	auditor = Client(server, "auditor")
	response = auditor.post(PRODUCE, doctype="Phone", name=name, format="Print")
	assert response.status_code == 200, response.text
	answer = response.json()["message"]
	assert answer["url"].startswith("/printview?") and "Phone+Evidence" in answer["url"]
	page = auditor.get(answer["url"])
	assert page.status_code == 200
	assert f"Evidence Export {answer['export']}" in page.text
	assert page.text.count('class="oc-log-row"') == 3
	frappe.db.rollback()
	assert [(e.name, e.format) for e in exports_of(name)] == [(answer["export"], "Print")]
	# the evidence print format is not a way round the role: the user role sees no evidence
	page = Client(server, "user").get(answer["url"])
	assert 'class="oc-log-row"' not in page.text
