"""The desk offers what the server allows: an opt out on a channel never opted in, Text Reauth only where it
is accepted, Duplicate as a clean record, the operator's own time zone, and no markup run from a message."""

import datetime as dt
from zoneinfo import ZoneInfo

import frappe
import pytest
from frappe.utils import get_system_timezone, getdate
from playwright.sync_api import expect

from tests.e2e.conftest import shot
from tests.e2e.desk import (
	DIALOG,
	button,
	consent_buttons,
	expect_checked,
	fill_dialog,
	new_record,
	ok,
	stored,
)
from tests.integration.factories import COMMITTED, random_number, user


def record_opt_out_menu(page, label: str):
	page.locator(
		".page-actions .custom-actions .inner-group-button[data-label='Record%20Opt%20Out'] button"
	).click()
	page.locator(
		".page-actions .custom-actions .inner-group-button .dropdown-item:visible", has_text=label
	).click()
	dialog = page.locator(DIALOG)
	expect(dialog).to_be_visible()
	return dialog


def test_a_dont_call_me_on_a_fresh_phone_and_no_reauth_after_a_revocation(page):
	name = new_record(page, "Phone", "phone", random_number())
	assert consent_buttons(page) == ["Opt In Calls", "Opt In Texts", "Text Reauth"]
	dialog = record_opt_out_menu(page, "Opt Out Texts")
	expect(dialog.locator(".modal-title")).to_have_text("Opt Out Texts")
	fill_dialog(dialog, "Verbal")
	shot(page, "40-record-opt-out-never-opted-in")
	ok(dialog)
	expect(page.locator(DIALOG)).to_have_count(0)
	expect(page.locator(".opt-consent-log tbody tr[data-idx]")).to_have_count(1)
	expect_checked(page, "do_not_call", True)
	# a revocation is not reauthorised: only a new Opt In Texts is offered
	expect(button(page, "Opt In Texts")).to_be_visible()
	expect(button(page, "Text Reauth")).to_have_count(0)
	shot(page, "41-after-revocation-no-reauth")
	assert [(r.channel, r.action) for r in stored("Phone", name).opt_logs] == [("Text", "Opt Out")]


def test_duplicate_from_the_form_gives_a_clean_record(page):
	name = new_record(page, "Phone", "phone", random_number())
	from tests.e2e.desk import record

	record(page, "Opt In Calls", "Verbal", "42-before-duplicate")
	page.evaluate("cur_frm.copy_doc()")  # the form's Duplicate
	page.wait_for_function("() => window.cur_frm && cur_frm.is_new() && cur_frm.doctype === 'Phone'")
	page.locator(".frappe-control[data-fieldname='phone'] input:visible").fill(random_number())
	page.keyboard.press("Control+s")
	page.wait_for_function("() => window.cur_frm && !cur_frm.is_new() && cur_frm.doc.name")
	copy = page.evaluate("cur_frm.doc.name")
	assert copy != name
	COMMITTED.append(("Phone", copy))
	doc = stored("Phone", copy)
	assert (doc.call_opt, doc.call_opt_in_method, len(doc.opt_logs)) == (0, None, 0)


@pytest.fixture
def kolkata_user():
	"""The operator works in Asia/Kolkata (their user setting); the site's clock is another zone."""
	zone = "Asia/Kolkata" if get_system_timezone() != "Asia/Kolkata" else "America/Chicago"
	frappe.db.set_value("User", user("user"), "time_zone", zone)
	frappe.db.commit()
	frappe.clear_cache(user=user("user"))
	yield zone
	frappe.db.set_value("User", user("user"), "time_zone", None)
	frappe.db.commit()
	frappe.clear_cache(user=user("user"))


def test_the_operator_types_date_and_time_in_their_own_zone(page, kolkata_user):
	name = new_record(page, "Phone", "phone", random_number())
	page.reload()
	page.wait_for_function(
		"(zone) => frappe.boot.time_zone && frappe.boot.time_zone.user === zone", arg=kolkata_user
	)
	button(page, "Opt In Calls").click()
	dialog = page.locator(DIALOG)
	expect(dialog).to_be_visible()
	expect(dialog.locator(".frappe-control[data-fieldname='time']")).to_contain_text(
		f"in your time zone ({kolkata_user})"
	)
	shown = dialog.locator("[data-fieldname='time'] input").input_value()
	there = dt.datetime.now(ZoneInfo(kolkata_user))
	typed = dt.datetime.combine(there.date(), dt.time.fromisoformat(shown.split(".")[0]))
	assert abs((typed - there.replace(tzinfo=None)).total_seconds()) < 300  # the operator's own clock
	fill_dialog(dialog, "Verbal")
	shot(page, "43-dialog-in-operators-zone")
	ok(dialog)
	expect(page.locator(DIALOG)).to_have_count(0)
	row = stored("Phone", name).opt_logs[-1]
	site = ZoneInfo(get_system_timezone())
	event = dt.datetime.combine(getdate(row.event_date), frappe.utils.get_time(row.event_time))
	expected = typed.replace(tzinfo=ZoneInfo(kolkata_user)).astimezone(site).replace(tzinfo=None)
	assert abs((event - expected).total_seconds()) < 1
	assert row.entered_tz == kolkata_user


def test_markup_in_a_server_message_is_shown_as_text_and_never_run(page):
	new_record(page, "Phone", "phone", random_number())
	text = page.evaluate(
		"""() => opt_consent.desk.server_message({
			_server_messages: JSON.stringify([JSON.stringify({message: "<img src=x onerror='window.__pwned=1'>bad"})])
		})"""
	)
	page.wait_for_timeout(200)  # give an onerror handler the chance it must not get
	assert text == "bad"
	assert page.evaluate("window.__pwned") is None
