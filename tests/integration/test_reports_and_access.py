"""Reports open for the roles they are for, through the call the desk makes; row-level access holds on every
door (reports, can_contact, get_log, verify_log) for a user restricted to some records or shared one."""

import json
from pathlib import Path

import frappe
import pytest
from frappe.desk import query_report

from opt_consent.api import consent as api
from opt_consent.gate.adapter import can_contact
from tests.integration.factories import make_phone, make_phone_with_history, make_reauth_settings, user, when


@pytest.fixture(autouse=True)
def evidence_path(record_property):
	"""Each test here is one evidence path tried (listed in docs/RELIABILITY.md)."""
	record_property("evidence_path", 1)


REPORTS = Path(__file__).resolve().parents[2] / "opt_consent" / "opt_consent" / "report"
SHIPPED = [
	report
	for report in (json.loads(path.read_text()) for path in sorted(REPORTS.glob("*/*.json")))
	if report["doctype"] == "Report"
]
ROLE_USERS = {
	"Opt Consent User": "user",
	"Opt Consent Manager": "manager",
	"Opt Consent Auditor": "auditor",
}


def report_data():
	"""A record behind every shipped report: a revocation, a texting consent due, a log to verify."""
	make_reauth_settings(30, 10)
	phone = make_phone_with_history(((30, "opt_in", "Call"), (20, "opt_out", "Call")))
	due = make_phone()
	api.opt_in(doctype="Phone", name=due.name, channel="Text", method="Verbal", **when(60 * 24 * 25))
	return phone


def open_report(name: str, filters: dict | None = None) -> list:
	"""The rows the desk gets: ``query_report.run`` (and, for a prepared report, what its job computes)."""
	report = frappe.get_doc("Report", name)
	result = query_report.run(name, filters=filters or {})
	if report.prepared_report:
		assert result["prepared_report"]  # the desk then queues the job, which runs this as the user:
		report.custom_columns = []  # as the job (prepared_report.generate_report) sets it
		result = query_report.generate_report_result(report, filters=filters or {}, user=frappe.session.user)
	return result["result"]


def test_every_shipped_report_is_found():
	assert {r["name"] for r in SHIPPED} == {
		"Revocations",
		"Texting Reauthorisation Due",
		"Opt Log Integrity",
		"Consent Activity",
	}


@pytest.mark.parametrize(
	"report, role",
	[(r["name"], role["role"]) for r in SHIPPED for role in r["roles"] if role["role"] in ROLE_USERS],
)
def test_a_report_opens_with_rows_for_each_role_listed_on_it(report, role):
	report_data()
	frappe.set_user(user(ROLE_USERS[role]))
	filters = {"only_broken": 0} if report == "Opt Log Integrity" else {}
	rows = open_report(report, filters)
	assert rows, f"{report} shows {role} no rows"


@pytest.mark.parametrize("report", [r["name"] for r in SHIPPED])
def test_a_report_is_refused_to_an_outsider(report):
	report_data()
	frappe.set_user(user("outsider"))
	with pytest.raises(frappe.PermissionError):
		open_report(report)


def test_the_auditor_may_verify_but_the_user_may_not():
	phone = report_data()
	frappe.set_user(user("auditor"))
	assert api.verify_log("Phone", phone)["ok"]
	frappe.set_user(user("user"))
	with pytest.raises(frappe.PermissionError):
		api.verify_log("Phone", phone)


# --- row-level ---------------------------------------------------------------------------------------


@pytest.fixture
def restricted():
	"""Two phones with history; the restricted user may see only the first (a User Permission)."""
	make_reauth_settings(30, 10)
	mine, other = (
		make_phone_with_history(((30, "opt_in", "Call"), (20, "opt_in", "Text"), (10, "opt_out", "Call")))
		for _ in range(2)
	)
	for name in (mine, other):  # both due for texting reauthorisation
		frappe.db.set_value(
			"Phone", name, {"text_reauth_status": "Due", "text_reauth_due_on": frappe.utils.today()}
		)
	frappe.get_doc(
		{"doctype": "User Permission", "user": user("restricted"), "allow": "Phone", "for_value": mine}
	).insert(ignore_permissions=True)
	frappe.set_user(user("restricted"))
	return mine, other


def records_in(rows, field="record"):
	return {row.get(field) if isinstance(row, dict) else row[field] for row in rows}


def test_reports_show_a_restricted_user_only_their_records(restricted):
	mine, other = restricted
	revocations = records_in(open_report("Revocations"))
	assert mine in revocations and other not in revocations
	due = records_in(open_report("Texting Reauthorisation Due"), "name")
	assert mine in due and other not in due
	checked = records_in(open_report("Opt Log Integrity", {"only_broken": 0}))
	assert mine in checked and other not in checked


