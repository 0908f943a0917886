"""Frappe side of the log's hash chain (:mod:`opt_consent.chain`): seal rows as they are written, verify.

Every writer of Opt Log rows seals them, last, once every evidence field is final:
- one action on a loaded record: :func:`seal_new_rows` (``consent.apply_outcome`` calls it);
- a bulk writer that inserts rows without loading the records (e.g. a set-based lapse job), holding the
  records' row locks: :func:`last_rows` (or :func:`last_hashes`) for the records, then
  ``chain.seal(rows, doctype, name, prev)`` per record, or :func:`seal_rows` for one record.
"""

from __future__ import annotations

from collections.abc import Iterable

import frappe
from frappe import _
from frappe.model.document import Document
from frappe.query_builder.functions import Max
from pypika.terms import Tuple

from opt_consent import chain, engine

LOG_DOCTYPE = "Opt Log"
# What the verifier reads of a row.
ROW_FIELDS = [
	"name",
	"idx",
	"hash_scheme",
	"prev_hash",
	"row_hash",
	*(field for field, _kind in chain.SCHEME_1_FIELDS),
]


def seal_new_rows(doc: Document) -> None:
	"""Seal the rows appended to ``doc``'s log in this save, chained to the record's last stored row.

	The record is locked (``get_doc(for_update=True)``), so the last stored row cannot change meanwhile, and
	it loads with its newest rows (``consent.guard_snapshot`` has made sure they are current): the last of
	them is the last stored row.
	"""
	rows = doc.get("opt_logs") or []
	new = [row for row in rows if row.is_new()]
	if not new:
		return
	stored = [row for row in rows if not row.is_new()]
	prev = stored[-1].row_hash or "" if stored else ""
	chain.seal(new, doc.doctype, doc.name, prev)


def last_hashes(doctype: str, names: Iterable[str], for_update: bool = False) -> dict[str, str]:
	"""The ``row_hash`` of the last stored row of each record ("" for a record without rows)."""
	return {name: row_hash for name, (_idx, row_hash) in last_rows(doctype, names, for_update).items()}


def last_rows(doctype: str, names: Iterable[str], for_update: bool = False) -> dict[str, tuple[int, str]]:
	"""``(idx, row_hash)`` of the last stored row of each record (``(0, "")`` for a record without rows).

	Two indexed reads: the highest ``idx`` per record, then just those rows. A set-based writer that locked
	the records after its transaction first read passes ``for_update``: a locking read sees the latest rows
	where a plain read sees the transaction's (older) snapshot.
	"""
	names = list(names)
	out = dict.fromkeys(names, (0, ""))
	if not names:
		return out
	log = frappe.qb.DocType(LOG_DOCTYPE)
	query = (
		frappe.qb.from_(log)
		.select(log.parent, Max(log.idx))
		.where(log.parenttype == doctype)
		.where(log.parentfield == "opt_logs")
		.where(log.parent.isin(names))
		.groupby(log.parent)
	)
	highest = (query.for_update() if for_update else query).run()
	if not highest:
		return out
	query = (
		frappe.qb.from_(log)
		.select(log.parent, log.idx, log.row_hash)
		.where(log.parenttype == doctype)
		.where(log.parentfield == "opt_logs")
		.where(Tuple(log.parent, log.idx).isin([Tuple(parent, idx) for parent, idx in highest]))
	)
	for parent, idx, row_hash in (query.for_update() if for_update else query).run():
		out[parent] = (idx, row_hash or "")
	return out


def seal_rows(doctype: str, name: str, rows: list) -> str:
	"""Seal ``rows`` (new rows of one record, in order, not yet stored) after the record's stored rows."""
	return chain.seal(rows, doctype, name, last_hashes(doctype, [name], for_update=True)[name])


def stored_rows(doctype: str, name: str) -> list:
	return frappe.get_all(
		LOG_DOCTYPE,
		filters={"parenttype": doctype, "parent": name},
		fields=ROW_FIELDS,
		order_by="idx asc, creation asc",
	)


def check(doctype: str, record, rows: list) -> dict:
	"""The verdict on one record: its chain first, then its fields against a replay of its log."""
	broken = chain.verify(rows, doctype, record.get("name"))
	if broken is None:
		from opt_consent.consent import get_policy

		broken = chain.verify_state(doctype, record, rows, get_policy())
	result = {"doctype": doctype, "name": record.get("name"), "rows": len(rows), "ok": broken is None}
	if broken is not None:
		args = [_(arg) if isinstance(arg, str) else arg for arg in broken.args]
		result.update(
			idx=broken.idx, row=broken.row, code=broken.code, message=_(broken.message).format(*args)
		)
	return result


def verify_record(doctype: str, name: str) -> dict:
	from opt_consent.consent import require_consent_doctype  # consent imports this module

	require_consent_doctype(doctype)
	record = frappe.db.get_value(doctype, name, ["name", *engine.owned_fields(doctype)], as_dict=True)
	if not record:
		raise frappe.DoesNotExistError(_("{0} {1} not found").format(_(doctype), name))
	return check(doctype, record, stored_rows(doctype, name))


def verify_all(doctypes: Iterable[str] = tuple(engine.DOCTYPES)):
	"""Yield the verdict on every record of ``doctypes`` that has log rows or consent fields set."""
	for doctype in doctypes:
		rows_by_record: dict[str, list] = {}
		for row in frappe.get_all(
			LOG_DOCTYPE,
			filters={"parenttype": doctype},
			fields=["parent", *ROW_FIELDS],
			order_by="parent asc, idx asc, creation asc",
		):
			rows_by_record.setdefault(row.parent, []).append(row)
		for record in frappe.get_all(
			doctype, fields=["name", *engine.owned_fields(doctype)], order_by="name asc"
		):
			yield check(doctype, record, rows_by_record.pop(record.name, []))
		for orphan, rows in rows_by_record.items():
			yield {
				"doctype": doctype,
				"name": orphan,
				"rows": len(rows),
				"ok": False,
				"idx": rows[0].idx,
				"row": rows[0].name,
				"code": "orphan",
				"message": _("Log rows remain for {0} {1}, which does not exist.").format(_(doctype), orphan),
			}
