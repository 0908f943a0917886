"""The seed, clicked through in a real browser by an Opt Consent User: a fresh Phone and Email walk every
scenario; the screenshots in artifacts/e2e/ show each step's "Result"."""

import json
import re
from urllib.parse import urlencode

from frappe.utils import add_days, formatdate, nowdate
from playwright.sync_api import expect

from tests.e2e.conftest import shot
from tests.e2e.desk import (
	DIALOG,
	button,
	checked,
	consent_buttons,
	dialog_defaults,
	expect_checked,
	fill_dialog,
	log_rows,
	new_record,
	ok,
	open_dialog,
	open_record,
	record,
	shown_value,
	stored,
	today_shown,
)
from tests.integration.factories import COMMITTED, make_phone, random_email, random_number, user


def expect_status(page, active: bool, blocked: bool, block_field: str = "do_not_call") -> None:
	expect_checked(page, "active", active)
	expect_checked(page, block_field, blocked)


def expect_top_log(page, channel: str, action: str, method: str) -> None:
	top = log_rows(page)[0]
	assert (top["channel"], top["action"], top["method"], top["event_date"], top["recorded_by"]) == (
		channel,
		action,
		method,
		today_shown(),
		user("user"),
	)
	assert top["event_time"]


def test_phone_walks_every_seed_scenario(page):
	name = new_record(page, "Phone", "phone", random_number())

	# Initial Phone record after creation: Opt In buttons and Text Reauth, nothing opted in, empty log.
	assert consent_buttons(page) == ["Opt In Calls", "Opt In Texts", "Text Reauth"]
	expect_checked(page, "call_opt", False)
	expect_checked(page, "text_opt", False)
	expect(checked(page, "call_opt")).to_be_disabled()  # read-only: only the buttons change it
	expect_status(page, active=True, blocked=False)
	assert log_rows(page) == []
	shot(page, "01-phone-initial")

	# The dialog: Date (today), Time (now), Method (enabled opt-in methods), OK / Cancel.
	dialog = open_dialog(page, "Opt In Calls")
	defaults = dialog_defaults(page.locator(DIALOG))
	assert defaults["date"] == today_shown()
	assert defaults["time"].count(":") >= 1
	assert {"Verbal", "Written", "Web Form"} <= set(defaults["methods"])
	expect(dialog.locator(".standard-actions .btn-primary")).to_have_text("OK")
	expect(dialog.locator(".standard-actions .btn-modal-secondary")).to_have_text("Cancel")
	dialog.locator(".standard-actions .btn-modal-secondary").click()
	expect(page.locator(DIALOG)).to_have_count(0)

	# Opt In Calls - Result
	record(page, "Opt In Calls", "Verbal", "02-opt-in-calls")
	expect(button(page, "Opt Out Calls")).to_be_visible()
	expect(button(page, "Opt In Calls")).to_have_count(0)
	expect_checked(page, "call_opt", True)
	expect(shown_value(page, "call_opt_in_date")).to_have_text(today_shown())
	expect(shown_value(page, "call_opt_in_method")).to_have_text("Verbal")
	expect_status(page, active=True, blocked=False)
	expect_top_log(page, "Call", "Opt In", "Verbal")
	shot(page, "03-opt-in-calls-result")

	# Opt In Texts - Result
	record(page, "Opt In Texts", "Written", "04-opt-in-texts")
	expect(button(page, "Opt Out Texts")).to_be_visible()
	expect_checked(page, "text_opt", True)
	expect(shown_value(page, "text_opt_in_date")).to_have_text(today_shown())
	expect(shown_value(page, "text_opt_in_method")).to_have_text("Written")
	expect_status(page, active=True, blocked=False)
	expect_top_log(page, "Text", "Opt In", "Written")
	shot(page, "05-opt-in-texts-result")

	# Cell Phone Reauthorization - Result: Opt In Texts date and method renewed, Text Opt stays checked.
	record(page, "Text Reauth", "Recorded Call", "06-text-reauth")
	expect_checked(page, "text_opt", True)
	expect(shown_value(page, "text_opt_in_method")).to_have_text("Recorded Call")
	expect(shown_value(page, "text_opt_in_date")).to_have_text(today_shown())
	expect_top_log(page, "Text", "Text Reauth", "Recorded Call")
	shot(page, "07-text-reauth-result")

	# Opt Out Calls - Result: button back to Opt In Calls, Call Opt unchecked, Active No, Do Not Call.
	record(page, "Opt Out Calls", "Written", "08-opt-out-calls")
	expect(button(page, "Opt In Calls")).to_be_visible()
	expect_checked(page, "call_opt", False)
	expect(shown_value(page, "call_opt_out_date")).to_have_text(today_shown())
	expect(shown_value(page, "call_opt_out_method")).to_have_text("Written")
	expect_status(page, active=False, blocked=True)
	expect_top_log(page, "Call", "Opt Out", "Written")
	shot(page, "09-opt-out-calls-result")

	# Opt Out Texts - Result
	record(page, "Opt Out Texts", "Text Reply", "10-opt-out-texts")
	expect(button(page, "Opt In Texts")).to_be_visible()
	expect_checked(page, "text_opt", False)
	expect(shown_value(page, "text_opt_out_date")).to_have_text(today_shown())
	expect(shown_value(page, "text_opt_out_method")).to_have_text("Text Reply")
	expect_status(page, active=False, blocked=True)
	expect_top_log(page, "Text", "Opt Out", "Text Reply")
	shot(page, "11-opt-out-texts-result")

	# The log, newest first, holds every step; the server committed exactly these.
	shown = [(row["channel"], row["action"], row["method"]) for row in log_rows(page)]
	steps = [
		("Call", "Opt In", "Verbal"),
		("Text", "Opt In", "Written"),
		("Text", "Text Reauth", "Recorded Call"),
		("Call", "Opt Out", "Written"),
		("Text", "Opt Out", "Text Reply"),
	]
	assert shown == steps[::-1]
	doc = stored("Phone", name)
	assert [(r.channel, r.action, r.method, r.source) for r in doc.opt_logs] == [(*s, "Desk") for s in steps]
	assert (doc.call_opt, doc.text_opt, doc.active, doc.do_not_call) == (0, 0, 0, 1)


