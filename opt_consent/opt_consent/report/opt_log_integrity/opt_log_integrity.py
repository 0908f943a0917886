# Copyright (c) 2026, opt_consent developers
# License: MIT
"""Every Phone and Email: does its Opt In/Out Log verify? Names the first broken row of each record."""

import frappe
from frappe import _

from opt_consent.api import require_integrity_role
from opt_consent.integrity import verify_all


def execute(filters=None):
	require_integrity_role()
	filters = frappe._dict(filters or {})
	doctypes = [filters.record_type] if filters.record_type in ("Phone", "Email") else ["Phone", "Email"]
	data = []
	for result in verify_all(doctypes):
		if filters.only_broken and result["ok"]:
			continue
		data.append(
			{
				"record_type": result["doctype"],
				"record": result["name"],
				"rows": result["rows"],
				"status": _("Verified") if result["ok"] else _("Broken"),
				"broken_idx": result.get("idx"),
				"broken_row": result.get("row"),
				"problem": result.get("message"),
			}
		)
	return columns(), data, None, None, summary(data)


def columns() -> list[dict]:
	return [
		{
			"fieldname": "record_type",
			"label": _("Record Type"),
			"fieldtype": "Link",
			"options": "DocType",
			"width": 100,
		},
		{
			"fieldname": "record",
			"label": _("Record"),
			"fieldtype": "Dynamic Link",
			"options": "record_type",
			"width": 140,
		},
		{"fieldname": "rows", "label": _("Log Rows"), "fieldtype": "Int", "width": 90},
		{"fieldname": "status", "label": _("Status"), "fieldtype": "Data", "width": 90},
		{"fieldname": "broken_idx", "label": _("First Broken Row"), "fieldtype": "Int", "width": 120},
		{"fieldname": "broken_row", "label": _("Row ID"), "fieldtype": "Data", "width": 120},
		{"fieldname": "problem", "label": _("Problem"), "fieldtype": "Data", "width": 500},
	]


def summary(data: list[dict]) -> list[dict]:
	broken = sum(1 for row in data if row["status"] == _("Broken"))
	return [
		{"label": _("Records Checked"), "value": len(data), "datatype": "Int"},
		{"label": _("Broken"), "value": broken, "datatype": "Int", "indicator": "Red" if broken else "Green"},
	]
