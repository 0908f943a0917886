"""Tamper evidence on the real site: every action seals its log row; database edits are detected."""

import frappe
import pytest
from frappe.utils import now_datetime

from opt_consent.api import consent as api
from opt_consent.ledger.integrity import stored_rows, verify_record
from opt_consent.ledger.log import insert_log_rows
from opt_consent.ledger.records import ConsentTamperError
from opt_consent.ledger.rules import chain
from opt_consent.opt_consent.report.opt_log_integrity import opt_log_integrity
from tests.integration.factories import make_phone, make_phone_with_history, snapshot, user

STEPS = ((50, "opt_in", "Call"), (40, "opt_in", "Text"), (30, "opt_out", "Call"), (20, "opt_out", "Text"))


def phone_with_history(steps=STEPS):
	return make_phone_with_history(steps, notes=True)


def rows_of(name):
	return frappe.get_all(
		"Opt Log", filters={"parent": name, "parenttype": "Phone"}, fields=["*"], order_by="idx asc"
	)


def record(figure, record_property, value=1):
	record_property(figure, value)


def test_every_action_seals_its_row_and_the_chain_verifies():
	name = phone_with_history()
	rows = rows_of(name)
	assert len(rows) == 4
	assert [row.hash_scheme for row in rows] == [chain.CURRENT_SCHEME] * 4
	assert rows[0].prev_hash == ""
	assert [row.prev_hash for row in rows[1:]] == [row.row_hash for row in rows[:-1]]
	# recomputed from the database forms (date, timedelta, datetime) the hashes match
	assert chain.verify(rows, "Phone", name, frappe.db.get_value("Phone", name, "phone_e164")) is None
	assert verify_record("Phone", name) == {"doctype": "Phone", "name": name, "rows": 4, "ok": True}


def test_an_untouched_form_round_trip_keeps_the_chain():
	name = phone_with_history()
	doc = frappe.get_doc("Phone", name)
	resaved = frappe.get_doc(frappe.parse_json(frappe.as_json(doc.as_dict())))
	resaved.do_not_call = 1
	resaved.save()
	assert verify_record("Phone", name)["ok"]


def _set_value(row, name):
	frappe.db.set_value("Opt Log", row.name, "method", "Written", update_modified=False)


def _qb_update(row, name):
	log = frappe.qb.DocType("Opt Log")
	frappe.qb.update(log).set(log.event_date, "2020-01-01").where(log.name == row.name).run()


def _note(row, name):
	frappe.db.set_value("Opt Log", row.name, "note", "edited", update_modified=False)


def _recorded_by(row, name):
	frappe.db.set_value("Opt Log", row.name, "recorded_by", "Guest", update_modified=False)


def _rehash_alone(row, name):
	"""Edit a row and recompute its own hash: the next row's link breaks instead."""
	frappe.db.set_value("Opt Log", row.name, "method", "Written", update_modified=False)
	edited = frappe.get_all("Opt Log", filters={"name": row.name}, fields=["*"])[0]
	subject = frappe.db.get_value("Phone", name, "phone_e164")
	rehashed = chain.row_hash(edited, "Phone", name, edited.prev_hash, edited.hash_scheme, subject)
	frappe.db.set_value("Opt Log", row.name, "row_hash", rehashed, update_modified=False)


@pytest.mark.parametrize(
	"how, code, at",
	[
		(_set_value, "edited", 2),
		(_qb_update, "edited", 2),
		(_note, "edited", 2),
		(_recorded_by, "edited", 2),
		(_rehash_alone, "link", 3),
	],
)
def test_a_direct_database_edit_is_detected(how, code, at, record_property):
	name = phone_with_history()
	row = rows_of(name)[1]
	how(row, name)
	result = verify_record("Phone", name)
	assert (result["ok"], result["code"], result["idx"]) == (False, code, at)
	assert f"Row {at}" in result["message"]
	record_property("tamper_detected", 1)


def test_a_deleted_row_is_detected(record_property):
	name = phone_with_history()
	row = rows_of(name)[1]
	log = frappe.qb.DocType("Opt Log")
	frappe.qb.from_(log).delete().where(log.name == row.name).run()
	result = verify_record("Phone", name)
	assert (result["ok"], result["idx"], result["code"]) == (False, 3, "position")
	# renumbering the rest to hide the gap does not help
	for i, rest in enumerate(rows_of(name), 1):
		frappe.db.set_value("Opt Log", rest.name, "idx", i, update_modified=False)
	result = verify_record("Phone", name)
	assert (result["ok"], result["idx"], result["code"]) == (False, 2, "link")
	record_property("tamper_detected", 1)


def test_a_deleted_last_row_is_detected_by_the_fields():
	name = phone_with_history()
	last = rows_of(name)[-1]
	log = frappe.qb.DocType("Opt Log")
	frappe.qb.from_(log).delete().where(log.name == last.name).run()
	result = verify_record("Phone", name)
	assert (result["ok"], result["code"]) == (False, "state")
	assert "text_opt" in result["message"]


def test_a_reordered_row_is_detected(record_property):
	name = phone_with_history()
	rows = rows_of(name)
	frappe.db.set_value("Opt Log", rows[1].name, "idx", 3, update_modified=False)
	frappe.db.set_value("Opt Log", rows[2].name, "idx", 2, update_modified=False)
	result = verify_record("Phone", name)
	assert (result["ok"], result["idx"], result["row"], result["code"]) == (False, 2, rows[2].name, "link")
	record_property("tamper_detected", 1)


