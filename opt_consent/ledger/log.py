"""The Opt Log table: read a record's rows, append rows sealed into its hash chain.

Every writer of log rows goes through here, and seals last, once every evidence field is final:
- one action on a loaded, locked record: :func:`seal_new_rows` (``consent.apply_outcome`` calls it);
- a set-based writer that holds the records' row locks without loading them: :func:`insert_log_rows`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from itertools import groupby

import frappe
from frappe.model.document import Document
from frappe.model.naming import make_autoname
from frappe.query_builder.functions import Max
from pypika.terms import Tuple

from opt_consent.ledger.rules import chain, engine
from opt_consent.model.channels import RECORDS
from opt_consent.model.evidence import EVIDENCE, LOG_DOCTYPE, LOG_TABLE_FIELD, META_FIELDS, TIME

# The newest log rows a record loads with (the form shows them; older ones page through api.get_log).
LOG_WINDOW = 50
# Who records what the system does on its own (a lapse): the job runs as the system, not as staff.
SYSTEM_USER = "Administrator"


def record_log_query(doctype: str, name: str):
	"""The query of every column of one record's log rows (the caller orders and pages it)."""
	log = frappe.qb.DocType(LOG_DOCTYPE)
	return (
		frappe.qb.from_(log)
		.select("*")
		.where(log.parent == name)
		.where(log.parenttype == doctype)
		.where(log.parentfield == LOG_TABLE_FIELD)
	)


def log_rows(doctype: str, name: str, limit: int | None = None, start: int = 0, newest_first: bool = False):
	"""Log rows of one record: the newest ``limit`` (after skipping ``start``), in log order unless asked."""
	log = frappe.qb.DocType(LOG_DOCTYPE)
	query = record_log_query(doctype, name).orderby(log.idx, order=frappe.qb.desc)
	if limit:
		query = query.limit(limit).offset(start)
	rows = query.run(as_dict=True)
	return rows if newest_first else rows[::-1]


def count_log_rows(doctype: str, name: str) -> int:
	return frappe.db.count(
		LOG_DOCTYPE, {"parent": name, "parenttype": doctype, "parentfield": LOG_TABLE_FIELD}
	)


def last_event(doc: Document, channel: str) -> engine.LastEvent | None:
	"""The latest logged event of ``channel`` on ``doc``.

	A channel's events are logged in event order (an earlier one is refused), so its newest loaded row is its
	latest event; only when the loaded (newest) rows hold none of the channel and there may be older rows
	is the table asked.
	"""
	rows = doc.get(LOG_TABLE_FIELD) or []
	for row in reversed(rows):
		if row.channel == channel and not row.is_new():
			return engine.LastEvent(engine.event_datetime(row.event_date, row.event_time), row.action)
	if len(rows) < LOG_WINDOW:
		return None
	log = frappe.qb.DocType(LOG_DOCTYPE)
	found = (
		frappe.qb.from_(log)
		.select(log.event_date, log.event_time, log.action)
		.where(log.parent == doc.name)
		.where(log.parenttype == doc.doctype)
		.where(log.channel == channel)
		.orderby(log.event_date, order=frappe.qb.desc)
		.orderby(log.event_time, order=frappe.qb.desc)
		.orderby(log.idx, order=frappe.qb.desc)
		.limit(1)
	).run(as_dict=True)
	if not found:
		return None
	return engine.LastEvent(engine.event_datetime(found[0].event_date, found[0].event_time), found[0].action)


def subject_of(doc) -> str:
	"""What the record is about, as its rows are sealed to it: its normalised address."""
	return doc.get(RECORDS[doc.doctype].key_field) or ""


def seal_new_rows(doc: Document) -> None:
	"""Seal the rows appended to ``doc``'s log in this save, chained to the record's last stored row.

	The record is locked (``get_doc(for_update=True)``), so the last stored row cannot change meanwhile, and
	it loads with its newest rows (``consent.guard_snapshot`` has made sure they are current): the last of
	them is the last stored row.
	"""
	rows = doc.get(LOG_TABLE_FIELD) or []
	new = [row for row in rows if row.is_new()]
	if not new:
		return
	stored = [row for row in rows if not row.is_new()]
	prev = stored[-1].row_hash or "" if stored else ""
	chain.seal(new, doc.doctype, doc.name, prev, subject=subject_of(doc))


# The index every read of a record's rows in log order goes through (install.INDEXES). The locking reads
# name it and ask for at most LOCKING_GROUP records at a time: on a small table the optimizer may prefer a
# full scan, and MariaDB turns an IN list of 1,000 values or more (in_predicate_conversion_threshold) into a
# join over the whole table; under FOR UPDATE either would lock every row of the log and deadlock two chunks
# of a run that touch disjoint records.
ORDER_INDEX = "log_parent_order_index"
LOCKING_GROUP = 200  # records per read: 200 (parent, parenttype, parentfield, idx) tuples are 800 values


def last_rows(doctype: str, names: Iterable[str], for_update: bool = False) -> dict[str, tuple[int, str]]:
	"""``(idx, row_hash)`` of the last stored row of each record (``(0, "")`` for a record without rows).

	Two indexed reads: the highest ``idx`` per record, then just those rows. A set-based writer that locked
	the records after its transaction first read passes ``for_update``: a locking read sees the latest rows
	where a plain read sees the transaction's (older) snapshot.
	"""
	names = list(names)
	out = dict.fromkeys(names, (0, ""))
	for start in range(0, len(names), LOCKING_GROUP):
		query = highest_idx_query(doctype, names[start : start + LOCKING_GROUP])
		highest = (query.for_update() if for_update else query).run()
		if not highest:
			continue
		query = rows_at_query(doctype, highest)
		for parent, idx, row_hash in (query.for_update() if for_update else query).run():
			out[parent] = (idx, row_hash or "")
	return out


