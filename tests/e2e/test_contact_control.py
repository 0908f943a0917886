"""Contact Control in the desk: a Phone whose calls are capped shows why not and when next (in the user's
time and the person's), a call recorded from the form is refused with the reason and the next allowed time,
and the Contact's Consent section shows the same."""

import frappe
from frappe.utils import add_to_date, now_datetime
from playwright.sync_api import expect

from opt_consent.contact_control import adapter as contact_control
from opt_consent.contact_control import rules as cc
from opt_consent.ledger.consent import ActionRequest, record_action
from opt_consent.model.addresses import number_zones
from tests.e2e.conftest import shot
from tests.e2e.desk import open_record
from tests.integration.factories import COMMITTED, random_number, user

SETTINGS = "Opt Consent Settings"


def capped_phone_of_a_contact():
	contact = frappe.get_doc({"doctype": "Contact", "first_name": "Capped " + frappe.generate_hash(length=5)})
	contact.insert(ignore_permissions=True)
	# the desk user (an Opt Consent User) reads the Contacts they own, as Frappe's Contact permissions go
	frappe.db.set_value("Contact", contact.name, "owner", user("user"), update_modified=False)
	phone = frappe.get_doc(
		{
			"doctype": "Phone",
			"phone": random_number(),
			"phone_type": "Cell",
			"link_doctype": "Contact",
			"link_name": contact.name,
		}
	).insert(ignore_permissions=True)
	at = add_to_date(now_datetime(), days=-2)
	record_action(
		ActionRequest("Phone", phone.name, "Opt In", "Call", at.date(), at.strftime("%H:%M:%S"), "Verbal")
	)
	for minutes in (50, 20):
		done = contact_control.record_attempt(
			"Call", phone.phone_e164, cc.NO_ANSWER, str(add_to_date(now_datetime(), minutes=-minutes))
		)
		COMMITTED.append(("Contact Attempt", done["name"]))
		COMMITTED.append(("Communication", done["communication"]))
	COMMITTED.extend([("Phone", phone.name), ("Contact", contact.name)])
	return contact, frappe.get_doc("Phone", phone.name)


def test_a_capped_call_is_refused_with_its_reason_and_next_allowed_time(page):
	settings = frappe.get_doc(SETTINGS)
	before = [
		{k: v for k, v in r.as_dict().items() if k not in ("name", "idx")} for r in settings.contact_rules
	]
	settings.append(
		"contact_rules",
		{
			"enabled": 1,
			"rule_name": "Two calls a week",
			"kind": cc.FREQUENCY_CAP,
			"channels": "Call",
			"max_attempts": 2,
			"window_days": 7,
		},
	)
	settings.save()
	contact, phone = capped_phone_of_a_contact()
	frappe.db.commit()
	try:
		open_record(page, "Phone", phone.name)
		section = page.locator(".opt-consent-next-allowed-section")
		calls = section.locator("[data-channel='Call']")
		expect(calls).to_contain_text("Too many attempts")
		expect(calls).to_contain_text("Two calls a week")
		expect(calls.locator(".opt-consent-next-allowed-at")).to_contain_text("Next allowed:")
		# the person's local time, in the zone(s) their number may be in
		zone = number_zones(phone.phone_e164)[0]
		expect(calls.locator(".opt-consent-next-allowed-local")).to_contain_text(f"in {zone}")
		shot(page, "70-contact-control-phone-form")

		page.locator(".page-actions .menu-btn-group button:visible").click()
		page.locator(
			".page-actions .menu-btn-group .dropdown-item:visible", has_text="Record Call..."
		).click()
		dialog = page.locator(".modal.show.opt-consent-record-call")
		dialog.locator("[data-fieldname='outcome'] select").select_option(cc.VOICEMAIL)
		dialog.locator(".standard-actions .btn-primary").click()
		refusal = page.locator(".modal.show .msgprint")
		expect(refusal).to_contain_text("Too many attempts")
		expect(refusal).to_contain_text("Next allowed at")
		shot(page, "71-blocked-call")
		frappe.db.rollback()
		assert frappe.db.count("Contact Attempt", {"address": phone.phone_e164}) == 2

		page.goto(f"/app/contact/{contact.name}")
		consent = page.locator(".opt-consent-contact-table")
		expect(consent.locator("td[data-channel='Call'] .opt-consent-next-allowed")).to_contain_text(
			"Next allowed:"
		)
		shot(page, "72-contact-control-contact-form")
	finally:
		frappe.db.rollback()
		settings = frappe.get_doc(SETTINGS)
		settings.set("contact_rules", before)
		settings.save()
		frappe.db.commit()
