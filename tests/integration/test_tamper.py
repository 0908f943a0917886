"""The opt fields and the log are owned by the consent actions: saves cannot change them."""

import frappe
import pytest

from opt_consent.ledger.records import ConsentTamperError
from tests.integration.factories import make_email, make_phone, make_phone_with_history, snapshot, user


def _phone_with_history():
	return frappe.get_doc("Phone", make_phone_with_history())


@pytest.mark.parametrize(
	"field, value",
	[
		("call_opt", 0),
		("text_opt", 0),
		("call_opt_in_date", "2020-01-01"),
		("call_opt_in_method", "Written"),
		("text_opt_out_date", "2026-01-01"),
		("text_opt_out_method", "Verbal"),
	],
)
def test_form_save_cannot_change_opt_fields(field, value):
	doc = _phone_with_history()
	before = snapshot("Phone", doc.name)
	doc.set(field, value)
	with pytest.raises(ConsentTamperError, match="can only be changed by recording"):
		doc.save()
	assert snapshot("Phone", doc.name) == before


def _tamper(doc, how):
	if how == "edit":
		doc.opt_logs[0].method = "Written"
	elif how == "edit time":
		doc.opt_logs[0].event_time = "00:00:01"
	elif how == "delete":
		doc.opt_logs.pop(0)
	elif how == "delete all":
		doc.set("opt_logs", [])
	elif how == "reorder":
		doc.opt_logs.reverse()
		for i, row in enumerate(doc.opt_logs, 1):
			row.idx = i
	elif how == "insert":
		doc.append(
			"opt_logs",
			{"channel": "Call", "action": "Opt Out", "event_date": "2026-01-01", "event_time": "10:00:00"},
		)
	elif how == "recorded by":
		doc.opt_logs[1].recorded_by = "Guest"


@pytest.mark.parametrize(
	"how", ["edit", "edit time", "delete", "delete all", "reorder", "insert", "recorded by"]
)
def test_form_save_cannot_change_the_log(how):
	doc = _phone_with_history()
	before = snapshot("Phone", doc.name)
	_tamper(doc, how)
	with pytest.raises(ConsentTamperError, match="append-only"):
		doc.save()
	assert snapshot("Phone", doc.name) == before


def test_new_record_cannot_arrive_with_consent_or_a_log():
	with pytest.raises(ConsentTamperError):
		make_phone(call_opt=1)
	with pytest.raises(ConsentTamperError):
		make_email(email_opt_in_date="2026-01-01")
	with pytest.raises(ConsentTamperError):
		make_phone(
			opt_logs=[
				{"channel": "Call", "action": "Opt In", "event_date": "2026-01-01", "event_time": "10:00"}
			]
		)


def test_active_and_do_not_call_stay_editable_with_change_tracking():
	doc = _phone_with_history()
	versions = frappe.db.count("Version", {"ref_doctype": "Phone", "docname": doc.name})
	frappe.set_user(user("user"))
	doc = frappe.get_doc("Phone", doc.name)
	doc.do_not_call = 1
	doc.active = 0
	doc.save(ignore_version=False)  # Frappe skips versions under test unless asked
	assert frappe.db.get_value("Phone", doc.name, ["active", "do_not_call"]) == (0, 1)
	assert frappe.db.count("Version", {"ref_doctype": "Phone", "docname": doc.name}) == versions + 1


def test_saving_an_untouched_form_works_with_time_as_string():
	doc = _phone_with_history()
	payload = frappe.parse_json(frappe.as_json(doc.as_dict()))  # what the desk sends back
	resaved = frappe.get_doc(payload)
	resaved.save()
	assert len(frappe.get_doc("Phone", doc.name).opt_logs) == 2


def test_address_cannot_move_once_consent_is_logged():
	doc = _phone_with_history()
	doc.phone = "+1 212 555 0199"
	with pytest.raises(ConsentTamperError, match="consent history"):
		doc.save()
	doc = frappe.get_doc("Phone", doc.name)
	doc.phone = doc.phone_e164  # same number, other formatting: fine
	doc.save()


def test_opt_log_rows_cannot_be_saved_or_deleted_on_their_own():
	doc = _phone_with_history()
	row = frappe.get_doc("Opt Log", doc.opt_logs[0].name)
	row.method = "Written"
	with pytest.raises(frappe.PermissionError):
		row.save()
	with pytest.raises(frappe.PermissionError):
		row.delete()
	with pytest.raises(frappe.PermissionError):
		frappe.get_doc(
			{
				"doctype": "Opt Log",
				"parent": doc.name,
				"parenttype": "Phone",
				"parentfield": "opt_logs",
				"channel": "Call",
				"action": "Opt Out",
				"event_date": "2026-01-01",
				"event_time": "10:00:00",
			}
		).insert()
	assert len(frappe.get_doc("Phone", doc.name).opt_logs) == 2


def test_delete_with_history_only_by_system_manager():
	doc = _phone_with_history()
	frappe.set_user(user("manager"))
	with pytest.raises(frappe.PermissionError, match="consent history"):
		frappe.delete_doc("Phone", doc.name)
	frappe.set_user("Administrator")
	frappe.delete_doc("Phone", doc.name)
	assert not frappe.db.exists("Phone", doc.name)


def test_record_without_history_can_be_deleted_by_manager():
	phone = make_phone()
	frappe.set_user(user("manager"))
	frappe.delete_doc("Phone", phone.name)
	assert not frappe.db.exists("Phone", phone.name)
