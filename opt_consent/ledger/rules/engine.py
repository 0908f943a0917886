"""The consent engine: what an opt in, opt out, text reauth or lapse does to a Phone or Email record.

Pure Python on purpose: no ``import frappe``. Controllers, whitelisted methods and scheduler jobs are
thin adapters that read the record's state, call :func:`decide`, and write what it returns. The channels
and their fields are described once, in :mod:`opt_consent.model.channels`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import KW_ONLY, dataclass, field, replace
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from opt_consent.ledger.rules import purposes as purposes_
from opt_consent.ledger.rules.coverage import blocks_record, covers_default
from opt_consent.model.channels import (
	CELL,
	CHANNELS,
	DOCTYPES,
	GRANTING,
	LAPSED,
	OPT_IN,
	OPT_OUT,
	TEXT,
	TEXT_REAUTH,
	initial_state,
)
from opt_consent.model.messages import Refused, _
from opt_consent.model.moments import event_datetime, parse_date, parse_time

__all__ = ["Refused", "event_datetime", "parse_date", "parse_time"]  # re-exported for callers

# How far back a user may date an event, and how much clock skew between browser and server we forgive.
MAX_BACKDATE = dt.timedelta(days=3650)
FUTURE_TOLERANCE = dt.timedelta(minutes=2)


@dataclass(frozen=True)
class Method:
	"""What the engine needs to know of an Opt Method."""

	name: str
	enabled: bool = True
	for_opt_in: bool = True
	for_opt_out: bool = True
	written: bool = False  # consent given this way is written (47 CFR 64.1200(f)(9)): a signed form, e-sign


@dataclass(frozen=True)
class LastEvent:
	"""The latest logged event of one channel of one record."""

	at: dt.datetime
	action: str


@dataclass(frozen=True)
class Policy:
	"""The admin's choices (Opt Consent Settings). The defaults reproduce the seed exactly."""

	opt_out_blocks: bool = True  # an opt out sets Active = No and checks Do Not Call / Do Not Email
	text_opt_out_blocks_calls: bool = True  # a text opt out touches Active / Do Not Call at all
	# The default Consent Purpose, whose state the record's own fields hold. None: rows are read as they
	# were before purposes existed (every row is the record's).
	default_purpose: str | None = None


SEED_POLICY = Policy()
"""The settings as the seed had them (frozen: one shared value serves as every default)."""


@dataclass(frozen=True)
class Outcome:
	"""What an accepted action does: field changes, and the log entry to append."""

	changes: dict
	log: dict
	event_at: dt.datetime = field(compare=False)


@dataclass(frozen=True)
class ActionRequest:
	"""One consent action on one named record, as asked of
	:func:`opt_consent.ledger.consent.record_action` (plain values, as a caller or a gateway gave them).

	``date`` and ``time`` are read in ``time_zone`` (the operator's; default the site's) and stored in the
	site's. ``operator`` is the original operator as given (e.g. by a history import), kept apart from
	``recorded_by`` (the session user, who entered it). ``wording`` names the Consent Wording version the
	consent was given under: checked (:func:`opt_consent.ledger.wording.evidence`) and sealed with the hash
	of its text. ``purpose`` names the Consent Purpose (default: the site's default purpose); a revocation
	covers what the revocation scope says (:mod:`opt_consent.ledger.rules.purposes`). A ``system_revocation`` is
	an opt out the system received (:class:`Request`).
	"""

	doctype: str | None
	name: str | None
	action: str
	channel: str | None
	date: object
	time: object
	method: str | None
	_: KW_ONLY
	source: str | None = None
	note: str | None = None
	message_id: str | None = None
	time_zone: str | None = None
	system_revocation: bool = False
	operator: str | None = None
	wording: str | None = None
	purpose: str | None = None


def to_site_time(date, time, entered_zone: str | None, site_zone: str) -> tuple[dt.date, dt.time]:
	"""The date and time an operator typed in ``entered_zone``, as the site's clock (``site_zone``) reads it.

	No zone, or the site's own, changes nothing. An unknown zone is refused. A wall time that a daylight
	saving change makes ambiguous is read as its first occurrence.
	"""
	at = event_datetime(date, time)
	if not entered_zone or entered_zone == site_zone:
		return at.date(), at.time()
	try:
		source, target = ZoneInfo(str(entered_zone)), ZoneInfo(site_zone)
	except (ZoneInfoNotFoundError, ValueError):
		raise Refused("bad_zone", _("{0} is not a known time zone."), str(entered_zone)[:60]) from None
	converted = at.replace(tzinfo=source).astimezone(target).replace(tzinfo=None)
	return converted.date(), converted.time()


