"""A two-purpose site in the browser, as an Opt Consent User: opt out of marketing texts (servicing texts
still allowed), then revoke-all switched on: a STOP ends both. Screenshots in artifacts/e2e/."""

import time

import frappe
from frappe.utils import add_days, nowdate
from playwright.sync_api import expect

from opt_consent.ledger.rules import purposes as rules
from tests.e2e.conftest import shot
from tests.e2e.desk import DIALOG, button, clear_alerts, consent_buttons, fill_dialog, ok, open_record
from tests.integration.factories import random_number
from tests.integration.test_gate import committed_phone, gateway, message_id, post  # noqa: F401
from tests.integration.test_purposes import act, allowed, committed_purposes, default, sent_to


def purpose_states(page) -> dict:
	"""The form's Consent per Purpose table: {(channel, purpose): "In" / "Out" / "Not given"}."""
	table = page.locator(".opt-consent-purposes:visible")
	expect(table).to_be_visible()
	states = {}
	for row in table.locator("tbody tr").all():
		key = (row.get_attribute("data-channel"), row.get_attribute("data-purpose"))
		states[key] = row.locator("td").nth(2).inner_text().strip()
	return states


def test_two_purposes_then_revoke_all(page, gateway):  # noqa: F811
	number = random_number()
	with committed_purposes(rules.SCOPE_PURPOSE) as marketing:
		name = committed_phone(number, opt_in_texts=True)
		act(name, "Opt In", purpose=marketing, minutes_ago=10)
		frappe.db.commit()

		open_record(page, "Phone", name)
		states = purpose_states(page)
		assert states[("Text", default())] == "In" and states[("Text", marketing)] == "In"
		# with several purposes both directions are offered: the dialog names the purpose
		assert {"Opt In Texts", "Opt Out Texts"} <= set(consent_buttons(page))
		shot(page, "80-purposes-on-the-phone")

		button(page, "Opt Out Texts").click()
		dialog = page.locator(DIALOG)
		expect(dialog).to_be_visible()
		purpose = dialog.locator("[data-fieldname='purpose'] select")
		expect(purpose).to_have_value("")  # an opt out names every purpose unless told otherwise
		purpose.select_option(marketing)
		fill_dialog(dialog, "Verbal")
		shot(page, "81-opt-out-of-marketing-dialog")
		clear_alerts(page)
		ok(dialog)
		expect(page.locator(DIALOG)).to_have_count(0)
		expect(
			page.locator(
				f".opt-consent-purposes tr[data-channel='Text'][data-purpose='{marketing}'] td:nth-child(3)"
			)
		).to_have_text("Out")
		states = purpose_states(page)
		assert states[("Text", default())] == "In" and states[("Text", marketing)] == "Out"
		shot(page, "82-marketing-out-servicing-in")
		frappe.db.rollback()
		assert allowed("Text", number, marketing)[0] is False
		assert allowed("Text", number) == (True, "opted_in")

	with committed_purposes(rules.SCOPE_REVOKE_ALL, since=add_days(nowdate(), -1)) as marketing:
		time.sleep(1.1)
		act(name, "Opt In", purpose=marketing, minutes_ago=0)
		sent_to(name, number, marketing)  # a marketing text, answered by STOP
		answer = post(gateway, sender=number, message="STOP", message_id=message_id())
		assert answer.json()["message"]["status"] == "Applied", answer.text
		open_record(page, "Phone", name)
		states = purpose_states(page)
		assert states[("Text", default())] == "Out" and states[("Text", marketing)] == "Out"
		shot(page, "83-revoke-all-stop-ends-both")
		frappe.db.rollback()
		assert allowed("Text", number)[0] is False and allowed("Text", number, marketing)[0] is False
