"""Frappe adapter over the pure consent engine: read a record's state, ask the engine, write once."""

from __future__ import annotations

import contextlib

import frappe
from frappe import _
from frappe.model.document import Document
from frappe.utils import get_system_timezone, now_datetime

from opt_consent.ledger import log, settings
from opt_consent.ledger import site_purposes as purposes
from opt_consent.ledger.refusals import refuse, require, require_consent_doctype
from opt_consent.ledger.rules import engine
from opt_consent.ledger.rules.engine import ActionRequest
from opt_consent.ledger.wording import evidence as wording_evidence
from opt_consent.model.channels import OPT_OUT, RECORDS
from opt_consent.model.evidence import LOG_TABLE_FIELD

SOURCE_DESK = "Desk"
SOURCE_API = "API"


def request_source() -> str:
	"""Desk when the call comes from the desk (which sends a CSRF token), API otherwise."""
	if getattr(frappe.local, "request", None) is not None and frappe.get_request_header(
		"X-Frappe-CSRF-Token"
	):
		return SOURCE_DESK
	return SOURCE_API


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


def lock(doctype: str | None, name: str | None, channel: str | None, check_permission: bool) -> Document:
	"""The record, locked and current, after the caller's permission to write it is checked."""
	require(doctype=doctype, name=name, channel=channel)
	require_consent_doctype(doctype)
	doc = frappe.get_doc(doctype, name, for_update=True)
	guard_snapshot(doc)
	if check_permission:
		doc.check_permission("write")
	return doc


def record_action(request: ActionRequest, *, check_permission: bool = True) -> Document:
	"""Apply one consent action to one record: lock it, check, decide, append the log row, save once.

	What the request's fields mean: :class:`opt_consent.ledger.rules.engine.ActionRequest`. Runs in the caller's
	transaction: any error leaves the database as it was.
	"""
	doc = lock(request.doctype, request.name, request.channel, check_permission)
	now = now_datetime()
	site_zone = get_system_timezone()
	try:
		note = engine.check_note(request.note)
		operator = engine.check_operator(request.operator)
		date, time = engine.to_site_time(request.date, request.time, request.time_zone, site_zone)
		outcome = decide(doc, request, date, time, now)
		worded = wording_evidence(
			request.action, request.channel, request.method, request.wording, outcome.event_at
		)
	except engine.Refused as refusal:
		refuse(refusal)

	evidence = {
		"recorded_at": now,
		"source": request.source or request_source(),
		"note": note,
		"message_id": request.message_id,
		"entered_tz": request.time_zone or site_zone,
		"operator": operator,
		**worded,
	}
	save_action(doc, outcome, evidence, check_permission)
	return doc


def decide(doc: Document, request: ActionRequest, date, time, now) -> engine.Outcome:
	"""The engine's verdict on the locked record for ``request`` at ``date`` and ``time`` (the site's
	clock), with the settings, the channel's latest event and the state of the channel's other purposes."""
	site = purposes.get_purposes()
	channel, method, purpose = request.channel, request.method, request.purpose
	if purpose is not None and not isinstance(purpose, str):
		purpose = str(purpose)
	asked = engine.Request(
		doc.doctype,
		request.action,
		channel,
		date,
		time,
		method,
		settings.get_method(method),
		purpose=(purpose or "").strip() or None,
		wording=request.wording,
		system_revocation=request.system_revocation,
	)
	return engine.decide(
		asked,
		engine.Context(
			doc,
			now=now,
			last=log.last_event(doc, channel),
			phone_type=doc.get(RECORDS[doc.doctype].type_field),
			policy=settings.get_policy(),
			purposes=site,
			others=purposes.others(doc.doctype, doc.name, channel, site) if channel else {},
		),
	)


def save_action(doc: Document, outcome: engine.Outcome, evidence: dict, check_permission: bool) -> None:
	"""Apply the outcome and save, all or nothing: a savepoint holds even for a caller that catches the
	error and goes on."""
	savepoint = f"opt_action_{frappe.generate_hash(length=10)}"
	frappe.db.savepoint(savepoint)
	try:
		apply_outcome(doc, outcome, evidence)
		doc.save(ignore_permissions=not check_permission)
	except Exception:
		# a lost connection has nothing to roll back to; the error that matters is the original one
		with contextlib.suppress(Exception):
			frappe.db.rollback(save_point=savepoint)
		raise
	frappe.db.release_savepoint(savepoint)


def apply_outcome(doc: Document, outcome: engine.Outcome, evidence: dict) -> None:
	"""Set the changed fields and append the log row, marking the save as a consent action.

	An opt out gets its revocation deadline (``honour_by``) counted from when the person revoked (the
	event's date), not from when it was typed in.
	"""
	doc.update(outcome.changes)
	loaded = doc.get(LOG_TABLE_FIELD) or []
	doc.append(
		LOG_TABLE_FIELD,
		{
			**outcome.log,
			**evidence,
			# the form holds only the newest rows, so number after the last one, not after the count
			"idx": (loaded[-1].idx if loaded else 0) + 1,
			"recorded_by": frappe.session.user,
			"phone_type": doc.get("phone_type"),
			"honour_by": settings.honour_by(outcome.event_at) if outcome.log["action"] == OPT_OUT else None,
		},
	)
	doc.flags.consent_action = True
	# Last, once every evidence field of the new row is final: chain it to the record's log.
	log.seal_new_rows(doc)