def test_cancel_changes_nothing_and_a_refusal_stays_in_the_dialog(page):
	name = new_record(page, "Phone", "phone", random_number())
	before = stored("Phone", name).as_dict()

	dialog = open_dialog(page, "Opt In Calls")
	fill_dialog(dialog, "Verbal")
	shot(page, "12-cancel-dialog")
	dialog.locator(".standard-actions .btn-modal-secondary").click()
	expect(page.locator(DIALOG)).to_have_count(0)
	expect(button(page, "Opt In Calls")).to_be_visible()
	expect_checked(page, "call_opt", False)
	assert log_rows(page) == []
	shot(page, "13-cancel-result")
	assert stored("Phone", name).as_dict() == before

	# A future date: the server refuses, its message shows in the dialog, the entries stay.
	tomorrow = formatdate(add_days(nowdate(), 1))
	dialog = open_dialog(page, "Opt In Calls")
	fill_dialog(dialog, "Verbal", date=tomorrow)
	ok(dialog)
	refusal = dialog.locator(".opt-consent-refusal")
	expect(refusal).to_contain_text("is in the future")
	expect(page.locator(DIALOG)).to_be_visible()
	expect(dialog.locator("[data-fieldname='date'] input")).to_have_value(tomorrow)
	expect(dialog.locator("[data-fieldname='method'] select")).to_have_value("Verbal")
	expect(dialog.locator(".standard-actions .btn-primary")).not_to_have_class("disabled")
	shot(page, "14-refused-future-date")
	assert stored("Phone", name).as_dict() == before

	# Corrected in the same dialog, then a double click on OK: one action is recorded, not two.
	fill_dialog(dialog, "Verbal", date=today_shown())
	dialog.locator(".standard-actions .btn-primary").dblclick()
	expect(page.locator(DIALOG)).to_have_count(0)
	expect(button(page, "Opt Out Calls")).to_be_visible()
	shot(page, "15-double-click-recorded-once")
	assert len(log_rows(page)) == 1
	assert len(stored("Phone", name).opt_logs) == 1


def test_unsaved_and_non_cell_phones(page):
	page.goto("/app/phone/new")
	expect(page.locator(".frappe-control[data-fieldname='phone'] input:visible")).to_be_visible()
	expect(page.locator(".opt-consent-log")).to_be_visible()
	assert consent_buttons(page) == []
	shot(page, "16-unsaved-phone-no-buttons")

	name = new_record(page, "Phone", "phone", random_number(), phone_type="Home")
	assert consent_buttons(page) == ["Opt In Calls"]
	note = page.locator(".form-message:visible .opt-consent-cell-only")
	expect(note).to_have_count(1)
	expect(note).to_contain_text("Cell phones only; this phone is Home")
	shot(page, "17-home-phone-calls-only")
	assert stored("Phone", name).phone_type == "Home"