@dataclass(frozen=True)
class Request:
	"""What a caller asks of the engine: ``action`` on ``channel`` of a record of ``doctype``, at ``date``
	and ``time`` (the site's clock), by the Opt Method named ``method_name``.

	``method`` is the Opt Method named ``method_name`` as found, or None when there is none by that name.
	A ``system_revocation`` (an opt out the system received, e.g. an inbound STOP) is never refused for
	the Opt Method configuration: a revocation must not be lost because a method was disabled or removed.
	``purpose`` names the Consent Purpose (the default when None); ``wording`` the Consent Wording the
	consent was given under.
	"""

	doctype: str
	action: str
	channel: str
	date: object
	time: object
	method_name: str | None
	method: Method | None
	_: KW_ONLY
	purpose: str | None = None
	wording: str | None = None
	system_revocation: bool = False


@dataclass(frozen=True)
class Context:
	"""What the record and the site supply: the record's ``state``, ``now`` (the current time in the site's
	time zone), ``last`` (the channel's latest logged event), the phone's type, the admin's ``policy``,
	the site's ``purposes`` (Consent Purposes and revocation scope) and ``others`` (the latest action
	covering each other purpose of the channel; None: never)."""

	state: Mapping
	_: KW_ONLY
	now: dt.datetime
	last: LastEvent | None = None
	phone_type: str | None = None
	policy: Policy = SEED_POLICY
	purposes: purposes_.Purposes | None = None
	others: Mapping[str, str | None] | None = None


def decide(request: Request, context: Context) -> Outcome:
	"""Decide what ``request`` does to the record ``context`` describes, or raise :class:`Refused`.

	With ``context.purposes`` the action is recorded for ``request.purpose`` (the default when None). A
	purpose that requires written consent is granted only by a ``written`` method with its ``wording``
	named (:func:`opt_consent.ledger.rules.purposes.check_written`); an opt out covers what
	:func:`opt_consent.ledger.rules.purposes.scope_of` says. Without ``purposes`` no purpose is recorded.
	"""
	action, channel, last = request.action, request.channel, context.last
	check_target(request.doctype, action, channel, context.phone_type)
	event_at = event_datetime(request.date, request.time)
	check_moment(event_at, context.now, channel, last)
	if not (request.system_revocation and action == OPT_OUT):
		check_method(request.method_name, request.method, action in GRANTING)
	row = {"channel": channel, "action": action}
	purposes = context.purposes
	if purposes is not None:
		row.update(purpose_of(purposes, request, event_at.date()))
	default = purposes.default if purposes is not None else None
	check_purpose_state(context.state, row, last, default, context.others or {})
	policy = replace(context.policy, default_purpose=default)
	changes = changes_for(request.doctype, action, channel, event_at.date(), request.method_name, policy, row)
	log = {
		**row,
		"event_date": event_at.date(),
		"event_time": event_at.time(),
		"method": request.method_name,
	}
	return Outcome(changes=changes, log=log, event_at=event_at)


def purpose_of(purposes: purposes_.Purposes, request: Request, day: dt.date) -> dict:
	"""The purpose and scope an action's row is sealed with, after the purpose's own checks."""
	action, channel, purpose = request.action, request.channel, request.purpose
	granting = action in GRANTING
	chosen = purposes_.resolve(purposes, purpose, channel, granting)
	if granting:
		purposes_.check_written(chosen, bool(request.method and request.method.written), request.wording)
	scope = purposes_.scope_of(purposes, channel, day, bool(purpose)) if action == OPT_OUT else ""
	return {"purpose": chosen.name, "scope": scope}


