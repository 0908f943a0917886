# Copyright (c) 2026, opt_consent developers
# License: MIT
"""Every Phone and Email, and every deleted one with history: does its Opt In/Out Log verify?

A prepared report: the desk runs it in a background job, which walks the records page by page in bounded
memory (``integrity.verify_all``). It lists the broken records (all records when "Only Broken" is off)
with counts of everything checked; a user restricted to some records sees only those.
"""

import frappe
from frappe import _
from frappe.utils import cint

from opt_consent.ledger.access import readable
from opt_consent.ledger.integrity import require_integrity_role, verify_all
from opt_consent.model.channels import DOCTYPES
from opt_consent.opt_consent.report.columns import named, typed_link


def execute(filters=None):
	require_integrity_role()
	filters = frappe._dict(filters or {})
	doctypes = [filters.record_type] if filters.record_type in DOCTYPES else list(DOCTYPES)
	only_broken = cint(filters.only_broken) if filters.only_broken not in (None, "") else 1
	data, counts = [], {"checked": 0, "broken": 0, "deleted": 0}
	for result in verify_all(doctypes, names=readable):
		counts["checked"] += 1
		counts["broken"] += not result["ok"]
		counts["deleted"] += bool(result.get("deleted"))
		if only_broken and result["ok"]:
			continue
		data.append(row_of(result))
	return columns(), data, None, None, summary(counts)


def row_of(result: dict) -> dict:
	status = _("Verified") if result["ok"] else _("Broken")
	if result.get("deleted"):
		status = _("Deleted, verified") if result["ok"] else _("Deleted, broken")
	return {
		"record_type": result["doctype"],
		"record": result["name"],
		"rows": result["rows"],
		"status": status,
		"broken_idx": result.get("idx"),
		"broken_row": result.get("row"),
		"problem": result.get("message"),
		"deleted_document": result.get("deleted_document"),
	}


def columns() -> list[dict]:
	return [
		*typed_link("record_type", _("Record Type"), 100, "record", _("Record"), 140),
		*named("rows", "status", "broken_idx", "broken_row", "problem", "deleted_document"),
	]


def summary(counts: dict) -> list[dict]:
	broken = counts["broken"]
	return [
		{"label": _("Records Checked"), "value": counts["checked"], "datatype": "Int"},
		{"label": _("Broken"), "value": broken, "datatype": "Int", "indicator": "Red" if broken else "Green"},
		{"label": _("Deleted With History"), "value": counts["deleted"], "datatype": "Int"},
	]
