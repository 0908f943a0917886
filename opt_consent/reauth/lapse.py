"""Frappe adapter of the texting reauthorisation rule (:mod:`opt_consent.reauth.rules`).

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
from collections.abc import Callable, Sequence
from itertools import groupby

import frappe
from frappe.query_builder import Case
from frappe.query_builder.functions import Coalesce
from frappe.utils import get_system_timezone, getdate, now_datetime, nowdate
from pypika.terms import Interval

from opt_consent.ledger.log import SYSTEM_USER, insert_log_rows
from opt_consent.ledger.site_purposes import default_name
from opt_consent.model.channels import LAPSED, PHONE, RECORDS, TEXT
from opt_consent.reauth import rules as reauth
from opt_consent.reauth.settings import get_rules

SOURCE_SCHEDULER = "Scheduler"
BATCH_SIZE = 500


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
		and not (rows and rows[-1].channel == TEXT)
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


def recompute_phones(
	rules: reauth.Rules | None = None,
	on: dt.date | None = None,
	commit: Callable[[], None] | None = None,
	after: str | None = None,
	upto: str | None = None,
) -> int:
	"""Store the rule's answer on every Phone whose Text Opt is checked, set-based, per period.

	For each period (the default, each per-method override) a plain read finds the phones whose stored
	values differ; they are updated in batches by name, with the same condition re-applied by the UPDATE
	(which reads the current rows), so only the rows that change are locked and get a new ``modified``.
	Phones already lapsed by the job keep their lapse: lengthening the period does not restore consent, a
	Text Reauth does. ``commit`` (a background job's) is called after every batch. ``after`` / ``upto``
	narrow it to the phones named after ``after`` and up to ``upto`` (one chunk of a run). Returns the count.
	"""
	rules = rules or get_rules()
	on = on or today()
	phone = frappe.qb.DocType(PHONE)
	written = 0
	for condition, values in period_updates(rules, on):
		if after is not None:
			condition &= phone.name > after
		if upto is not None:
			condition &= phone.name <= upto
		written += update_in_batches(condition, values, commit)
	return written


def period_updates(rules: reauth.Rules, on: dt.date) -> list[tuple]:
	"""(condition, values) per period: which phones of that period hold stale values, and the new ones."""
	phone = frappe.qb.DocType(PHONE)
	overridden = [method for method, _period in rules.method_periods]
	groups = [(rules.period_days, None)]  # the default period: every method without an override
	groups += [(period, phone.text_opt_in_method == method) for method, period in rules.method_periods]
	updates = []
	for period, group in groups:
		condition = (phone.text_opt == 1) & phone.text_opt_in_date.isnotnull()
		if group is not None:
			condition &= group
		elif overridden:
			condition &= phone.text_opt_in_method.isnull() | phone.text_opt_in_method.notin(overridden)
		values, stale = period_values(phone, period, rules.lead_days, on)
		updates.append((condition & stale, values))
	return updates


def period_values(phone, period: int, lead_days: int, on: dt.date) -> tuple[dict, object]:
	"""The reauthorisation fields of a phone under ``period``, as database expressions (the rule of
	:mod:`opt_consent.reauth.rules`, computed by the database), and the condition that they differ."""
	status = Coalesce(phone.text_reauth_status, "")
	if period <= 0:
		values = {
			"text_reauth_status": reauth.NEVER,
			"text_reauth_due_on": None,
			"text_consent_lapses_on": None,
		}
		stale = (
			(status != reauth.NEVER)
			| phone.text_reauth_due_on.isnotnull()
			| phone.text_consent_lapses_on.isnotnull()
		)
		return values, stale
	lapses_on = phone.text_opt_in_date + Interval(days=period)
	due_on = phone.text_opt_in_date + Interval(days=max(period - lead_days, 0))
	new_status = Case().when(lapses_on <= on, reauth.LAPSED).when(due_on <= on, reauth.DUE).else_(reauth.OK)
	values = {
		"text_reauth_status": new_status,
		"text_reauth_due_on": due_on,
		"text_consent_lapses_on": lapses_on,
	}
	stale = (
		(status != new_status)
		| phone.text_reauth_due_on.isnull()
		| (phone.text_reauth_due_on != due_on)
		| phone.text_consent_lapses_on.isnull()
		| (phone.text_consent_lapses_on != lapses_on)
	)
	return values, stale


def update_in_batches(condition, values: dict, commit: Callable[[], None] | None) -> int:
	"""Write ``values`` to the phones matching ``condition``, by batches of names (the UPDATE re-applies the
	condition, so a phone changed meanwhile is written only if still stale)."""
	phone = frappe.qb.DocType(PHONE)
	names = frappe.qb.from_(phone).select(phone.name).where(condition).orderby(phone.name).run(pluck=True)
	now, user = now_datetime(), frappe.session.user
	for start in range(0, len(names), BATCH_SIZE):
		query = frappe.qb.update(phone).set(phone.modified, now).set(phone.modified_by, user)
		for fieldname, value in values.items():
			query = query.set(phone[fieldname], value)
		query.where(phone.name.isin(names[start : start + BATCH_SIZE])).where(condition).run()
		if commit:
			commit()
	return len(names)


def recompute_job() -> None:
	"""Background job (enqueued when the settings are saved): recompute, committing batch by batch."""
	recompute_phones(commit=commit_batch)


def commit_batch() -> None:
	"""A background job commits each batch it finishes, so it holds row locks for one batch at a time and a
	crash leaves only whole batches (a re-run finishes the rest). Never called from a web request."""
	frappe.db.commit()  # nosemgrep: a job's per-batch commit


# The daily job -----------------------------------------------------------------------------------------------


def run(
	on: dt.date | None = None, batch_size: int = BATCH_SIZE, commit: Callable[[], None] | None = None
) -> int:
	"""Lapse every Phone whose texting consent lapsed by ``on`` (today), then mark the newly due ones.

	Returns how many phones were lapsed. Without ``commit`` it runs in the caller's transaction; the
	scheduled job passes :func:`commit_batch`, so each batch's locks are released as soon as it is done.
	"""
	rules = get_rules()
	on = on or today()
	# heal the stored dates first (a consent action racing a settings change may have used the old rules)
	recompute_phones(rules, on, commit)
	lapsed = lapse_range(
		on,
		rules,
		by_name=backlog(on),
		batch_size=batch_size,
		on_batch=(lambda _n: commit()) if commit else None,
	)
	mark_due(on)
	return lapsed


def lapse_range(
	on: dt.date,
	rules: reauth.Rules,
	after: tuple | None = None,
	upto: tuple | None = None,
	by_name: bool = False,
	batch_size: int = BATCH_SIZE,
	on_batch: Callable[[int], None] | None = None,
) -> int:
	"""Lapse the candidates whose key (``(name,)`` when ``by_name``, else ``(lapse date, name)``) is after
	``after`` and at most ``upto``: the whole walk of :func:`run`, or one chunk of it
	(:mod:`opt_consent.jobs.runs`). ``on_batch`` gets each batch's count of phones lapsed, once the batch
	is written (a job commits there). Returns how many phones were lapsed.

	Idempotent: a phone lapsed is no candidate any more, and each batch re-checks the rule on the locked rows,
	so running the same range twice, or two overlapping ranges at once, lapses each phone once.
	"""

	def walk_key(key):  # find_lapse_candidates takes (lapse date, name) keys in both orders
		return (None, key[0]) if by_name and key is not None else key

	lapsed, position = 0, walk_key(after)
	while candidates := find_lapse_candidates(on, position, batch_size, by_name=by_name, upto=walk_key(upto)):
		done = len(lapse_batch([name for _lapses_on, name in candidates], rules, on))
		lapsed += done
		position = candidates[-1]
		if on_batch:
			on_batch(done)
	return lapsed


# Above this share of the phones with texting consent lapsing in one run (a backlog, e.g. the first run after
# the rule is switched on), the job walks the table in primary-key order: contiguous batches cost less than
# the scattered rows the lapse-date index leads to. Below it (a daily run), the index is walked.
BACKLOG_SHARE = 0.2


def backlog(on: dt.date) -> bool:
	"""Whether so many phones lapse by ``on`` that walking the table beats walking the lapse-date index."""
	lapsing = frappe.db.count(PHONE, {"text_opt": 1, "text_consent_lapses_on": ["<=", on]})
	if not lapsing:
		return False
	return lapsing > BACKLOG_SHARE * frappe.db.count(PHONE, {"text_opt": 1})


def find_lapse_candidates(
	on: dt.date,
	after: tuple[dt.date, str] | None = None,
	limit: int = BATCH_SIZE,
	by_name: bool = False,
	upto: tuple[dt.date, str] | None = None,
) -> list[tuple[dt.date, str]]:
	"""``(lapse date, name)`` of phones with texting consent whose stored lapse date has come, read without
	a lock, after ``after`` and up to ``upto`` (a chunk's end): keyset paging, so a batch starts where the
	last one ended and never walks again over the rows earlier batches lapsed (or re-checked and kept).

	In the order of the index (text_opt, text_consent_lapses_on, name), or ``by_name`` in primary-key order
	(see :data:`BACKLOG_SHARE`; only the name of ``after`` and ``upto`` counts then).
	"""
	phone = frappe.qb.DocType(PHONE)
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
		if upto:
			query = query.where(phone.name <= upto[1])
	else:
		query = query.orderby(phone.text_consent_lapses_on).orderby(phone.name)
		if after:
			last_date, last_name = after
			query = query.where(
				(phone.text_consent_lapses_on > last_date)
				| ((phone.text_consent_lapses_on == last_date) & (phone.name > last_name))
			)
		if upto:
			end_date, end_name = upto
			query = query.where(
				(phone.text_consent_lapses_on < end_date)
				| ((phone.text_consent_lapses_on == end_date) & (phone.name <= end_name))
			)
	return [(getdate(lapses_on), name) for lapses_on, name in query.run()]


def lapse_batch(names: Sequence[str], rules: reauth.Rules, on: dt.date) -> list[str]:
	"""Lock ``names``, re-check the rule on the locked rows, lapse those still lapsed. Returns their names.

	The lock is the one :func:`opt_consent.ledger.consent.record_action` takes, so a staff action on one of
	these phones waits for this transaction (and then sees the lapse), or this waits for it (and re-checks).
	"""
	if not names:
		return []
	locked = lock_phones(names)
	due: list[tuple[int, dt.date, str]] = []
	for row in locked.values():
		result = reauth.assess(rules, row.text_opt, _date(row.text_opt_in_date), row.text_opt_in_method, on)
		if result.status == reauth.LAPSED:
			due.append((rules.period_for(row.text_opt_in_method), result.lapses_on, row.name))
	if due:
		write_lapses(sorted(due), locked)
	return [name for _period, _date_, name in sorted(due)]


def lock_phones(names: Sequence[str]) -> dict:
	"""The phones, locked (``SELECT ... FOR UPDATE``) in name order, with what a lapse reads and seals."""
	phone = frappe.qb.DocType(PHONE)
	rows = (
		frappe.qb.from_(phone)
		.select(
			phone.name,
			phone.text_opt,
			phone.text_opt_in_date,
			phone.text_opt_in_method,
			phone[RECORDS[PHONE].key_field].as_("subject"),
			phone.phone_type,
		)
		.where(phone.name.isin(list(names)))
		.orderby(phone.name)
		.for_update()
	).run(as_dict=True)
	return {row.name: row for row in rows}


def write_lapses(due: list[tuple[int, dt.date, str]], locked: dict) -> None:
	"""One UPDATE per period (the default, and each per-method override in use): the lapse date is the
	authorisation date plus that period, computed by the database as the rule computes it. Then the log
	rows, sealed, in one insert."""
	phone = frappe.qb.DocType(PHONE)
	now = now_datetime()
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
	purpose = default_name()  # the default purpose's consent is what the record's Text Opt holds
	insert_log_rows(
		PHONE,
		[(name, lapsed_log(lapses_on, now, locked[name].phone_type, purpose)) for _p, lapses_on, name in due],
		{name: locked[name].subject for _p, _d, name in due},
		now=now,
	)


def lapsed_log(
	lapses_on: dt.date, now: dt.datetime, phone_type: str | None, purpose: str | None = None
) -> dict:
	"""The evidence of a lapse of the default purpose's texting consent: dated the lapse date at midnight,
	recorded by the system."""
	return {
		"channel": TEXT,
		"action": LAPSED,
		"event_date": lapses_on,
		"event_time": dt.time(0, 0, 0),
		"method": None,
		"recorded_by": SYSTEM_USER,
		"recorded_at": now,
		"source": SOURCE_SCHEDULER,
		"note": None,
		"entered_tz": get_system_timezone(),
		"phone_type": phone_type,
		"purpose": purpose or default_name(),
	}


def mark_due(on: dt.date) -> None:
	"""Phones whose due date has come become Due (indexed range on the due date)."""
	phone = frappe.qb.DocType(PHONE)
	(
		frappe.qb.update(phone)
		.set(phone.text_reauth_status, reauth.DUE)
		.set(phone.modified, now_datetime())
		.set(phone.modified_by, SYSTEM_USER)
		.where(phone.text_reauth_due_on <= on)
		.where(phone.text_reauth_status == reauth.OK)
		.where(phone.text_opt == 1)
	).run()