def highest_idx_query(doctype: str, names: list[str]):
	log = frappe.qb.DocType(LOG_DOCTYPE)
	return (
		frappe.qb.from_(log)
		.force_index(ORDER_INDEX)
		.select(log.parent, Max(log.idx))
		.where(log.parenttype == doctype)
		.where(log.parentfield == LOG_TABLE_FIELD)
		.where(log.parent.isin(names))
		.groupby(log.parent)
	)


def rows_at_query(doctype: str, positions: Iterable[tuple[str, int]]):
	log = frappe.qb.DocType(LOG_DOCTYPE)
	return (
		frappe.qb.from_(log)
		.force_index(ORDER_INDEX)
		.select(log.parent, log.idx, log.row_hash)
		.where(log.parenttype == doctype)
		.where(log.parentfield == LOG_TABLE_FIELD)
		.where(
			Tuple(log.parent, log.parenttype, log.parentfield, log.idx).isin(
				[Tuple(parent, doctype, LOG_TABLE_FIELD, idx) for parent, idx in positions]
			)
		)
	)


def insert_log_rows(
	parenttype: str, rows: Iterable[tuple[str, dict]], subjects: dict[str, str], *, now: dt.datetime
) -> list[dict]:
	"""Append log rows to records without loading them: the one way set-based writers add evidence.

	``rows`` are (parent name, evidence fields), ``subjects`` each parent's normalised address. The caller
	holds the parents' row locks (as every writer of the log does), so ``idx`` = the parent's highest
	``idx`` + 1 cannot collide; it is read with a locking read, which sees rows committed after this
	transaction's snapshot. The rows are sealed into each record's chain here, last. Returns them.
	"""
	rows = list(rows)
	if not rows:
		return []
	last = last_rows(parenttype, sorted({parent for parent, _fields in rows}), for_update=True)
	written = new_rows(parenttype, rows, {parent: idx for parent, (idx, _hash) in last.items()}, now)
	for parent, group in groupby(
		sorted(written, key=lambda row: row["parent"]), key=lambda row: row["parent"]
	):
		chain.seal(list(group), parenttype, parent, last[parent][1], subject=subjects.get(parent))
	# every field any row carries (rows need not all carry the same optional evidence, e.g. an operator)
	columns = list(META_FIELDS) + list(
		dict.fromkeys(f for row in written for f in row if f not in META_FIELDS)
	)
	insert_rows(LOG_DOCTYPE, columns, ([row.get(f) for f in columns] for row in written))
	return written


# Rows per INSERT statement of :func:`insert_rows`.
INSERT_CHUNK = 2000


def insert_rows(doctype: str, columns: list[str], rows: Iterable, chunk: int = INSERT_CHUNK) -> None:
	"""Multi-row INSERTs of ``rows`` (sequences in ``columns`` order), ``chunk`` rows a statement, the
	values passed as parameters. ``frappe.db.bulk_insert`` does the same through the query builder, whose
	SQL building costs more than the database's work on large sets."""
	head = f"insert into `tab{doctype}` ({', '.join(f'`{c}`' for c in columns)}) values "
	one = "(" + ", ".join(["%s"] * len(columns)) + ")"
	batch: list = []
	for row in rows:
		batch.append(row)
		if len(batch) >= chunk:
			frappe.db.sql(head + ", ".join([one] * len(batch)), [v for r in batch for v in r])
			batch = []
	if batch:
		frappe.db.sql(head + ", ".join([one] * len(batch)), [v for r in batch for v in r])


def as_stored(fields: dict) -> dict:
	"""The evidence as the bulk insert stores it, so that it is sealed exactly as stored: a Time goes to
	the database to the second (as ``frappe.db.bulk_insert`` did, the fraction dropped)."""
	return {
		field: value.replace(microsecond=0)
		if EVIDENCE.get(field) == TIME and isinstance(value, dt.time)
		else value
		for field, value in fields.items()
	}


def new_rows(parenttype: str, rows: list[tuple[str, dict]], last_idx: dict[str, int], now) -> list[dict]:
	"""The rows to insert, with Frappe's bookkeeping, numbered after each parent's last row."""
	written = []
	for parent, fields in rows:
		last_idx[parent] += 1
		written.append(
			{
				**as_stored(fields),
				"name": make_autoname("hash", LOG_DOCTYPE),
				"creation": now,
				"modified": now,
				"modified_by": SYSTEM_USER,
				"owner": SYSTEM_USER,
				"docstatus": 0,
				"idx": last_idx[parent],
				"parent": parent,
				"parenttype": parenttype,
				"parentfield": LOG_TABLE_FIELD,
			}
		)
	return written


def latest_per_channel(doctype: str, names: list[str]) -> list:
	"""Each record's latest logged row per channel (event order; the later row wins a tie), in one query:
	``parent``, ``channel``, ``action``, ``event_date``, ``event_time``."""
	if not names:
		return []
	return frappe.db.sql(
		f"""select parent, channel, action, event_date, event_time from (
			select parent, channel, action, event_date, event_time, row_number() over (
				partition by parent, channel order by event_date desc, event_time desc, idx desc) as n
			from `tab{LOG_DOCTYPE}`
			where parenttype = %(doctype)s and parentfield = %(field)s and parent in %(names)s) latest
		where n = 1""",
		{"doctype": doctype, "field": LOG_TABLE_FIELD, "names": tuple(names)},
		as_dict=True,
	)
