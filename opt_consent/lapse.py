"""Frappe adapter of the texting reauthorisation rule (:mod:`opt_consent.reauth`).

- :func:`on_phone_validate`: after every consent action on a Phone, store what the rule says about its
  texting consent (status, due date, lapse date) on the Phone. These fields are indexed, so the job and the
  views find phones with range queries.
- :func:`recompute_phones`: when the settings change (and at the start of every run of the job), recompute
  those fields for every Phone with texting consent, set-based, per period (the default and each
  per-method override), writing only the rows that change.
- :func:`run` (the daily job, :mod:`opt_consent.tasks`): lapse every Phone whose lapse date has come.
  Set-based and batched: an indexed read finds the candidates; each batch locks its rows
  (``SELECT ... FOR UPDATE``), re-checks the rule on the locked rows, then writes with one bulk UPDATE
  and one bulk INSERT of log rows. A phone reauthorised between the read and the lock is not lapsed;
  a phone already lapsed is no candidate, so a second run writes nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from itertools import groupby

import frappe
from frappe.model.naming import make_autoname
from frappe.query_builder import Case
from frappe.query_builder.functions import Coalesce
from frappe.utils import getdate, now_datetime, nowdate
from pypika.terms import Interval

from opt_consent import chain, engine, integrity, reauth

SETTINGS = "Opt Consent Settings"
# Who records a lapse: the job runs as the system, not as a member of staff.
SYSTEM_USER = "Administrator"
SOURCE_SCHEDULER = "Scheduler"
BATCH_SIZE = 500

LOG_META_FIELDS = (
	"name",
	"creation",
	"modified",
	"modified_by",
	"owner",
	"docstatus",
	"idx",
	"parent",
	"parenttype",
	"parentfield",
)


def get_rules() -> reauth.Rules:
	settings = frappe.get_cached_doc(SETTINGS)
	return reauth.Rules.make(
		settings.get("text_reauth_days"),
		settings.get("reauth_reminder_days"),
		[(row.method, row.period_days) for row in settings.get("method_periods") or ()],
	)


def today() -> dt.date:
	return getdate(nowdate())


def _date(value) -> dt.date | None:
	return getdate(value) if value else None


# Consent actions on one Phone -----------------------------------------------------------------------------


def on_phone_validate(doc, method=None) -> None:
	"""``doc_events`` hook: a consent action was recorded, store the reauthorisation state it leads to."""
	if doc.flags.consent_action:
		set_reauth_fields(doc)


def set_reauth_fields(doc, rules: reauth.Rules | None = None, on: dt.date | None = None) -> None:
	rows = doc.get("opt_logs") or ()
	if (
		not doc.get("text_opt")
		and doc.get("text_reauth_status") == reauth.LAPSED
		and not (rows and rows[-1].channel == engine.TEXT)
	):
		return  # a lapse stays on show until the next text action (a call action does not clear it)
	result = reauth.assess(
		rules or get_rules(),
		doc.get("text_opt"),
		_date(doc.get("text_opt_in_date")),
		doc.get("text_opt_in_method"),
		on or today(),
	)
	doc.text_reauth_status = result.status
	doc.text_reauth_due_on = result.due_from
	doc.text_consent_lapses_on = result.lapses_on


# Settings changed: every Phone with texting consent --------------------------------------------------------


def recompute_phones(rules: reauth.Rules | None = None, on: dt.date | None = None) -> int:
	"""Store the rule's answer on every Phone whose Text Opt is checked, set-based, per period.

	For each period (the default, each per-method override) a plain read finds the phones whose stored
	values differ; they are updated in batches by name, with the same condition re-applied by the UPDATE
	(which reads the current rows), so only the rows that change are locked and get a new ``modified``.
	Phones already lapsed by the job keep their lapse: lengthening the period does not restore consent, a
	Text Reauth does. Returns how many phones were written.
	"""
	rules = rules or get_rules()
	on = on or today()
	phone = frappe.qb.DocType("Phone")
	overridden = [method for method, _period in rules.method_periods]
	groups = [(rules.period_days, None)]  # the default period: every method without an override
	groups += [(period, phone.text_opt_in_method == method) for method, period in rules.method_periods]

	now, user, written = now_datetime(), frappe.session.user, 0
	status = Coalesce(phone.text_reauth_status, "")
	for period, group in groups:
		condition = (phone.text_opt == 1) & phone.text_opt_in_date.isnotnull()
		if group is not None:
			condition &= group
		elif overridden:
			condition &= phone.text_opt_in_method.isnull() | phone.text_opt_in_method.notin(overridden)
		if period <= 0:
			values = {
				"text_reauth_status": reauth.NEVER,
				"text_reauth_due_on": None,
				"text_consent_lapses_on": None,
			}
			condition &= (
				(status != reauth.NEVER)
				| phone.text_reauth_due_on.isnotnull()
				| phone.text_consent_lapses_on.isnotnull()
			)
		else:
			lapses_on = phone.text_opt_in_date + Interval(days=period)
			due_on = phone.text_opt_in_date + Interval(days=max(period - rules.lead_days, 0))
			new_status = (
				Case().when(lapses_on <= on, reauth.LAPSED).when(due_on <= on, reauth.DUE).else_(reauth.OK)
			)
			values = {
				"text_reauth_status": new_status,
				"text_reauth_due_on": due_on,
				"text_consent_lapses_on": lapses_on,
			}
			condition &= (
				(status != new_status)
				| phone.text_reauth_due_on.isnull()
				| (phone.text_reauth_due_on != due_on)
				| phone.text_consent_lapses_on.isnull()
				| (phone.text_consent_lapses_on != lapses_on)
			)
		names = frappe.qb.from_(phone).select(phone.name).where(condition).orderby(phone.name).run(pluck=True)
		for start in range(0, len(names), BATCH_SIZE):
			query = frappe.qb.update(phone).set(phone.modified, now).set(phone.modified_by, user)
			for fieldname, value in values.items():
				query = query.set(phone[fieldname], value)
			query.where(phone.name.isin(names[start : start + BATCH_SIZE])).where(condition).run()
		written += len(names)
	return written


# The daily job -----------------------------------------------------------------------------------------------


def run(on: dt.date | None = None, batch_size: int = BATCH_SIZE) -> int:
	"""Lapse every Phone whose texting consent lapsed by ``on`` (today), then mark the newly due ones.

	Returns how many phones were lapsed. Runs in the caller's transaction (the scheduler commits).
	"""
	rules = get_rules()
	on = on or today()
	# heal the stored dates first (a consent action racing a settings change may have used the old rules)
	recompute_phones(rules, on)
	lapsed, after = 0, None
	by_name = backlog(on)
	while candidates := find_lapse_candidates(on, after, batch_size, by_name=by_name):
		lapsed += len(lapse_batch([name for _lapses_on, name in candidates], rules, on))
		after = candidates[-1]
	mark_due(on)
	return lapsed


# Above this share of the phones with texting consent lapsing in one run (a backlog, e.g. the first run after
# the rule is switched on), the job walks the table in primary-key order: contiguous batches cost less than
# the scattered rows the lapse-date index leads to. Below it (a daily run), the index is walked.
BACKLOG_SHARE = 0.2


def backlog(on: dt.date) -> bool:
	"""Whether so many phones lapse by ``on`` that walking the table beats walking the lapse-date index."""
	lapsing = frappe.db.count("Phone", {"text_opt": 1, "text_consent_lapses_on": ["<=", on]})
	if not lapsing:
		return False
	return lapsing > BACKLOG_SHARE * frappe.db.count("Phone", {"text_opt": 1})


def find_lapse_candidates(
	on: dt.date, after: tuple[dt.date, str] | None = None, limit: int = BATCH_SIZE, by_name: bool = False
) -> list[tuple[dt.date, str]]:
	"""``(lapse date, name)`` of phones with texting consent whose stored lapse date has come, read without
	a lock, after ``after``: keyset paging, so a batch starts where the last one ended and never walks again
	over the rows earlier batches lapsed (or re-checked and kept).

	In the order of the index (text_opt, text_consent_lapses_on, name), or ``by_name`` in primary-key order
	(see :data:`BACKLOG_SHARE`).
	"""
	phone = frappe.qb.DocType("Phone")
	query = (
		frappe.qb.from_(phone)
		.select(phone.text_consent_lapses_on, phone.name)
		.where(phone.text_opt == 1)
		.where(phone.text_consent_lapses_on <= on)
		.limit(limit)
	)
	if by_name:
		query = query.orderby(phone.name)
		if after:
			query = query.where(phone.name > after[1])
	else:
		query = query.orderby(phone.text_consent_lapses_on).orderby(phone.name)
		if after:
			last_date, last_name = after
			query = query.where(
				(phone.text_consent_lapses_on > last_date)
				| ((phone.text_consent_lapses_on == last_date) & (phone.name > last_name))
			)
	return [(getdate(lapses_on), name) for lapses_on, name in query.run()]


def lapse_phones(names: Sequence[str], rules: reauth.Rules, on: dt.date) -> int:
	"""Lock ``names``, re-check the rule on the locked rows, lapse those still lapsed. Returns the count."""
	return len(lapse_batch(names, rules, on))


def lapse_batch(names: Sequence[str], rules: reauth.Rules, on: dt.date) -> list[str]:
	"""Lock ``names``, re-check the rule on the locked rows, lapse those still lapsed. Returns their names.

	The lock is the one :func:`opt_consent.consent.record_action` takes, so a staff action on one of these
	phones waits for this transaction (and then sees the lapse), or this waits for it (and then re-checks).
	"""
	if not names:
		return []
	phone = frappe.qb.DocType("Phone")
	locked = (
		frappe.qb.from_(phone)
		.select(phone.name, phone.text_opt, phone.text_opt_in_date, phone.text_opt_in_method)
		.where(phone.name.isin(list(names)))
		.orderby(phone.name)
		.for_update()
	).run(as_dict=True)

	due: list[tuple[int, dt.date, str]] = []
	for row in locked:
		result = reauth.assess(rules, row.text_opt, _date(row.text_opt_in_date), row.text_opt_in_method, on)
		if result.status == reauth.LAPSED:
			due.append((rules.period_for(row.text_opt_in_method), result.lapses_on, row.name))
	if not due:
		return []

	now = now_datetime()
	due.sort()
	# one UPDATE per period (the default, and each per-method override in use): the lapse date is the
	# authorisation date plus that period, computed by the database as the rule computes it
	for period, group in groupby(due, key=lambda item: item[0]):
		(
			frappe.qb.update(phone)
			.set(phone.text_opt, 0)
			.set(phone.text_reauth_status, reauth.LAPSED)
			.set(phone.text_consent_lapses_on, phone.text_opt_in_date + Interval(days=period))
			.set(phone.modified, now)
			.set(phone.modified_by, SYSTEM_USER)
			.where(phone.name.isin([name for _period, _date_, name in group]))
		).run()
	insert_log_rows(
		engine.PHONE, [(name, lapsed_log(lapses_on, now)) for _p, lapses_on, name in due], now=now
	)
	return [name for _period, _date_, name in due]


def lapsed_log(lapses_on: dt.date, now: dt.datetime) -> dict:
	"""The evidence of a lapse: dated the lapse date at midnight, recorded by the system."""
	return {
		"channel": engine.TEXT,
		"action": engine.LAPSED,
		"event_date": lapses_on,
		"event_time": dt.time(0, 0, 0),
		"method": None,
		"recorded_by": SYSTEM_USER,
		"recorded_at": now,
		"source": SOURCE_SCHEDULER,
		"note": None,
	}


def insert_log_rows(parenttype: str, rows: Iterable[tuple[str, dict]], *, now: dt.datetime) -> list[dict]:
	"""Append log rows to records without loading them: the one way set-based writers add evidence.

	``rows`` are (parent name, evidence fields). The caller holds the parents' row locks (as every writer
	of the log does), so ``idx`` = the parent's highest ``idx`` + 1 cannot collide; it is read with a locking
	read, which sees rows committed after this transaction's snapshot. The rows are sealed into each
	record's hash chain (:mod:`opt_consent.integrity`) here, last, once every evidence field is final: any
	further set-based writer of log rows must come through this function. Returns the rows written.
	"""
	rows = list(rows)
	if not rows:
		return []
	parents = sorted({parent for parent, _fields in rows})
	last = integrity.last_rows(parenttype, parents, for_update=True)
	last_idx = {parent: idx for parent, (idx, _hash) in last.items()}
	written = []
	for parent, fields in rows:
		last_idx[parent] += 1
		written.append(
			{
				**fields,
				"name": make_autoname("hash", "Opt Log"),
				"creation": now,
				"modified": now,
				"modified_by": SYSTEM_USER,
				"owner": SYSTEM_USER,
				"docstatus": 0,
				"idx": last_idx[parent],
				"parent": parent,
				"parenttype": parenttype,
				"parentfield": "opt_logs",
			}
		)
	prev_hashes = {parent: row_hash for parent, (_idx, row_hash) in last.items()}
	for parent, group in groupby(
		sorted(written, key=lambda row: row["parent"]), key=lambda row: row["parent"]
	):
		chain.seal(list(group), parenttype, parent, prev_hashes[parent])
	columns = list(LOG_META_FIELDS) + [f for f in written[0] if f not in LOG_META_FIELDS]
	frappe.db.bulk_insert("Opt Log", columns, [[row.get(f) for f in columns] for row in written])
	return written


def mark_due(on: dt.date) -> None:
	"""Phones whose due date has come become Due (indexed range on the due date)."""
	phone = frappe.qb.DocType("Phone")
	(
		frappe.qb.update(phone)
		.set(phone.text_reauth_status, reauth.DUE)
		.set(phone.modified, now_datetime())
		.set(phone.modified_by, SYSTEM_USER)
		.where(phone.text_reauth_due_on <= on)
		.where(phone.text_reauth_status == reauth.OK)
		.where(phone.text_opt == 1)
	).run()