def check_purpose_state(
	state: Mapping, row: Mapping, last: LastEvent | None, default: str | None, others: Mapping
) -> None:
	""":func:`check_state` for the purpose (or purposes) the row covers.

	The default purpose is the record's fields; another purpose is its latest covering action. A
	revocation of every purpose is "already out" only when the default purpose is revoked and no other
	purpose holds consent.
	"""
	action, channel = row["action"], row["channel"]
	if covers_default(row, default) and (
		action != OPT_OUT or row.get("scope") != purposes_.ALL or not others
	):
		check_state(state, action, channel, last)
		return
	if action == OPT_OUT and row.get("scope") == purposes_.ALL:
		default_out = (
			not state.get(CHANNELS[channel].opt_field) and last is not None and last.action == OPT_OUT
		)
		if default_out and all(value not in GRANTING for value in others.values()):
			raise Refused("already_out", _("{0} is already opted out."), channel)
		return
	latest = others.get(row.get("purpose"))
	if action == OPT_IN and latest in GRANTING:
		raise Refused("already_in", _("{0} is already opted in for {1}."), channel, row.get("purpose"))
	if action == OPT_OUT and latest == OPT_OUT:
		raise Refused("already_out", _("{0} is already opted out for {1}."), channel, row.get("purpose"))
	if action == TEXT_REAUTH and latest == OPT_OUT:
		raise Refused(
			"reauth_after_opt_out",
			_(
				"Texting was opted out for {0}. A revocation is not reauthorised: record Opt In Texts instead."
			),
			row.get("purpose"),
		)


def check_target(doctype: str, action: str, channel: str, phone_type: str | None) -> None:
	"""The action exists, the channel is one of the record's, and consent may be given on this record.

	A cell-only channel (texting) takes a granting action only on a Cell phone; a revocation is recorded
	whatever the record's type, so that a type changed later can never bring the channel back.
	"""
	if doctype not in DOCTYPES:
		raise Refused("bad_doctype", _("Consent can only be recorded on a Phone or an Email."))
	if action not in (OPT_IN, OPT_OUT, TEXT_REAUTH):
		raise Refused("bad_action", _("{0} is not a consent action."), str(action)[:40])
	if channel not in DOCTYPES[doctype]:
		raise Refused(
			"wrong_channel",
			_("{0} is not a channel of a {1} record. Use one of: {2}."),
			str(channel)[:40],
			doctype,
			", ".join(DOCTYPES[doctype]),
		)
	spec = CHANNELS[channel]
	if action == TEXT_REAUTH and not spec.reauth_label:
		raise Refused("wrong_channel", _("Only texting can be reauthorised."))
	if spec.cell_only and action in GRANTING and phone_type != CELL:
		raise Refused(
			"not_cell",
			_("Texting consent can only be given on a Cell phone; this phone is {0}."),
			phone_type or _("of no type"),
		)


def check_moment(event_at: dt.datetime, now: dt.datetime, channel: str, last: LastEvent | None) -> None:
	"""Not in the future (skew forgiven), not too old, not before the channel's latest logged event."""
	if event_at > now + FUTURE_TOLERANCE:
		raise Refused("future", _("The date and time {0} is in the future."), _fmt(event_at))
	if event_at < now - MAX_BACKDATE:
		raise Refused(
			"too_old", _("The date {0} is more than 10 years in the past."), event_at.date().isoformat()
		)
	if last is not None and event_at < last.at:
		raise Refused(
			"out_of_order",
			_("The date and time {0} is earlier than the latest {1} event on this record ({2}: {3})."),
			_fmt(event_at),
			channel,
			last.action,
			_fmt(last.at),
		)


def check_state(state: Mapping, action: str, channel: str, last: LastEvent | None) -> None:
	"""Not already in, not already out, and a revocation is not "reauthorised"."""
	opted_in = bool(state.get(CHANNELS[channel].opt_field))
	revoked = not opted_in and last is not None and last.action == OPT_OUT
	if action == OPT_IN and opted_in:
		raise Refused("already_in", _("{0} is already opted in."), channel)
	if action == OPT_OUT and revoked:
		raise Refused("already_out", _("{0} is already opted out."), channel)
	if action == TEXT_REAUTH and revoked:
		raise Refused(
			"reauth_after_opt_out",
			_("Texting was opted out on {0}. A revocation is not reauthorised: record Opt In Texts instead."),
			_fmt(last.at),
		)


def check_method(method_name: str | None, method: Method | None, granting: bool) -> None:
	if not method_name:
		raise Refused("missing_method", _("Method is required."))
	if method is None:
		raise Refused("unknown_method", _("{0} is not a known Opt Method."), str(method_name)[:140])
	if not method.enabled:
		raise Refused("disabled_method", _("Opt Method {0} is disabled."), method.name)
	if granting and not method.for_opt_in:
		raise Refused("method_direction", _("Opt Method {0} cannot be used to opt in."), method.name)
	if not granting and not method.for_opt_out:
		raise Refused("method_direction", _("Opt Method {0} cannot be used to opt out."), method.name)


