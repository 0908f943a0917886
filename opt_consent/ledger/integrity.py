"""Frappe side of the log's hash chain (:mod:`opt_consent.ledger.rules.chain`): verify a record, or all of them.

Rows are sealed as they are written (:mod:`opt_consent.ledger.log`); this module reads them back.
"""

from __future__ import annotations

from collections.abc import Iterable

import frappe
from frappe import _
from frappe.query_builder.functions import Count

from opt_consent.ledger.refusals import require_consent_doctype
from opt_consent.ledger.rules import chain
from opt_consent.ledger.settings import get_policy
from opt_consent.model.channels import DOCTYPES, RECORDS, owned_fields
from opt_consent.model.evidence import LOG_DOCTYPE, LOG_TABLE_FIELD, VERIFY_FIELDS

ROW_FIELDS = list(VERIFY_FIELDS)
# Who may run the verification (read-only): admins, and the auditors who check evidence.
INTEGRITY_ROLES = ("System Manager", "Opt Consent Manager", "Opt Consent Auditor")


def require_integrity_role() -> None:
	"""Refuse anyone else (``frappe.only_for`` is skipped under tests, so it is checked here)."""
	if frappe.session.user != "Administrator" and not set(INTEGRITY_ROLES) & set(frappe.get_roles()):
		frappe.throw(
			_(
				"Only a System Manager, an Opt Consent Manager or an Opt Consent Auditor can verify the consent log."
			),
			exc=frappe.PermissionError,
		)


def stored_rows(doctype: str, name: str) -> list:
	return frappe.get_all(
		LOG_DOCTYPE,
		filters={"parenttype": doctype, "parent": name},
		fields=ROW_FIELDS,
		order_by="idx asc, creation asc",
	)


def check(doctype: str, record, rows: list) -> dict:
	"""The verdict on one record: its chain first, then its fields against a replay of its log."""
	subject = record.get(RECORDS[doctype].key_field)
	broken = chain.verify(rows, doctype, record.get("name"), subject)
	if broken is None:
		broken = chain.verify_state(doctype, record, rows, get_policy())
	result = {"doctype": doctype, "name": record.get("name"), "rows": len(rows), "ok": broken is None}
	if broken is not None:
		args = [_(arg) if isinstance(arg, str) else arg for arg in broken.args]
		result.update(
			idx=broken.idx, row=broken.row, code=broken.code, message=_(broken.message).format(*args)
		)
	return result


def record_fields(doctype: str) -> list[str]:
	"""What the verifier reads of a record: its name, its normalised address, its consent fields."""
	return ["name", RECORDS[doctype].key_field, *owned_fields(doctype)]


def verify_record(doctype: str, name: str) -> dict:
	require_consent_doctype(doctype)
	record = frappe.db.get_value(doctype, name, record_fields(doctype), as_dict=True)
	if not record:
		raise frappe.DoesNotExistError(_("{0} {1} not found").format(_(doctype), name))
	return check(doctype, record, stored_rows(doctype, name))


def verify_all(doctypes: Iterable[str] = tuple(DOCTYPES), chunk: int = 500, names=None):
	"""Yield the verdict on every record of ``doctypes``, then on every deleted one, in bounded memory.

	Records are walked in name order by keyset pages of ``chunk`` records, each page's log rows read in
	one indexed query, so memory holds one page whatever the table's size. ``names`` (a callable taking a
	doctype and a page of names) may narrow a page, e.g. to the records the user may read.
	"""
	for doctype in doctypes:
		yield from verify_range(doctype, chunk=chunk, names=names)
		yield from orphans(doctype)
		yield from deleted(doctype, names)


def verify_range(
	doctype: str, after: str | None = None, upto: str | None = None, chunk: int = 500, names=None
):
	"""Yield the verdict on every record of ``doctype`` named after ``after`` and up to ``upto`` (the whole
	table by default; one chunk of a run, :mod:`opt_consent.jobs.runs`), by keyset pages of ``chunk``."""
	position = after or ""
	while True:
		filters = [["name", ">", position]]
		if upto is not None:
			filters.append(["name", "<=", upto])
		page = frappe.get_all(
			doctype,
			filters=filters,
			fields=record_fields(doctype),
			order_by="name asc",
			limit_page_length=chunk,
		)
		if not page:
			return
		position = page[-1].name
		keep = names(doctype, [r.name for r in page]) if names else None
		records = [r for r in page if keep is None or r.name in keep]
		rows = rows_of(doctype, [r.name for r in records])
		for record in records:
			yield check(doctype, record, rows.get(record.name, []))


def rows_of(doctype: str, names: list[str]) -> dict[str, list]:
	if not names:
		return {}
	out: dict[str, list] = {}
	for row in frappe.get_all(
		LOG_DOCTYPE,
		filters={"parenttype": doctype, "parent": ["in", names]},
		fields=["parent", *ROW_FIELDS],
		order_by="parent asc, idx asc, creation asc",
	):
		out.setdefault(row.parent, []).append(row)
	return out


def orphans(doctype: str):
	"""Log rows whose record is gone from the table and from the Deleted Documents: lost evidence."""
	log, record = frappe.qb.DocType(LOG_DOCTYPE), frappe.qb.DocType(doctype)
	found = (
		frappe.qb.from_(log)
		.left_join(record)
		.on(record.name == log.parent)
		.select(log.parent, Count("*").as_("rows"))
		.where(log.parenttype == doctype)
		.where(record.name.isnull())
		.groupby(log.parent)
	).run(as_dict=True)
	for row in found:
		yield {
			"doctype": doctype,
			"name": row.parent,
			"rows": row.rows,
			"ok": False,
			"code": "orphan",
			"message": _("Log rows remain for {0} {1}, which does not exist.").format(_(doctype), row.parent),
		}


def deleted(doctype: str, names=None):
	"""The verdict on each deleted record with history, from the whole log its Deleted Document keeps.

	One document's data is read at a time (bounded memory). ``names`` narrows them as it narrows the live
	records: a user restricted to some records sees no deleted ones (they are no longer in the table).
	"""
	entries = frappe.get_all(
		"Deleted Document",
		filters={"deleted_doctype": doctype, "restored": 0},
		fields=["name", "deleted_name"],
		order_by="creation asc",
	)
	if names and entries:
		keep = names(doctype, [entry.deleted_name for entry in entries])
		entries = [entry for entry in entries if entry.deleted_name in keep]
	for entry in entries:
		data = frappe.parse_json(frappe.db.get_value("Deleted Document", entry.name, "data"))
		rows = [frappe._dict(row) for row in data.get(LOG_TABLE_FIELD) or []]
		if not rows:
			continue
		result = check(doctype, frappe._dict(data), sorted(rows, key=lambda r: r.idx or 0))
		result.update(deleted=True, deleted_document=entry.name)
		yield result
