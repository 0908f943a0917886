# Copyright (c) 2026, opt_consent developers
# License: MIT
"""Phones whose texting consent is due for reauthorisation within N days (and, if asked, the lapsed ones)."""

import frappe
from frappe import _
from frappe.utils import add_days, cint

from opt_consent.opt_consent.report.columns import named, typed_link
from opt_consent.reauth import lapse
from opt_consent.reauth import rules as reauth

FIELDS = [
	"name",
	"phone",
	"link_doctype",
	"link_name",
	"text_reauth_status",
	"text_opt_in_date",
	"text_opt_in_method",
	"text_reauth_due_on",
	"text_consent_lapses_on",
]


def execute(filters: dict | None = None):
	filters = frappe._dict(filters or {})
	return columns(), rows(filters)


def columns() -> list[dict]:
	return [
		*named("name", "phone"),
		*typed_link("link_doctype", _("Party Type"), 110, "link_name", _("Party"), 160),
		*named(
			"text_reauth_status",
			"text_opt_in_date",
			"text_opt_in_method",
			"text_reauth_due_on",
			"text_consent_lapses_on",
		),
	]


def rows(filters) -> list[dict]:
	"""Phones with texting consent due on or before today + ``due_within`` days, soonest first."""
	due_within = filters.get("due_within")
	due_within = 30 if due_within in (None, "") else cint(due_within)
	if due_within < 0:
		frappe.throw(_("Due Within (Days) cannot be negative."), title=_("Invalid filter"))
	until = add_days(lapse.today(), due_within)
	found = frappe.get_list(
		"Phone",
		filters={"text_opt": 1, "text_reauth_due_on": ("<=", until)},
		fields=FIELDS,
		order_by="text_reauth_due_on asc, name asc",
		limit_page_length=0,
	)
	if cint(filters.get("include_lapsed")):
		found += frappe.get_list(
			"Phone",
			filters={"text_opt": 0, "text_reauth_status": reauth.LAPSED},
			fields=FIELDS,
			order_by="text_consent_lapses_on asc, name asc",
			limit_page_length=0,
		)
	return found