def changes_for(
	doctype: str,
	action: str,
	channel: str,
	date: dt.date,
	method_name: str | None,
	policy: Policy = SEED_POLICY,
	row: Mapping | None = None,
) -> dict:
	"""The field changes of an accepted action; also used to replay a log.

	``row`` (its ``purpose`` and ``scope``) says whether the action speaks for the default purpose, whose
	state the record's fields hold: an action for another purpose only reopens the record on an opt in,
	and an opt out blocks the record only when it covers every purpose
	(:func:`opt_consent.ledger.rules.coverage.blocks_record`).
	"""
	spec = CHANNELS[channel]
	row = row or {}
	if not covers_default(row, policy.default_purpose):
		return {"active": 1, spec.block_field: 0} if action == OPT_IN else {}
	if action == OPT_IN:
		return {
			spec.opt_field: 1,
			spec.in_date: date,
			spec.in_method: method_name,
			"active": 1,
			spec.block_field: 0,
		}
	if action == OPT_OUT:
		changes = {spec.opt_field: 0, spec.out_date: date, spec.out_method: method_name}
		blocking = policy.opt_out_blocks and (channel != TEXT or policy.text_opt_out_blocks_calls)
		if blocking and blocks_record(row, policy.default_purpose):
			changes.update({"active": 0, spec.block_field: 1})
		return changes
	if action == TEXT_REAUTH:
		# A reauthorisation renews texting consent only: it leaves Active and Do Not Call as they are.
		return {spec.opt_field: 1, spec.in_date: date, spec.in_method: method_name}
	if action == LAPSED:
		return {spec.opt_field: 0}
	raise ValueError(action)


def replay(doctype: str, logs: Iterable[Mapping], policy: Policy = SEED_POLICY) -> dict:
	"""The record state that the log, applied in order to a new record, produces."""
	state = initial_state(doctype)
	for row in logs:
		state.update(
			changes_for(
				doctype,
				row["action"],
				row["channel"],
				parse_date(row["event_date"]),
				row.get("method"),
				policy,
				row,
			)
		)
	return state


def _fmt(value: dt.datetime) -> str:
	return value.strftime("%Y-%m-%d %H:%M:%S")


MAX_NOTE_LENGTH = 1000
_MARKUP_RE = re.compile(r"<\s*[A-Za-z!/?]")
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def check_note(note) -> str | None:
	"""The note of an action as given, or :class:`Refused`: plain text of at most ``MAX_NOTE_LENGTH``."""
	if note is None or note == "":
		return None
	if not isinstance(note, str):
		raise Refused("bad_note", _("Note must be text."))
	if len(note) > MAX_NOTE_LENGTH:
		raise Refused(
			"long_note", _("Note is {0} characters long; the limit is {1}."), len(note), MAX_NOTE_LENGTH
		)
	if _MARKUP_RE.search(note):
		raise Refused("markup_note", _("Note must be plain text: HTML or script markup is not accepted."))
	if _CONTROL_RE.search(note):
		raise Refused("bad_note", _("Note contains control characters."))
	return note


MAX_OPERATOR_LENGTH = 140


def check_operator(operator) -> str | None:
	"""The original operator as given (e.g. by a history import), or :class:`Refused`: one line of plain
	text of at most ``MAX_OPERATOR_LENGTH`` characters. Empty is None (the row's ``recorded_by`` stands)."""
	if operator is None or (isinstance(operator, str) and not operator.strip()):
		return None
	if not isinstance(operator, str):
		raise Refused("bad_operator", _("Operator must be text."))
	operator = operator.strip()
	if len(operator) > MAX_OPERATOR_LENGTH:
		raise Refused(
			"long_operator",
			_("Operator is {0} characters long; the limit is {1}."),
			len(operator),
			MAX_OPERATOR_LENGTH,
		)
	if _MARKUP_RE.search(operator):
		raise Refused(
			"markup_operator", _("Operator must be plain text: HTML or script markup is not accepted.")
		)
	if _CONTROL_RE.search(operator) or "\n" in operator or "\r" in operator or "\t" in operator:
		raise Refused("bad_operator", _("Operator must be one line without control characters."))
	return operator
