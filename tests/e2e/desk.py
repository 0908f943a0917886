"""What a person does in the desk, as Playwright steps: open records, click the consent buttons, fill the
dialog, read the form. Every wait is on a selector or a state, never a sleep."""

import re
from urllib.parse import quote

import frappe
from frappe.utils import formatdate, nowdate
from playwright.sync_api import Locator, Page, expect

from tests.e2e.conftest import TIMEOUT_MS, shot
from tests.integration.factories import COMMITTED

expect.set_options(timeout=TIMEOUT_MS)

DIALOG = ".modal.opt-consent-dialog.show"


def new_record(page: Page, doctype: str, field: str, value: str, **selects) -> str:
	"""Create a record through its New form (Ctrl+S), return its name; the session removes it at the end."""
	route = doctype.lower().replace(" ", "-")
	page.goto(f"/app/{route}/new")
	page.locator(f".frappe-control[data-fieldname='{field}'] input:visible").fill(value)
	for fieldname, option in selects.items():
		page.locator(f".frappe-control[data-fieldname='{fieldname}'] select:visible").select_option(option)
	page.keyboard.press("Control+s")
	page.wait_for_url(re.compile(rf"/app/{route}/[A-Z]+-\d+$"))
	name = page.url.rstrip("/").rsplit("/", 1)[-1]
	COMMITTED.append((doctype, name))
	wait_for_form(page, name)
	return name


def open_record(page: Page, doctype: str, name: str) -> None:
	page.goto(f"/app/{doctype.lower().replace(' ', '-')}/{name}")
	wait_for_form(page, name)


def wait_for_form(page: Page, name: str) -> None:
	page.wait_for_function(
		"(name) => window.cur_frm && cur_frm.doc && cur_frm.doc.name === name && !cur_frm.is_new()"
		" && document.querySelector('.opt-consent-log')"
		# the saved record's refresh has run: its Contact Control section is its last answer
		" && (!['Phone', 'Email'].includes(cur_frm.doctype)"
		" || document.querySelector('.opt-consent-next-allowed-section'))",
		arg=name,
	)


def button(page: Page, label: str) -> Locator:
	return page.locator(f".page-actions .custom-actions button[data-label='{quote(label)}']:visible")


def consent_buttons(page: Page) -> list[str]:
	labels = page.locator(".page-actions .custom-actions button[data-label]:visible")
	return [label.strip() for label in labels.all_inner_texts()]


def open_dialog(page: Page, label: str) -> Locator:
	button(page, label).click()
	dialog = page.locator(DIALOG)
	expect(dialog).to_be_visible()
	expect(dialog.locator(".modal-title")).to_have_text(label)
	expect(dialog.locator("[data-fieldname='method'] select")).to_be_visible()
	return dialog


def fill_dialog(dialog: Locator, method: str, date: str | None = None, channel: str | None = None) -> None:
	if channel:
		dialog.locator("[data-fieldname='channel'] select").select_option(channel)
	if date:
		field = dialog.locator("[data-fieldname='date'] input")
		field.fill(date)
		field.press("Tab")
		expect(field).to_have_value(date)
	dialog.locator("[data-fieldname='method'] select").select_option(method)


def dialog_defaults(dialog: Locator) -> dict:
	return {
		"date": dialog.locator("[data-fieldname='date'] input").input_value(),
		"time": dialog.locator("[data-fieldname='time'] input").input_value(),
		"methods": dialog.locator("[data-fieldname='method'] option").all_inner_texts(),
	}


def ok(dialog: Locator) -> None:
	dialog.locator(".standard-actions .btn-primary").click()


def record(page: Page, label: str, method: str, step: str) -> None:
	"""Click ``label``, fill Date / Time (defaults) / Method, screenshot, OK; wait for the reloaded form."""
	dialog = open_dialog(page, label)
	fill_dialog(dialog, method)
	shot(page, f"{step}-dialog")
	logs = log_rows(page)
	clear_alerts(page)
	ok(dialog)
	expect(page.locator(DIALOG)).to_have_count(0)
	expect(page.locator(".opt-consent-log tbody tr[data-idx]")).to_have_count(len(logs) + 1)


def clear_alerts(page: Page) -> None:
	"""Close the earlier confirmations, so a screenshot shows the latest one and not a pile over the log."""
	page.evaluate(
		"() => document.querySelectorAll('#alert-container .desk-alert').forEach((a) => a.remove())"
	)


def checked(page: Page, fieldname: str) -> Locator:
	return page.locator(f".frappe-control[data-fieldname='{fieldname}'] input[type=checkbox]:visible")


def expect_checked(page: Page, fieldname: str, value: bool) -> None:
	"""Wait until the form shows the Check ``fieldname`` as ``value``. A read-only Check is a disabled box
	that Frappe marks ``disabled-selected`` when set; an editable one is simply checked."""
	expect(checked(page, fieldname)).to_have_count(1)
	page.wait_for_function(
		"""([fieldname, want]) => {
			const box = [...document.querySelectorAll(`.frappe-control[data-fieldname='${fieldname}'] input[type=checkbox]`)]
				.find((el) => el.offsetParent !== null);
			return box && (box.checked || box.classList.contains("disabled-selected")) === want;
		}""",
		arg=[fieldname, value],
	)


def shown_value(page: Page, fieldname: str) -> Locator:
	return page.locator(f".frappe-control[data-fieldname='{fieldname}'] .control-value:visible")


def log_rows(page: Page) -> list[dict]:
	"""The log table as shown, top row first."""
	rows = []
	for row in page.locator(".opt-consent-log tbody tr[data-idx]").all():
		cells = row.locator("td")
		rows.append(
			{
				cells.nth(i).get_attribute("data-fieldname"): cells.nth(i).inner_text().strip()
				for i in range(cells.count())
			}
		)
	return rows


def today_shown() -> str:
	"""Today as the desk shows a date (the site's date format), in the site's time zone: the test users have
	none of their own, so it is also the operator's zone the dialog dates its default in."""
	return formatdate(nowdate())


def stored(doctype: str, name: str):
	"""The record as the web server committed it."""
	frappe.db.rollback()
	return frappe.get_doc(doctype, name)
