"""Frappe adapter over the pure consent engine: read a record's state, ask the engine, write once."""

from __future__ import annotations

import contextlib

import frappe
from frappe import _
from frappe.model.document import Document
from frappe.utils import escape_html, now_datetime

from opt_consent import engine
from opt_consent.integrity import seal_new_rows

# The newest log rows a record loads with (the form shows them; older ones page through api.get_log).
LOG_WINDOW = 50

SOURCE_DESK = "Desk"
SOURCE_API = "API"


class ConsentRefusedError(frappe.ValidationError):
	"""The consent rules refused an action; nothing was written."""


def translate(refusal: engine.Refused) -> str:
	# arguments may echo user input (a method name, a note): escape it, the desk renders messages as HTML
	args = [escape_html(_(arg)) if isinstance(arg, str) else arg for arg in refusal.args_]
	return _(refusal.message).format(*args)


def refuse(refusal: engine.Refused, title: str | None = None):
	frappe.throw(translate(refusal), exc=ConsentRefusedError, title=title or _("Not recorded"))


def request_source() -> str:
	"""Desk when the call comes from the desk (which sends a CSRF token), API otherwise."""
	if getattr(frappe.local, "request", None) is not None and frappe.get_request_header(
		"X-Frappe-CSRF-Token"
	):
		return SOURCE_DESK
	return SOURCE_API


def get_method(name) -> engine.Method | None:
	if not name or not isinstance(name, str):
		return None
	row = frappe.get_cached_value(
		"Opt Method", name, ["name", "enabled", "for_opt_in", "for_opt_out"], as_dict=True
	)
	if not row:
		return None
	return engine.Method(row.name, bool(row.enabled), bool(row.for_opt_in), bool(row.for_opt_out))


def get_policy() -> engine.Policy:
	"""The opt out choices of Opt Consent Settings (cached; an unset value keeps the seed's default)."""
	settings = frappe.get_cached_doc("Opt Consent Settings")
	default = engine.Policy()

	def flag(fieldname: str) -> bool:
		value = settings.get(fieldname)
		return getattr(default, fieldname) if value is None or value == "" else bool(int(value))

	return engine.Policy(
		opt_out_blocks=flag("opt_out_blocks"), text_opt_out_blocks_calls=flag("text_opt_out_blocks_calls")
	)


def last_event(doc: Document, channel: str) -> engine.LastEvent | None:
	"""The latest logged event of ``channel`` on ``doc``.

	A channel's events are logged in event order (an earlier one is refused), so its newest loaded row is its
	latest event; only when the loaded (newest) rows hold none of the channel and there may be older rows
	is the table asked.
	"""
	rows = doc.get("opt_logs") or []
	for row in reversed(rows):
		if row.channel == channel and not row.is_new():
			return engine.LastEvent(
				at=engine.event_datetime(row.event_date, row.event_time), action=row.action
			)
	if len(rows) < LOG_WINDOW:
		return None
	log = frappe.qb.DocType("Opt Log")
	rows = (
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
	if not rows:
		return None
	return engine.LastEvent(
		at=engine.event_datetime(rows[0].event_date, rows[0].event_time), action=rows[0].action
	)


def require(**arguments) -> None:
	"""Refuse, with a clear message, a call that lacks an argument."""
	for name, value in arguments.items():
		if value is None or (isinstance(value, str) and not value.strip()):
			frappe.throw(
				_("{0} is required.").format(_(name.replace("_", " ").title())), title=_("Not recorded")
			)


def require_consent_doctype(doctype) -> None:
	"""Refuse a doctype that is not a consent record (Phone or Email), with the engine's message."""
	if doctype not in engine.DOCTYPES:
		refuse(
			engine.Refused("bad_doctype", engine._("Consent can only be recorded on a Phone or an Email."))
		)


def begin_fresh() -> None:
	"""In a web request that has written nothing, start a new transaction (an API action does this first).

	MariaDB reads (REPEATABLE READ) come from a snapshot taken at the transaction's first read, e.g. the
	request's authentication, which can predate the record's lock. A fresh transaction that locks the
	record before reading it sees every action committed before it.
	"""
	if getattr(frappe.local, "request", None) is not None and not frappe.db.transaction_writes:
		frappe.db.rollback()


def guard_snapshot(doc: Document) -> None:
	"""Refuse to act on a log read from a snapshot older than the locked record (a racing action won).

	The locked read of the record is current; a plain read of its ``modified`` shows the snapshot's view.
	"""
	if str(frappe.db.get_value(doc.doctype, doc.name, "modified")) != str(doc.modified):
		frappe.throw(
			_("{0} {1} was changed by another action while this one waited. Try again.").format(
				_(doc.doctype), doc.name
			),
			exc=frappe.TimestampMismatchError,
			title=_("Not recorded"),
		)


def record_action(
	doctype: str | None,
	name: str | None,
	action: str,
	channel: str | None,
	date,
	time,
	method: str | None,
	*,
	source: str | None = None,
	note: str | None = None,
	check_permission: bool = True,
	message_id: str | None = None,
) -> Document:
	"""Apply one consent action to one record: lock it, check, decide, append the log row, save once.

	Runs in the caller's transaction: any error leaves the database as it was.
	"""
	require(doctype=doctype, name=name, channel=channel)
	require_consent_doctype(doctype)
	doc = frappe.get_doc(doctype, name, for_update=True)
	guard_snapshot(doc)
	if check_permission:
		doc.check_permission("write")

	now = now_datetime()
	try:
		note = engine.check_note(note)
		outcome = engine.decide(
			doctype,
			doc,
			action,
			channel,
			date,
			time,
			method,
			get_method(method),
			now=now,
			last=last_event(doc, channel),
			phone_type=doc.get("phone_type"),
			policy=get_policy(),
		)
	except engine.Refused as refusal:
		refuse(refusal)

	# A savepoint makes the action all-or-nothing even for a caller that catches the error and goes on.
	savepoint = f"opt_action_{frappe.generate_hash(length=10)}"
	frappe.db.savepoint(savepoint)
	try:
		apply_outcome(
			doc, outcome, now=now, source=source or request_source(), note=note, message_id=message_id
		)
		doc.save(ignore_permissions=not check_permission)
	except Exception:
		# a lost connection has nothing to roll back to; the error that matters is the original one
		with contextlib.suppress(Exception):
			frappe.db.rollback(save_point=savepoint)
		raise
	frappe.db.release_savepoint(savepoint)
	return doc


def apply_outcome(
	doc: Document,
	outcome: engine.Outcome,
	*,
	now,
	source: str,
	note: str | None = None,
	message_id: str | None = None,
) -> None:
	"""Set the changed fields and append the log row, marking the save as a consent action.

	An opt out gets its revocation deadline (``honour_by``) counted from when it was received (``now``).
	"""
	from opt_consent.gate_adapter import honour_by

	doc.update(outcome.changes)
	loaded = doc.get("opt_logs") or []
	doc.append(
		"opt_logs",
		{
			**outcome.log,
			# the form holds only the newest rows, so number after the last one, not after the count
			"idx": (loaded[-1].idx if loaded else 0) + 1,
			"recorded_by": frappe.session.user,
			"recorded_at": now,
			"source": source,
			"note": note,
			"message_id": message_id,
			"honour_by": honour_by(now) if outcome.log["action"] == engine.OPT_OUT else None,
		},
	)
	doc.flags.consent_action = True
	# Last, once every evidence field of the new row is final: chain it to the record's log.
	seal_new_rows(doc)
