"""Texts leave by one door: Send Text on a Phone goes through Frappe's Send SMS, where a number without
texting consent in force is withheld, the sender sees why, and the message is kept as evidence."""

from playwright.sync_api import expect

from tests.e2e.conftest import shot
from tests.e2e.desk import new_record
from tests.integration.factories import COMMITTED, random_number


def test_a_text_to_an_opted_out_number_is_withheld_and_the_sender_sees_why(page):
	import frappe

	number = random_number()
	name = new_record(page, "Phone", "phone", number)
	# the person said "don't text me": recorded through the Record Opt Out menu
	page.locator(
		".page-actions .custom-actions .inner-group-button[data-label='Record%20Opt%20Out'] button"
	).click()
	page.locator(
		".page-actions .custom-actions .inner-group-button .dropdown-item:visible", has_text="Opt Out Texts"
	).click()
	dialog = page.locator(".modal.opt-consent-dialog.show")
	dialog.locator("[data-fieldname='method'] select").select_option("Verbal")
	dialog.locator(".standard-actions .btn-primary").click()
	expect(page.locator(".opt-consent-log tbody tr[data-idx]")).to_have_count(1)

	page.locator(".page-actions .menu-btn-group button:visible").click()
	page.locator(".page-actions .menu-btn-group .dropdown-item:visible", has_text="Send Text...").click()
	send = page.locator(".modal.show:has(.modal-title:has-text('Send Text to'))")
	send.locator("[data-fieldname='message'] textarea").fill("Your balance is due")
	send.locator(".standard-actions .btn-primary").click()
	told = page.locator(".modal.show:has(.modal-title:has-text('withheld'))")
	expect(told).to_contain_text("Opted Out")
	shot(page, "60-withheld-send-text")

	frappe.db.rollback()
	kept = frappe.get_all(
		"Withheld Message",
		filters={"number_e164": frappe.db.get_value("Phone", name, "phone_e164")},
		fields=["name", "outcome", "reason", "message", "sent_by", "source"],
	)
	COMMITTED.extend(("Withheld Message", row.name) for row in kept)
	assert [(r.outcome, r.reason, r.message, r.source) for r in kept] == [
		("Withheld", "Opted Out", "Your balance is due", "Send SMS")
	]
