"""Revocation by any reasonable means, as staff see it: replies in the review list with their honour-by dates,
one recorded as a revocation from its form, and the one confirmation text beside the revocation on the
Phone's log."""

import frappe
from playwright.sync_api import expect

from opt_consent import tasks
from tests.e2e.conftest import shot
from tests.e2e.desk import log_rows, open_record
from tests.integration.factories import random_number
from tests.integration.test_gate import committed_phone, gateway, post  # noqa: F401
from tests.integration.test_reasonable_means import drop_job, reply, set_confirmation
from tests.integration.test_sms_door import clean_door, stand_in_gateway


def test_replies_wait_in_the_review_list_with_their_honour_by_dates(page, gateway):  # noqa: F811
	number = random_number()
	cell = committed_phone(number, opt_in_texts=True)
	flagged = reply(gateway, number, "please stop texting me")
	waiting = reply(gateway, number, "can you call me after 5?")
	assert (flagged["status"], waiting["status"]) == ("Flagged", "Unrecognised")
	honour_by = frappe.db.get_value("Inbound Text", waiting["inbound_text"], "honour_by")

	page.goto("/app/inbound-text")
	for name, status in ((flagged["inbound_text"], "Flagged"), (waiting["inbound_text"], "Unrecognised")):
		row = page.locator(f".list-row-container:has(a[data-name='{name}'])")
		expect(row).to_contain_text(status)
		expect(row).to_contain_text(frappe.utils.formatdate(honour_by))
	shot(page, "70-inbound-review-list")

	open_record_form(page, waiting["inbound_text"])
	page.locator(".page-actions button:visible", has_text="Record as Revocation").click()
	prompt = page.locator(".modal.show:has(.modal-title:has-text('as a Revocation'))")
	expect(prompt).to_contain_text("dated when the text was received")
	prompt.locator("[data-fieldname='note'] textarea").fill("Reads as stop")
	shot(page, "71-record-as-revocation")
	prompt.locator(".standard-actions .btn-primary").click()
	expect(page.locator(".indicator-pill:visible", has_text="Reviewed")).to_be_visible()
	frappe.db.rollback()
	assert frappe.db.get_value("Inbound Text", waiting["inbound_text"], "status") == "Reviewed"
	assert frappe.db.get_value("Phone", cell, "text_opt") == 0


def open_record_form(page, name):
	page.goto(f"/app/inbound-text/{name}")
	page.wait_for_function("(name) => window.cur_frm && cur_frm.doc && cur_frm.doc.name === name", arg=name)


def test_the_confirmation_is_shown_beside_the_revocation_on_the_phones_log(page, gateway):  # noqa: F811
	before = frappe.db.get_single_value("Opt Consent Settings", "send_revocation_confirmation")
	with stand_in_gateway() as stand_in, clean_door(stand_in) as door:
		try:
			set_confirmation(True)
			number = random_number()
			cell = committed_phone(number, opt_in_texts=True)
			name = reply(gateway, number, "STOP")["inbound_text"]
			drop_job(name)
			tasks.send_revocation_confirmation(name)  # what the worker runs
			assert len(door.received) == 1
			open_record(page, "Phone", cell)
			rows = log_rows(page)
			assert rows[0]["action"] == "Opt Out" and rows[0]["confirmation"].startswith("Sent at")
			assert rows[1]["confirmation"] == ""
			shot(page, "72-confirmation-beside-revocation")
		finally:
			set_confirmation(bool(before))
