"""The log means exactly what was recorded, on every path: user renames and deletions, sanitised input,
Inbound Text evidence, deletion and restore of a record with a long history, Duplicate, escaped echoes."""

import frappe
import pytest
from frappe.core.doctype.deleted_document.deleted_document import restore

from opt_consent.api import consent as api
from opt_consent.gate.adapter import can_contact
from opt_consent.ledger.integrity import verify_all, verify_record
from opt_consent.ledger.log import LOG_WINDOW
from tests.integration.factories import (
	COMMITTED,
	make_inbound_text,
	make_phone,
	make_phone_with_history,
	make_user,
	random_number,
	user,
	when,
)
from tests.integration.http import Client, message_of
from tests.integration.test_gate import committed_phone, gateway, message_id, post  # noqa: F401


@pytest.fixture(autouse=True)
def evidence_path(record_property):
	"""Each test here is one evidence path tried (listed in docs/RELIABILITY.md)."""
	record_property("evidence_path", 1)


def test_renaming_or_deleting_the_operator_leaves_the_log_verifying():
	operator = make_user(f"oc-op-{frappe.generate_hash(length=6)}@example.com", ["Opt Consent User"])
	phone = make_phone()
	frappe.set_user(operator)
	api.opt_in(doctype="Phone", name=phone.name, channel="Call", method="Verbal", **when(10))
	frappe.set_user("Administrator")
	renamed = f"oc-op-{frappe.generate_hash(length=6)}@example.com"
	frappe.rename_doc("User", operator, renamed, force=True)  # a change of email is a rename
	assert verify_record("Phone", phone.name)["ok"]
	assert frappe.get_doc("Phone", phone.name).opt_logs[0].recorded_by == operator  # as recorded
	frappe.delete_doc("User", renamed, ignore_permissions=True)
	assert verify_record("Phone", phone.name)["ok"]
	assert frappe.get_doc("Phone", phone.name).opt_logs[0].recorded_by == operator


def test_a_message_id_with_markup_is_refused_before_anything_is_written(gateway):  # noqa: F811
	"""Frappe would sanitise markup on save, and the sealed row would no longer match what was stored."""
	number = random_number()
	cell = committed_phone(number, opt_in_texts=True)
	plain = message_id()
	response = post(gateway, sender=number, message="STOP", message_id=f"<b>{plain}</b>")
	assert response.status_code == 400, response.text
	assert "plain text" in message_of(response)
	frappe.db.rollback()
	assert frappe.db.get_value("Phone", cell, "text_opt") == 1
	assert not frappe.db.exists("Inbound Text", {"message_id": ["like", f"%{plain}%"]})


def test_inbound_text_evidence_cannot_be_changed_by_any_door():
	doc = make_inbound_text(
		phones=[{"phone": make_phone().name, "phone_type": "Cell", "outcome": "Opted out of texts"}]
	)
	row = doc.phones[0]
	frappe.set_user(user("manager"))
	with pytest.raises(frappe.PermissionError):  # frappe.client.set_value on the row (saves the parent)
		frappe.client.set_value("Inbound Text Phone", row.name, "outcome", "Skipped")
	with pytest.raises(frappe.PermissionError):  # the row saved on its own (REST PUT on the child)
		child = frappe.get_doc("Inbound Text Phone", row.name)
		child.outcome = "Skipped"
		child.save()
	with pytest.raises(frappe.PermissionError):  # the form: a row removed
		parent = frappe.get_doc("Inbound Text", doc.name)
		parent.set("phones", [])
		parent.save()
	with pytest.raises(frappe.PermissionError):
		frappe.delete_doc("Inbound Text", doc.name)
	frappe.set_user("Administrator")
	assert frappe.get_doc("Inbound Text", doc.name).phones[0].outcome == "Opted out of texts"