def test_email_walks_opt_in_and_opt_out(page):
	name = new_record(page, "Email", "email_id", random_email())
	assert consent_buttons(page) == ["Opt In Email"]
	expect_checked(page, "email_opt", False)
	expect_status(page, active=True, blocked=False, block_field="do_not_email")
	shot(page, "20-email-initial")

	record(page, "Opt In Email", "Web Form", "21-opt-in-email")
	expect(button(page, "Opt Out Email")).to_be_visible()
	expect_checked(page, "email_opt", True)
	expect(shown_value(page, "email_opt_in_date")).to_have_text(today_shown())
	expect(shown_value(page, "email_opt_in_method")).to_have_text("Web Form")
	expect_status(page, active=True, blocked=False, block_field="do_not_email")
	expect_top_log(page, "Email", "Opt In", "Web Form")
	shot(page, "22-opt-in-email-result")

	record(page, "Opt Out Email", "Email Reply", "23-opt-out-email")
	expect(button(page, "Opt In Email")).to_be_visible()
	expect_checked(page, "email_opt", False)
	expect(shown_value(page, "email_opt_out_date")).to_have_text(today_shown())
	expect(shown_value(page, "email_opt_out_method")).to_have_text("Email Reply")
	expect_status(page, active=False, blocked=True, block_field="do_not_email")
	expect_top_log(page, "Email", "Opt Out", "Email Reply")
	shot(page, "24-opt-out-email-result")

	doc = stored("Email", name)
	assert [(r.action, r.method) for r in doc.opt_logs] == [
		("Opt In", "Web Form"),
		("Opt Out", "Email Reply"),
	]
	assert (doc.email_opt, doc.active, doc.do_not_email) == (0, 0, 1)


def open_bulk_action(page) -> None:
	page.locator(".actions-btn-group:visible > button").click()
	page.locator(".actions-btn-group:visible .dropdown-item:visible", has_text="Opt Out...").click()


def test_bulk_opt_out_of_three_phones_from_the_list(page):
	import frappe

	from opt_consent.ledger.consent import ActionRequest, record_action

	cells = [make_phone(phone_type="Cell").name for _ in range(2)]
	home = make_phone(phone_type="Home").name
	for name in [*cells, home]:
		record_action(
			ActionRequest("Phone", name, "Opt In", "Call", nowdate(), "00:00:01", "Verbal"),
			check_permission=False,
		)
	# the Home phone's texting was already opted out: a second opt out is refused
	record_action(
		ActionRequest("Phone", home, "Opt Out", "Text", nowdate(), "00:00:02", "Verbal"),
		check_permission=False,
	)
	COMMITTED.extend(("Phone", name) for name in [*cells, home])
	frappe.db.commit()  # the web server must see them; removed at the end of the session
	names = [*cells, home]

	page.goto("/app/phone?" + urlencode({"name": json.dumps(["in", names])}))
	expect(page.locator(".list-row-container:visible .list-row-checkbox")).to_have_count(3)
	for name in cells:
		expect(page.locator(f".list-row-container:visible:has([data-name='{name}'])")).to_contain_text(
			"Calls In"
		)
	# the texting opt out set Do Not Call (the seed's default policy)
	expect(page.locator(f".list-row-container:visible:has([data-name='{home}'])")).to_contain_text(
		"Do Not Call"
	)
	page.locator(".list-header-subject:visible .list-check-all").check()
	expect(page.locator(".actions-btn-group:visible")).to_be_visible()
	shot(page, "30-bulk-selected")

	open_bulk_action(page)
	dialog = page.locator(DIALOG)
	expect(dialog).to_be_visible()
	expect(dialog.locator(".modal-title")).to_contain_text("3")
	# Texts: the Home phone is already opted out and is refused; the two Cell phones are not undone.
	fill_dialog(dialog, "Written", channel="Text")
	shot(page, "31-bulk-dialog")
	ok(dialog)
	result = page.locator(".modal.show .opt-consent-bulk-result")
	expect(result).to_contain_text("2 opted out, 1 refused.")
	expect(result).to_contain_text(home)
	expect(result).to_contain_text("already opted out")
	shot(page, "32-bulk-result-texts")
	page.locator(".modal.show .btn-modal-close:visible").click()
	expect(result).to_have_count(0)

	# Calls: all three are opted out.
	page.locator(".list-header-subject:visible .list-check-all").check()
	open_bulk_action(page)
	fill_dialog(page.locator(DIALOG), "Written", channel="Call")
	ok(page.locator(DIALOG))
	expect(result).to_contain_text("3 opted out, 0 refused.")
	page.locator(".modal.show .btn-modal-close:visible").click()
	for name in names:
		expect(page.locator(f".list-row-container:visible:has([data-name='{name}'])")).to_contain_text(
			"Do Not Call"
		)
	shot(page, "33-bulk-result-calls-list")

	for name in names:
		doc = stored("Phone", name)
		assert (doc.call_opt, doc.active, doc.do_not_call, doc.call_opt_out_method) == (0, 0, 1, "Written")
	assert [r.action for r in stored("Phone", home).opt_logs] == ["Opt In", "Opt Out", "Opt Out"]
	assert [(r.channel, r.action) for r in stored("Phone", cells[0]).opt_logs][-2:] == [
		("Text", "Opt Out"),
		("Call", "Opt Out"),
	]