def test_a_wrong_scheme_is_detected():
	name = phone_with_history()
	row = rows_of(name)[0]
	frappe.db.set_value("Opt Log", row.name, "hash_scheme", 99, update_modified=False)
	result = verify_record("Phone", name)
	assert (result["ok"], result["idx"], result["code"]) == (False, 1, "unknown_scheme")


def test_an_edited_consent_field_is_detected():
	name = phone_with_history()
	frappe.db.set_value("Phone", name, "call_opt_out_method", "Written", update_modified=False)
	result = verify_record("Phone", name)
	assert (result["ok"], result["code"]) == (False, "state")


def test_bulk_writers_chain_after_the_stored_rows():
	name = phone_with_history(STEPS[:1])
	frappe.get_doc("Phone", name, for_update=True)
	at = now_datetime()
	row = {
		"channel": "Call",
		"action": "Lapsed",
		"event_date": at.date(),
		"event_time": at.time(),
		"recorded_by": "Administrator",
		"recorded_at": at,
		"source": "Scheduler",
		"phone_type": "Cell",
	}
	subject = frappe.db.get_value("Phone", name, "phone_e164")
	before = rows_of(name)[-1].row_hash
	[written] = insert_log_rows("Phone", [(name, row)], {name: subject}, now=at)
	assert written["prev_hash"] == before and written["idx"] == 2
	frappe.db.set_value("Phone", name, "call_opt", 0, update_modified=False)
	assert verify_record("Phone", name)["ok"]


def test_a_changed_address_under_history_is_detected():
	"""Scheme 2 seals what the record is about: a direct edit of the normalised number breaks the chain."""
	name = phone_with_history()
	frappe.db.set_value("Phone", name, "phone_e164", "+14155550199", update_modified=False)
	result = verify_record("Phone", name)
	assert (result["ok"], result["code"], result["idx"]) == (False, "edited", 1)


def test_verify_log_is_for_admins_and_auditors_only():
	name = phone_with_history(STEPS[:1])
	for key in ("manager", "auditor"):
		frappe.set_user(user(key))
		assert api.verify_log("Phone", name)["ok"]
	for key in ("user", "outsider"):
		frappe.set_user(user(key))
		with pytest.raises(frappe.PermissionError):
			api.verify_log("Phone", name)
	frappe.set_user("Administrator")
	with pytest.raises(frappe.ValidationError, match="Phone or an Email"):
		api.verify_log("Customer", name)
	with pytest.raises(frappe.DoesNotExistError):
		api.verify_log("Phone", "PHN-NOPE-NOPE")


def test_the_report_names_the_first_broken_row_of_each_record():
	clean = phone_with_history()
	broken = phone_with_history()
	rows = rows_of(broken)
	frappe.db.set_value("Opt Log", rows[2].name, "note", "edited", update_modified=False)
	frappe.set_user(user("manager"))
	_columns, data, *_rest = opt_log_integrity.execute({"record_type": "Phone", "only_broken": 0})
	by_name = {row["record"]: row for row in data}
	assert by_name[clean]["status"] == "Verified" and by_name[clean]["broken_idx"] is None
	assert (by_name[broken]["status"], by_name[broken]["broken_idx"], by_name[broken]["broken_row"]) == (
		"Broken",
		3,
		rows[2].name,
	)
	_columns, only_broken, *_rest = opt_log_integrity.execute({"only_broken": 1})
	assert broken in {row["record"] for row in only_broken}
	assert clean not in {row["record"] for row in only_broken}
	frappe.set_user(user("user"))
	with pytest.raises(frappe.PermissionError):
		opt_log_integrity.execute({})


def test_deleting_a_record_with_history_is_for_system_managers_only(record_property):
	name = phone_with_history(STEPS[:1])
	for key in ("user", "manager", "auditor"):
		frappe.set_user(user(key))
		with pytest.raises(frappe.PermissionError):
			frappe.delete_doc("Phone", name)
		frappe.set_user("Administrator")
		assert len(stored_rows("Phone", name)) == 1
		record_property("tamper_refused", 1)
	frappe.set_user(user("manager"))
	with pytest.raises(frappe.PermissionError, match="can only be deleted by a System Manager"):
		frappe.delete_doc("Phone", name)
	frappe.set_user("Administrator")
	frappe.delete_doc("Phone", name)
	assert not frappe.db.exists("Phone", name)


def test_renaming_a_record_with_history_is_refused_and_keeps_it_intact(record_property):
	name = phone_with_history(STEPS[:2])
	before = snapshot("Phone", name)
	frappe.set_user(user("manager"))
	with pytest.raises(ConsentTamperError, match="sealed to its name"):
		frappe.rename_doc("Phone", name, name + "-X")
	frappe.set_user("Administrator")
	with pytest.raises(ConsentTamperError, match="sealed to its name"):
		frappe.rename_doc("Phone", name, name + "-X", force=True)
	assert snapshot("Phone", name) == before
	assert verify_record("Phone", name)["ok"]
	record_property("tamper_refused", 1)


def test_a_record_without_history_can_be_renamed_by_force():
	phone = make_phone()
	frappe.rename_doc("Phone", phone.name, phone.name + "-X", force=True)
	assert frappe.db.exists("Phone", phone.name + "-X")