def test_inbound_text_rest_put_is_refused(server):
	doc = make_inbound_text(
		phones=[{"phone": make_phone().name, "phone_type": "Cell", "outcome": "Opted out of texts"}]
	)
	COMMITTED.append(("Inbound Text", doc.name))
	frappe.db.commit()
	client = Client(server, "manager")
	response = client.put(f"/api/resource/Inbound Text Phone/{doc.phones[0].name}", outcome="Skipped")
	assert response.status_code in (403, 417), response.text
	response = client.put(f"/api/resource/Inbound Text/{doc.name}", phones=[])
	assert response.status_code in (403, 417), response.text
	frappe.db.rollback()
	assert frappe.get_doc("Inbound Text", doc.name).phones[0].outcome == "Opted out of texts"


def long_history(rows: int) -> str:
	steps = [(rows - i + 1, "opt_in" if i % 2 == 0 else "opt_out", "Call") for i in range(rows)]
	return make_phone_with_history(steps)


def test_deleting_a_record_keeps_its_whole_log_and_a_restore_is_refused():
	name = long_history(LOG_WINDOW + 6)
	frappe.delete_doc("Phone", name)
	deleted = frappe.get_last_doc(
		"Deleted Document", filters={"deleted_doctype": "Phone", "deleted_name": name}
	)
	rows = frappe.parse_json(deleted.data)["opt_logs"]
	assert len(rows) == LOG_WINDOW + 6
	verdicts = [r for r in verify_all(["Phone"]) if r["name"] == name]
	assert len(verdicts) == 1 and verdicts[0]["deleted"] and verdicts[0]["ok"]
	assert verdicts[0]["rows"] == LOG_WINDOW + 6
	with pytest.raises(frappe.ValidationError, match="cannot bring consent history"):
		restore(deleted.name)
	assert not frappe.db.exists("Phone", name)


def test_only_a_system_manager_deletes_a_record_with_history():
	name = make_phone_with_history()
	frappe.set_user(user("manager"))
	with pytest.raises(frappe.PermissionError):
		frappe.delete_doc("Phone", name)


def test_the_integrity_walk_pages_through_records_in_bounded_memory():
	names = [make_phone_with_history() for _ in range(5)]
	small = {r["name"]: r for r in verify_all(["Phone"], chunk=2) if r["name"] in names}
	large = {r["name"]: r for r in verify_all(["Phone"], chunk=500) if r["name"] in names}
	assert small == large and len(small) == 5 and all(r["ok"] for r in small.values())


def test_duplicate_gives_a_clean_new_record():
	name = make_phone_with_history()
	source = frappe.get_doc("Phone", name)
	copy = frappe.copy_doc(source)
	copy.phone = source.phone
	copy.insert()
	assert (copy.call_opt, copy.text_opt, copy.call_opt_in_date, copy.call_opt_in_method) == (
		0,
		0,
		None,
		None,
	)
	assert copy.opt_logs == [] and copy.text_reauth_status in (None, "")
	assert verify_record("Phone", copy.name)["ok"]


def test_an_echoed_channel_is_escaped():
	with pytest.raises(frappe.ValidationError) as info:
		can_contact("<img src=x onerror=alert(1)>", "+14155550123")
	assert "<img" not in str(info.value) and "&lt;img" in str(info.value)


def test_the_desk_is_told_each_channels_latest_action():
	name = make_phone_with_history(((30, "opt_in", "Call"), (20, "opt_out", "Call")))
	doc = frappe.get_doc("Phone", name)
	doc.run_method("onload")
	assert doc.get_onload()["opt_last_actions"] == {"Call": "Opt Out"}


def test_an_opt_out_of_a_channel_never_opted_in_is_recorded():
	phone = make_phone()
	api.opt_out(doctype="Phone", name=phone.name, channel="Call", method="Verbal", **when())
	assert (
		can_contact("Call", frappe.db.get_value("Phone", phone.name, "phone_e164"))["reason"] == "opted_out"
	)