def test_the_api_shows_a_restricted_user_only_their_records(restricted):
	mine, other = restricted
	assert api.get_log("Phone", mine)["total"] == 3
	assert api.verify_log("Phone", mine)["ok"]
	for call in (lambda: api.get_log("Phone", other), lambda: api.verify_log("Phone", other)):
		with pytest.raises(frappe.PermissionError):
			call()
	number = lambda name: frappe.db.get_value("Phone", name, "phone_e164")  # noqa: E731
	assert can_contact("Call", number(mine))["record"] == mine
	assert can_contact("Call", number(other))["reason"] == "unknown_address"


def test_a_shared_record_is_visible_to_a_user_without_the_role():
	phone = make_phone_with_history(((30, "opt_in", "Call"), (20, "opt_out", "Call")))
	hidden = make_phone_with_history(((30, "opt_in", "Call"), (20, "opt_out", "Call")))
	frappe.share.add("Phone", phone, user("outsider"), read=1)
	frappe.set_user(user("outsider"))
	assert api.get_log("Phone", phone)["total"] == 2
	with pytest.raises(frappe.PermissionError):
		api.get_log("Phone", hidden)
	assert can_contact("Call", frappe.db.get_value("Phone", phone, "phone_e164"))["reason"] == "opted_out"


# --- the workspace ------------------------------------------------------------------------------------


def test_the_workspace_cards_count_what_their_report_shows_and_open_it():
	from opt_consent.api import workspace

	report_data()
	frappe.set_user(user("user"))
	due = workspace.phones_due_this_week()
	assert due["value"] >= 1 and due["route"] == ["query-report", "Texting Reauthorisation Due"]
	assert due["value"] == len(open_report("Texting Reauthorisation Due", due["route_options"]))
	overdue = workspace.revocations_past_honour_by()
	assert overdue["value"] == len(open_report("Revocations", overdue["route_options"]))
	frappe.set_user(user("outsider"))
	with pytest.raises(frappe.PermissionError):
		workspace.phones_due_this_week()
	assert workspace.revocations_past_honour_by()["value"] == 0


def test_the_workspace_ships_its_cards_and_chart_and_the_user_sees_them():
	from frappe.desk.doctype.number_card.number_card import get_result

	cards = frappe.get_doc("Workspace", "Consent").number_cards
	assert {c.number_card_name for c in cards} >= {"Unreviewed Inbound Texts", "Phones Due This Week"}
	frappe.set_user(user("user"))
	inbound = frappe.get_doc("Number Card", "Unreviewed Inbound Texts")
	assert get_result(inbound.as_dict(), "[]") >= 0
	frappe.get_doc("Dashboard Chart", "Opt Ins and Opt Outs").check_permission("read")
	rows = open_report("Consent Activity")
	assert all({"week", "opt_ins", "opt_outs"} <= set(row) for row in rows)


def test_a_restricted_user_is_not_shown_deleted_records(restricted):
	mine, _other = restricted
	frappe.set_user("Administrator")
	gone = make_phone_with_history(((30, "opt_in", "Call"), (20, "opt_out", "Call")))
	frappe.delete_doc("Phone", gone)
	assert gone in records_in(open_report("Opt Log Integrity", {"only_broken": 0}))
	frappe.set_user(user("restricted"))
	checked = records_in(open_report("Opt Log Integrity", {"only_broken": 0}))
	assert mine in checked and gone not in checked


# Each report's columns as they were declared in each report before the shared vocabulary: [fieldname,
# label, fieldtype, width, options].
COLUMNS = json.loads((Path(__file__).with_name("report_columns.json")).read_text())


@pytest.mark.parametrize("report", sorted(COLUMNS))
def test_each_report_shows_the_columns_it_always_showed(report):
	report_data()
	frappe.set_user("Administrator")
	if report == "Opt Log Integrity":  # a prepared report: its columns come with the job's result
		doc = frappe.get_doc("Report", report)
		doc.custom_columns = []  # as the job (prepared_report.generate_report) sets it
		columns = query_report.generate_report_result(doc, filters={}, user=frappe.session.user)["columns"]
	else:
		columns = query_report.run(report, filters={})["columns"]
	shown = [[c["fieldname"], c["label"], c["fieldtype"], c["width"], c.get("options")] for c in columns]
	assert shown == COLUMNS[report]


@pytest.mark.parametrize("report", [r["name"] for r in SHIPPED])
def test_the_desk_gets_each_report_script_with_its_shared_filters_included(report):
	script = query_report.get_script(report)["script"]
	assert "{% include" not in script
	assert ("opt_consent.report_filters.dated_by_channel" in script) == (
		report in ("Consent Activity", "Revocations")
	)
	if report in ("Consent Activity", "Revocations"):
		assert "filters.dated_by_channel = function" in script  # the shared script, expanded in place
