# Copyright (c) 2026, opt_consent developers
# License: MIT
"""Every opt out with the date it must be honoured by (propagated to dialers, letter vendors, ...), and every
inbound text from a number on file that waits for a person's review: a revocation may be worded any
reasonable way (47 CFR 64.1200(a)(10), FCC 24-24), so its clock runs from receipt until it is reviewed."""

import frappe
from frappe import _
from frappe.utils import add_days, getdate, today

from opt_consent.ledger.access import can_read_any, readable
from opt_consent.model.channels import DOCTYPES, OPT_OUT, RECORDS, TEXT
from opt_consent.model.evidence import LOG_DOCTYPE, LOG_TABLE_FIELD
from opt_consent.opt_consent.report.columns import named, typed_link
from opt_consent.revocation.rules.inbound_status import AWAITING_REVIEW


def execute(filters=None):
	filters = frappe._dict(filters or {})
	return columns(), rows(filters)


def columns() -> list[dict]:
	return [
		*named("received", "honour_by", "days_left", "state", "channel", "source", "method"),
		*typed_link("record_doctype", _("Record Type"), 90, "record", _("Record"), 120),
		*named("address", "recorded_by", "message_id"),
	]


def rows(filters) -> list[dict]:
	data = []
	for doctype in DOCTYPES:
		if filters.get("channel") and filters.channel not in DOCTYPES[doctype]:
			continue
		if not can_read_any(doctype):
			continue
		found = query(doctype, filters)
		# only the rows of records the user may read (User Permissions, sharing)
		allowed = readable(doctype, [row["record"] for row in found])
		data += [row for row in found if row["record"] in allowed]
	for row in data:
		row["state"] = _("Recorded")
	if not filters.get("channel") or filters.channel == TEXT:
		data += awaiting_review(filters)
	current = getdate(today())
	for row in data:
		row["record_doctype"] = row.pop("parenttype")
		row["days_left"] = (getdate(row["honour_by"]) - current).days if row.get("honour_by") else None
	data.sort(key=lambda r: (r["honour_by"] is None, r["honour_by"] or current, r["received"]))
	return data


def query(doctype: str, filters) -> list[dict]:
	log = frappe.qb.DocType(LOG_DOCTYPE)
	record = frappe.qb.DocType(doctype)
	q = (
		frappe.qb.from_(log)
		.join(record)
		.on(record.name == log.parent)
		.select(
			log.recorded_at.as_("received"),
			log.honour_by,
			log.channel,
			log.source,
			log.method,
			log.parenttype,
			log.parent.as_("record"),
			record[RECORDS[doctype].address_field].as_("address"),
			log.recorded_by,
			log.message_id,
		)
		.where(log.parenttype == doctype)
		.where(log.parentfield == LOG_TABLE_FIELD)
		.where(log.action == OPT_OUT)
	)
	if filters.get("from_date"):
		q = q.where(log.recorded_at >= getdate(filters.from_date))
	if filters.get("to_date"):
		q = q.where(log.recorded_at < add_days(getdate(filters.to_date), 1))
	if filters.get("channel"):
		q = q.where(log.channel == filters.channel)
	if filters.get("overdue"):
		q = q.where(log.honour_by < getdate(today()))
	return q.run(as_dict=True)


INBOUND = "Inbound Text"


def awaiting_review(filters) -> list[dict]:
	"""Inbound texts from a number on file not applied yet, as the user may read them (row level too)."""
	if not frappe.has_permission(INBOUND, "read"):
		return []
	conditions = [["status", "in", AWAITING_REVIEW], ["honour_by", "is", "set"]]
	if filters.get("from_date"):
		conditions.append(["received_at", ">=", getdate(filters.from_date)])
	if filters.get("to_date"):
		conditions.append(["received_at", "<", add_days(getdate(filters.to_date), 1)])
	if filters.get("overdue"):
		conditions.append(["honour_by", "<", getdate(today())])
	found = frappe.get_list(
		INBOUND, filters=conditions, fields=["name", "received_at", "honour_by", "sender_e164", "message_id"]
	)
	return [
		{
			"received": row.received_at,
			"honour_by": row.honour_by,
			"state": _("Awaiting Review"),
			"channel": TEXT,
			"source": "Inbound SMS",
			"method": None,
			"parenttype": INBOUND,
			"record": row.name,
			"address": row.sender_e164,
			"recorded_by": None,
			"message_id": row.message_id,
		}
		for row in found
	]
