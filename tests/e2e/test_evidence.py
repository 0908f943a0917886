"""The Evidence action walked in the browser by an Opt Consent Auditor: open a Phone, Evidence > Print, the
print view of its Evidence print format opens with every log row, the verdict and the Evidence Export it
was logged as. An Opt Consent User is not offered the action."""

import re
from pathlib import Path

import frappe
from playwright.sync_api import expect

from tests.e2e.conftest import TIMEOUT_MS, VIEWPORT, shot
from tests.e2e.desk import open_record
from tests.integration.factories import COMMITTED, PASSWORD, make_phone_with_history, user
from tests.integration.test_evidence_document import exports_of

REPO = Path(__file__).resolve().parents[2]
STEPS = ((50, "opt_in", "Call"), (40, "opt_in", "Text"), (20, "opt_out", "Call"), (10, "opt_out", "Text"))


def committed_phone() -> str:
	name = make_phone_with_history(STEPS, notes=True)
	COMMITTED.append(("Phone", name))
	frappe.db.commit()
	return name


def login(browser, desk, who: str):
	context = browser.new_context(viewport=VIEWPORT, base_url=desk)
	context.set_default_timeout(TIMEOUT_MS)
	page = context.new_page()
	page.goto("/login")
	page.fill("#login_email", user(who))
	page.fill("#login_password", PASSWORD)
	page.click(".btn-login[type=submit]")
	page.wait_for_url(re.compile(r"/(app|desk)(/|$)"))
	page.wait_for_function("() => window.frappe && frappe.session && frappe.session.user")
	return context, page


def evidence_group(page):
	return page.locator(".page-actions .inner-group-button[data-label='Evidence']")


def test_an_auditor_prints_the_evidence_of_a_phone(browser, desk):
	name = committed_phone()
	context, page = login(browser, desk, "auditor")
	errors: list[str] = []
	page.on("pageerror", lambda error: errors.append(str(error)))
	try:
		open_record(page, "Phone", name)
		group = evidence_group(page)
		expect(group).to_be_visible()
		group.locator("button").first.click()
		items = group.locator(".dropdown-item")
		expect(items).to_have_count(3)
		assert [t.strip() for t in items.all_inner_texts()] == ["Print", "PDF", "Download JSON"]
		shot(page, "80-evidence-menu")
		with context.expect_page() as opened:
			group.locator(".dropdown-item[data-label='Print']").click()
		printed = opened.value
		printed.wait_for_url(re.compile(r"/printview\?"))
		printed.wait_for_load_state()
		document = printed.locator(".oc-evidence")
		expect(document).to_be_visible()
		expect(document.locator("tr.oc-log-row")).to_have_count(4)
		expect(document).to_contain_text("The log verifies")
		expect(document).to_contain_text(re.compile(r"Evidence Export EVX-\d+"))
		expect(document).to_contain_text("opt_out Text")  # a row's note
		shot(printed, "81-evidence-print-view")
	finally:
		context.close()
	assert not errors, f"JavaScript errors in the page: {errors}"
	frappe.db.rollback()
	exports = exports_of(name)
	assert [(e.format, e.produced_by) for e in exports] == [("Print", user("auditor"))]


def test_an_opt_consent_user_is_not_offered_evidence(page):
	name = committed_phone()
	open_record(page, "Phone", name)
	# the Evidence script has run on the form; it offered nothing
	page.wait_for_function(
		"() => window.opt_consent && opt_consent.evidence && opt_consent.evidence.add_buttons"
	)
	expect(page.locator(".page-actions .custom-actions button[data-label]").first).to_be_visible()
	expect(evidence_group(page)).to_have_count(0)
	shot(page, "82-evidence-not-offered-to-a-user")


def test_an_auditor_downloads_a_json_twin_from_a_contacts_consent_section(browser, desk, tmp_path):
	from opt_consent.evidence_document.rules import evidence_file
	from tests.integration.factories import random_email, random_number
	from tests.integration.test_contact import committed

	contact = frappe.get_doc(
		{
			"doctype": "Contact",
			"first_name": f"OC Evidence {frappe.generate_hash(length=6)}",
			"phone_nos": [{"phone": random_number(), "is_primary_mobile_no": 1}],
			"email_ids": [{"email_id": random_email(), "is_primary": 1}],
		}
	).insert(ignore_permissions=True)
	committed(contact.name)
	frappe.share.add("Contact", contact.name, user("auditor"), read=1)  # the section is on the Contact
	frappe.db.commit()
	context, page = login(browser, desk, "auditor")
	try:
		page.goto(f"/app/contact/{contact.name}")
		rows = page.locator(".opt-consent-contact-table tbody tr")
		expect(rows).to_have_count(2)
		expect(page.locator(".opt-consent-contact-table .opt-consent-evidence")).to_have_count(2)
		expect(page.locator(".opt-consent-contact-evidence")).to_be_visible()
		phone_row = page.locator(".opt-consent-contact-table tbody tr[data-doctype='Phone']")
		phone_row.locator(".opt-consent-evidence button").click()
		shot(page, "83-contact-evidence-menu")
		with page.expect_download() as download:
			phone_row.locator(".opt-consent-evidence .dropdown-item[data-label='Download JSON']").click()
		path = tmp_path / download.value.suggested_filename
		download.value.save_as(path)
		assert path.name.startswith("phone-") and path.suffix == ".json"
		verdict = evidence_file.verify(path)
		assert verdict.ok, verdict
		assert evidence_file.load(path)["record"]["party"] == {"doctype": "Contact", "name": contact.name}
	finally:
		context.close()
	frappe.db.rollback()
	phone = frappe.get_all(
		"Phone", filters={"link_doctype": "Contact", "link_name": contact.name}, pluck="name"
	)[0]
	logged = exports_of(phone)
	assert [(e.format, e.sha256) for e in logged] == [("JSON", evidence_file.sha256(path.read_bytes()))]
