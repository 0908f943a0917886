# Copyright (c) 2026, opt_consent developers
# License: MIT
"""Opt ins against opt outs, week by week (by the date the person gave or withdrew consent)."""

import frappe
from frappe import _
from frappe.utils import add_days, getdate, today

from opt_consent.ledger.access import can_read_any, read_is_unrestricted
from opt_consent.model.channels import CHANNELS, DOCTYPES, OPT_IN, OPT_OUT
from opt_consent.model.evidence import LOG_DOCTYPE, LOG_TABLE_FIELD
from opt_consent.opt_consent.report.columns import named


def execute(filters=None):
	filters = frappe._dict(filters or {})
	start = getdate(filters.from_date or add_days(today(), -90))
	end = getdate(filters.to_date or today())
	if end < start:
		frappe.throw(_("From Date must not be after To Date."), title=_("Invalid filter"))
	if filters.channel and filters.channel not in CHANNELS:
		frappe.throw(_("{0} is not a channel.").format(frappe.bold(str(filters.channel)[:40])))
	weeks: dict = {}
	for doctype in DOCTYPES:
		if filters.channel and filters.channel not in DOCTYPES[doctype]:
			continue
		if can_read_any(doctype):
			for week, action, count in counts(doctype, start, end, filters.channel):
				weeks.setdefault(getdate(week), {OPT_IN: 0, OPT_OUT: 0})[action] += count
	data = [
		{"week": week, "opt_ins": by_action[OPT_IN], "opt_outs": by_action[OPT_OUT]}
		for week, by_action in sorted(weeks.items())
	]
	return columns(), data, None, chart(data)


def counts(doctype: str, start, end, channel: str | None) -> list[tuple]:
	"""(week's Monday, action, count) of the opt ins and outs on records of ``doctype`` the user may read."""
	conditions = ["log.parenttype = %(doctype)s", "log.parentfield = %(field)s", "log.action in %(actions)s"]
	conditions += ["log.event_date between %(start)s and %(end)s"]
	values = {
		"doctype": doctype,
		"field": LOG_TABLE_FIELD,
		"actions": (OPT_IN, OPT_OUT),
		"start": start,
		"end": end,
	}
	if channel:
		conditions.append("log.channel = %(channel)s")
		values["channel"] = channel
	if not read_is_unrestricted(doctype):
		# User Permissions or sharing: only the records frappe.get_list shows this user
		values["names"] = tuple(frappe.get_list(doctype, pluck="name", limit_page_length=0)) or ("",)
		conditions.append("log.parent in %(names)s")
	return frappe.db.sql(
		f"""select date_sub(log.event_date, interval weekday(log.event_date) day) as week, log.action, count(*)
		from `tab{LOG_DOCTYPE}` log where {" and ".join(conditions)}
		group by week, log.action""",
		values,
	)


def columns() -> list[dict]:
	return named("week", "opt_ins", "opt_outs")


def chart(data: list[dict]) -> dict:
	return {
		"data": {
			"labels": [str(row["week"]) for row in data],
			"datasets": [
				{"name": _("Opt Ins"), "values": [row["opt_ins"] for row in data]},
				{"name": _("Opt Outs"), "values": [row["opt_outs"] for row in data]},
			],
		},
		"type": "bar",
		"colors": ["#29cd42", "#e24c4c"],
	}
