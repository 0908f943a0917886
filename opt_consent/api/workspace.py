"""The Consent workspace's number cards that count what a report shows: the same rows, the same row-level
permissions, and a click opens that report with the same filters."""

import frappe
from frappe import _
from frappe.utils import add_days, today

from opt_consent.opt_consent.report.revocations import revocations
from opt_consent.opt_consent.report.texting_reauthorisation_due import texting_reauthorisation_due

OVERDUE_WINDOW_DAYS = 30
DUE_WITHIN_DAYS = 7


def card(value: int, report: str, route_options: dict) -> dict:
	return {
		"value": value,
		"fieldtype": "Int",
		"route": ["query-report", report],
		"route_options": route_options,
	}


@frappe.whitelist()
def revocations_past_honour_by(filters: str | dict | None = None) -> dict:
	"""Revocations received in the last 30 days whose honour-by date has passed."""
	options = {"from_date": add_days(today(), -OVERDUE_WINDOW_DAYS), "overdue": 1}
	return card(len(revocations.rows(frappe._dict(options))), _("Revocations"), options)


@frappe.whitelist()
def phones_due_this_week(filters: str | dict | None = None) -> dict:
	"""Phones whose texting consent is due for reauthorisation within 7 days (or earlier)."""
	if not frappe.has_permission("Phone", "read"):
		raise frappe.PermissionError(_("Not permitted to read Phone"))
	options = {"due_within": DUE_WITHIN_DAYS}
	rows = texting_reauthorisation_due.rows(frappe._dict(options))
	return card(len(rows), _("Texting Reauthorisation Due"), options)
