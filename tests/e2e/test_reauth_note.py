"""The Phone form shows a note when texting consent is due for reauthorisation or has lapsed.

The site's settings are not committed here (other sessions share the site): the rules are passed to the
same functions the settings and the job use.
"""

import frappe
from frappe.utils import add_days, formatdate, getdate, nowdate
from playwright.sync_api import expect

from opt_consent.reauth import lapse
from opt_consent.reauth import rules as reauth
from tests.e2e.conftest import shot
from tests.e2e.desk import open_record
from tests.integration.factories import COMMITTED, make_texting_phone

RULES = reauth.Rules.make(30, 5)
NOTE = ".form-message .opt-consent-reauth-note"


def test_form_notes_due_and_lapsed_texting_consent(page):
	due = make_texting_phone(27)
	lapse.set_reauth_fields(due, RULES)  # what a consent action stores under these rules
	due.db_update()
	lapsed = make_texting_phone(31)
	assert lapse.lapse_batch([lapsed.name], RULES, getdate(nowdate())) == [lapsed.name]
	fine = make_texting_phone(1)
	COMMITTED.extend(("Phone", doc.name) for doc in (due, lapsed, fine))
	frappe.db.commit()  # the web server must see them; removed at the end of the session

	open_record(page, "Phone", due.name)
	note = page.locator(NOTE)
	expect(note).to_contain_text("due for reauthorisation")
	expect(note).to_contain_text(formatdate(add_days(nowdate(), 3)))
	shot(page, "40-reauth-due-note")

	open_record(page, "Phone", lapsed.name)
	expect(note).to_contain_text("lapsed on " + formatdate(add_days(nowdate(), -1)))
	expect(page.locator(".frappe-control[data-fieldname='text_reauth_status']")).to_contain_text("Lapsed")
	shot(page, "41-reauth-lapsed-note")

	open_record(page, "Phone", fine.name)
	expect(page.locator(".opt-consent-log")).to_be_visible()
	expect(note).to_have_count(0)