def test_consent_workspace_has_the_shortcuts(page):
	import frappe

	shipped = frappe.get_all("Workspace Shortcut", filters={"parent": "Consent"}, pluck="link_to")
	assert set(shipped) == {"Phone", "Email", "Opt Method", "Opt Consent Settings"}
	page.goto("/app/consent")
	# The user sees the shortcuts to what the role may read (the settings are for managers).
	for label in ("Phone", "Email", "Opt Method"):
		expect(page.locator(f".shortcut-widget-box:visible:has-text('{label}')").first).to_be_visible()
	# number cards with their counts, and the chart of opt ins against opt outs
	for label in (
		"Revocations Past Honour-By",
		"Texting Reauthorisation Due This Week",
		"Inbound Texts To Review",
	):
		widget = page.locator(f".number-widget-box:visible:has-text('{label}')").first
		expect(widget).to_be_visible()
		expect(widget.locator(".number")).to_have_text(re.compile(r"^\d"))
	chart = page.locator(".dashboard-widget-box:visible:has-text('Opt Ins and Opt Outs')").first
	expect(chart.locator(".chart-container svg").first).to_be_visible()  # the chart has rendered
	expect(chart.locator(".chart-container")).to_contain_text("Opt Outs")  # its legend
	page.wait_for_timeout(1500)  # for the picture only: frappe-charts grows its bars in an animation
	shot(page, "50-consent-workspace")
	# a card opens the report behind it, filtered as counted
	page.locator(
		".number-widget-box:visible:has-text('Texting Reauthorisation Due This Week')"
	).first.locator(".widget-body").click()
	page.wait_for_url(re.compile(r"/app/query-report/Texting(%20| )Reauthorisation(%20| )Due"))
	expect(page.locator(".frappe-control[data-fieldname='due_within'] input:visible")).to_have_value("7")


def test_the_reports_offer_their_shared_date_and_channel_filters(page):
	"""Consent Activity and Revocations take their dates and channel from one shared script, which Frappe
	includes when it serves each report's script: the filters are there, with their defaults."""

	def control(fieldname):
		return page.locator(f".page-form .frappe-control[data-fieldname='{fieldname}']:visible")

	for report, to_default, extra in (("Consent Activity", True, None), ("Revocations", False, "overdue")):
		page.goto(f"/app/query-report/{report}")
		expect(control("from_date").locator("input")).not_to_have_value("")
		to_date = control("to_date").locator("input")
		if to_default:
			expect(to_date).not_to_have_value("")
		else:
			expect(to_date).to_be_visible()
			expect(to_date).to_have_value("")
		channels = control("channel").locator("select option")
		expect(channels).to_have_count(4)  # every channel (empty), Call, Text, Email
		expect(control("channel").locator("select")).to_contain_text("Email")
		if extra:
			expect(control(extra)).to_be_visible()
	shot(page, "51-revocations-report-filters")


def test_a_long_log_shows_its_newest_rows_and_pages_in_the_older_ones(page):
	import datetime as dt

	import frappe
	from frappe.utils import now_datetime

	from opt_consent.ledger.consent import ActionRequest, record_action
	from opt_consent.ledger.log import LOG_WINDOW

	phone = make_phone(random_number())
	start = now_datetime().replace(microsecond=0) - dt.timedelta(minutes=LOG_WINDOW + 20)
	for i in range(LOG_WINDOW + 7):
		at = start + dt.timedelta(minutes=i)
		record_action(
			ActionRequest(
				"Phone",
				phone.name,
				"Opt In" if i % 2 == 0 else "Opt Out",
				"Call",
				at.date(),
				at.time(),
				"Verbal",
			)
		)
	frappe.db.commit()  # the browser reads what the web server sees
	COMMITTED.append(("Phone", phone.name))

	open_record(page, "Phone", phone.name)
	assert len(log_rows(page)) == LOG_WINDOW
	more = page.locator(".opt-consent-log-more")
	expect(more).to_contain_text(f"Showing the newest {LOG_WINDOW} of {LOG_WINDOW + 7} entries.")
	shot(page, "42-long-log-newest-rows")
	page.locator(".opt-consent-log-older").click()
	expect(more).to_contain_text(f"Showing all {LOG_WINDOW + 7} entries.")
	expect(page.locator(".opt-consent-log-older")).to_be_hidden()
	rows = log_rows(page)
	assert len(rows) == LOG_WINDOW + 7
	assert [r["action"] for r in rows[-2:]] == ["Opt Out", "Opt In"]  # the oldest two, at the bottom
	shot(page, "43-long-log-older-rows-paged-in")
