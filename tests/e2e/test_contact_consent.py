"""The Contact's Consent section, walked by an Opt Consent User: each number and address with its state,
the same buttons and Date / Time / Method dialog as the Phone form acting on the record, the full-log link,
and the action on the Contact's timeline."""

import frappe
from frappe.utils import add_days, formatdate, nowdate
from playwright.sync_api import expect

from opt_consent.ledger.consent import ActionRequest, record_action
from opt_consent.reauth import lapse
from opt_consent.reauth import rules as reauth
from tests.e2e.conftest import shot
from tests.e2e.desk import DIALOG, clear_alerts, fill_dialog, ok
from tests.integration.factories import random_email, random_number, user
from tests.integration.http import Client
from tests.integration.test_contact import committed, e164, records_of

SECTION = ".opt-consent-contact-table"


def row(page, address: str):
	return page.locator(f"{SECTION} tbody tr", has_text=address)


def buttons(locator) -> list[str]:
	return [b.strip() for b in locator.locator(".opt-consent-contact-actions > button").all_inner_texts()]


def test_contact_consent_section_dialog_and_timeline(page, desk):
	mobile, landline, email = random_number(), random_number(), random_email()
	contact = Client(desk, "user").create(
		"Contact",
		first_name=f"OC Walk {frappe.generate_hash(length=6)}",
		phone_nos=[{"phone": mobile, "is_primary_mobile_no": 1}, {"phone": landline, "is_primary_phone": 1}],
		email_ids=[{"email_id": email, "is_primary": 1}],
	)["name"]
	frappe.db.rollback()
	committed(contact)
	records = {r.phone_e164: r.name for r in records_of(contact)}
	# the mobile already opted in to texts 10 days ago, under a 30-day reauthorisation period
	cell = record_action(
		ActionRequest(
			"Phone", records[e164(mobile)], "Opt In", "Text", add_days(nowdate(), -10), "10:00:00", "Verbal"
		)
	)
	lapse.set_reauth_fields(cell, reauth.Rules.make(30, 5))
	cell.db_update()
	frappe.db.commit()

	page.goto(f"/app/contact/{contact}")
	expect(page.locator(SECTION)).to_be_visible()
	expect(page.locator(f"{SECTION} tbody tr")).to_have_count(3)

	# at a glance: state per channel, the lapse date, the type, the link to the full log
	cell_row, home_row, mail_row = row(page, mobile), row(page, landline), row(page, email)
	expect(cell_row.locator("[data-channel='Text']")).to_contain_text("Texts In")
	expect(cell_row.locator("[data-channel='Text']")).to_contain_text(
		"Lapses on " + formatdate(add_days(nowdate(), 20))
	)
	expect(cell_row.locator("[data-fieldname='type']")).to_have_text("Cell")
	expect(home_row.locator("[data-fieldname='type']")).to_have_text("Other")
	expect(home_row.locator("[data-channel='Text']")).to_have_text("Not a Cell phone")
	expect(mail_row.locator("[data-channel='Email']")).to_contain_text("Email Out")
	expect(cell_row.locator("a.opt-consent-full-log")).to_have_attribute(
		"href", f"/app/phone/{records[e164(mobile)]}"
	)
	# the buttons the Phone form offers, from the same rules
	assert buttons(cell_row) == ["Opt In Calls", "Opt Out Texts", "Text Reauth"]
	assert buttons(home_row) == ["Opt In Calls"]
	assert buttons(mail_row) == ["Opt In Email"]
	shot(page, "70-contact-consent-section")

	# the same dialog, acting on the landline's record
	home_row.locator("button[data-label='Opt In Calls']").click()
	dialog = page.locator(DIALOG)
	expect(dialog.locator(".modal-title")).to_have_text("Opt In Calls")
	fill_dialog(dialog, "Written")
	shot(page, "71-contact-consent-dialog")
	clear_alerts(page)
	ok(dialog)
	expect(page.locator(DIALOG)).to_have_count(0)
	expect(row(page, landline).locator("[data-channel='Call']")).to_contain_text("Calls In")
	assert buttons(row(page, landline)) == ["Opt Out Calls"]

	# the Contact's timeline says who, what, when and how
	entry = page.locator(".timeline-item", has_text=f"Opt In Calls on Phone {records[e164(landline)]}")
	expect(entry).to_have_count(1)
	expect(entry).to_contain_text("oc-user")  # who: the operator, as Frappe names users on a timeline
	expect(entry).to_contain_text("method Written")
	expect(entry).to_contain_text(formatdate(nowdate()))
	entry.scroll_into_view_if_needed()
	shot(page, "72-contact-timeline")

	frappe.db.rollback()
	phone = frappe.get_doc("Phone", records[e164(landline)])
	assert (phone.call_opt, phone.opt_logs[-1].method, phone.opt_logs[-1].recorded_by) == (
		1,
		"Written",
		user("user"),
	)
