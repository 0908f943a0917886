"""The consent dialog names the Consent Wording: the Published versions for the channel and the chosen
method are offered, the chosen text is shown read-only, a method that requires a wording makes it
required, and the log shows the wording the consent was given under."""

from urllib.parse import quote

import frappe
import pytest
from frappe.utils import add_to_date, now_datetime
from playwright.sync_api import expect

from opt_consent.ledger import wording as wording_adapter
from opt_consent.ledger.rules.wording import text_hash
from tests.e2e.conftest import shot
from tests.e2e.desk import DIALOG, button, clear_alerts, log_rows, ok, open_dialog, open_record, stored
from tests.integration.factories import COMMITTED, make_method, make_phone

TEXT = "By ticking this box I agree that Example Co may text me about my account.\nReply STOP to stop."


@pytest.fixture
def committed(desk):
	"""A method that requires a wording, a Published wording for texting by that method, one for calls,
	and a Cell phone: committed for the web server, removed afterwards (a published wording from its
	tables: no door deletes one)."""
	method = f"OC E2E Form {frappe.generate_hash(length=5)}"
	make_method(method)
	frappe.db.set_value("Opt Method", method, "requires_wording", 1)
	made = []
	for title, channels, methods in (
		(f"OC Web Checkbox {frappe.generate_hash(length=5)}", "Text", [method]),
		(f"OC Call Script {frappe.generate_hash(length=5)}", "Call", []),
	):
		doc = frappe.get_doc(
			{
				"doctype": "Consent Wording",
				"title": title,
				"channels": channels,
				"methods": [{"method": m} for m in methods],
				"text": TEXT,
			}
		).insert()
		wording_adapter.publish(doc.name)
		frappe.db.set_value(
			"Consent Wording",
			doc.name,
			"published_on",
			add_to_date(now_datetime(), hours=-1),
			update_modified=False,
		)
		made.append(doc.name)
	phone = make_phone().name
	COMMITTED.append(("Phone", phone))
	frappe.db.commit()
	yield {"method": method, "text_wording": made[0], "call_wording": made[1], "phone": phone}
	frappe.db.rollback()
	for name in made:
		frappe.db.delete("Consent Wording Method", {"parent": name})
		frappe.db.delete("Consent Wording", {"name": name})
	frappe.db.delete("Opt Method", {"name": method})
	frappe.db.commit()


def test_the_dialog_offers_the_wordings_of_the_channel_and_method(page, committed):
	open_record(page, "Phone", committed["phone"])
	dialog = open_dialog(page, "Opt In Texts")
	picker = dialog.locator("[data-fieldname='wording'] select")
	# Verbal requires no wording: the texting wording limited to the web form method is not offered
	dialog.locator("[data-fieldname='method'] select").select_option("Verbal")
	expect(picker).to_be_visible()
	options = picker.locator("option").all_inner_texts()
	assert committed["text_wording"] not in options and committed["call_wording"] not in options

	# the web form method requires a wording: its one version is offered, chosen, its text shown
	dialog.locator("[data-fieldname='method'] select").select_option(committed["method"])
	expect(picker.locator(f"option[value='{committed['text_wording']}']")).to_have_count(1)
	expect(picker).to_have_value(committed["text_wording"])
	assert committed["call_wording"] not in picker.locator("option").all_inner_texts()
	text = dialog.locator(".opt-consent-wording-text")
	expect(text).to_have_text(TEXT)
	expect(dialog.locator("[data-fieldname='wording'] .control-label")).to_have_class("control-label reqd")
	shot(page, "90-wording-picker")

	# left empty, the required wording stops the dialog before anything is sent
	picker.select_option("")
	expect(text).to_have_count(0)
	ok(dialog)
	missing = page.locator(".modal:visible", has_text="Missing Values Required")
	expect(missing).to_contain_text("Consent Wording")
	missing.locator(".btn-modal-close").click()  # Frappe's "missing values" message
	expect(missing).to_have_count(0)
	expect(page.locator(DIALOG)).to_be_visible()
	assert not log_rows(page)

	picker.select_option(committed["text_wording"])
	clear_alerts(page)
	ok(dialog)
	expect(page.locator(DIALOG)).to_have_count(0)
	expect(page.locator(".opt-consent-log tbody tr[data-idx]")).to_have_count(1)
	row = log_rows(page)[0]
	assert (row["action"], row["method"], row["wording"]) == (
		"Opt In",
		committed["method"],
		committed["text_wording"],
	)
	shot(page, "91-wording-in-log")
	logged = stored("Phone", committed["phone"]).opt_logs[-1]
	assert (logged.wording, logged.wording_hash) == (committed["text_wording"], text_hash(TEXT))


@pytest.fixture
def manager_page(browser, desk):
	"""A page logged in as the Opt Consent Manager (who keeps the wordings)."""
	from tests.e2e.conftest import TIMEOUT_MS, VIEWPORT
	from tests.integration.factories import PASSWORD, user

	context = browser.new_context(viewport=VIEWPORT, base_url=desk)
	context.set_default_timeout(TIMEOUT_MS)
	errors: list[str] = []
	page = context.new_page()
	page.on("pageerror", lambda error: errors.append(str(error)))
	page.goto("/login")
	page.fill("#login_email", user("manager"))
	page.fill("#login_password", PASSWORD)
	page.click(".btn-login[type=submit]")
	page.wait_for_function("() => window.frappe && frappe.session && frappe.session.user !== 'Guest'")
	yield page
	context.close()
	assert not errors, f"JavaScript errors in the page: {errors}"


def open_wording(page, name: str) -> None:
	page.goto(f"/app/consent-wording/{quote(name)}")
	page.wait_for_function(
		"(name) => window.cur_frm && cur_frm.doc && cur_frm.doc.name === name && !cur_frm.is_new()", arg=name
	)


def test_a_manager_publishes_and_makes_a_new_version(manager_page):
	page = manager_page
	title = f"OC Script {frappe.generate_hash(length=5)}"
	draft = frappe.get_doc(
		{"doctype": "Consent Wording", "title": title, "channels": "Call", "text": "May we call you?"}
	).insert()
	frappe.db.commit()
	made = [draft.name, f"{title} v2"]
	try:
		open_wording(page, draft.name)
		expect(button(page, "New Version")).to_have_count(0)
		button(page, "Publish").click()
		confirm = page.locator(".modal:visible", has_text="can never be changed")
		confirm.locator(".btn-primary").click()
		expect(page.locator(".form-message")).to_contain_text("Published")
		expect(button(page, "Publish")).to_have_count(0)
		shot(page, "92-wording-published")
		button(page, "New Version").click()
		page.wait_for_function(
			"(name) => window.cur_frm && cur_frm.doc && cur_frm.doc.name === name", arg=made[1]
		)
		expect(button(page, "Publish")).to_be_visible()
		shot(page, "93-wording-new-version")
		frappe.db.rollback()
		assert frappe.db.get_value("Consent Wording", draft.name, "status") == "Published"
		assert frappe.db.get_value("Consent Wording", made[1], ["status", "supersedes", "text"]) == (
			"Draft",
			draft.name,
			"May we call you?",
		)
	finally:
		frappe.db.rollback()
		for name in made:
			frappe.db.delete("Consent Wording Method", {"parent": name})
			frappe.db.delete("Consent Wording", {"name": name})
		frappe.db.commit()
