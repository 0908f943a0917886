"""The consent engine: what an opt in, opt out, text reauth or lapse does to a Phone or Email record.

Pure Python on purpose: no ``import frappe``. Controllers, whitelisted methods and scheduler jobs are
thin adapters that read the record's state, call :func:`decide`, and write what it returns. The channels
and their fields are described once, in :mod:`opt_consent.core.channels`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from opt_consent.core.channels import (
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
from opt_consent.core.messages import Refused, _

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


@dataclass(frozen=True)
class Outcome:
	"""What an accepted action does: field changes, and the log entry to append."""

	changes: dict
	log: dict
	event_at: dt.datetime = field(compare=False)


_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TIME_RE = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?$")


def parse_date(value) -> dt.date:
	"""A date from a ``date``, a ``datetime`` or an ISO ``YYYY-MM-DD`` string; :class:`Refused` otherwise."""
	if value is None or value == "":
		raise Refused("missing_date", _("Date is required."))
	if isinstance(value, dt.datetime):
		return value.date()
	if isinstance(value, dt.date):
		return value
	if isinstance(value, str) and _DATE_RE.match(value.strip()):
		try:
			return dt.date.fromisoformat(value.strip())
		except ValueError:
			pass
	raise Refused("bad_date", _("{0} is not a valid date. Use YYYY-MM-DD."), str(value)[:40])


def parse_time(value) -> dt.time:
	"""A time from a ``time``, a ``timedelta`` (as the database returns it) or an ``HH:MM[:SS]`` string."""
	if value is None or value == "":
		raise Refused("missing_time", _("Time is required."))
	if isinstance(value, dt.time):
		return value.replace(tzinfo=None)
	if isinstance(value, dt.timedelta):
		seconds = value.total_seconds()
		if 0 <= seconds < 86400:
			return (dt.datetime.min + value).time()
	elif isinstance(value, str):
		match = _TIME_RE.match(value.strip())
		if match:
			hour, minute, second, fraction = match.groups()
			try:
				return dt.time(int(hour), int(minute), int(second or 0), int((fraction or "0").ljust(6, "0")))
			except ValueError:
				pass
	raise Refused("bad_time", _("{0} is not a valid time. Use HH:MM or HH:MM:SS."), str(value)[:40])


def event_datetime(date, time) -> dt.datetime:
	return dt.datetime.combine(parse_date(date), parse_time(time))


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


def decide(
	doctype: str,
	state: Mapping,
	action: str,
	channel: str,
	date,
	time,
	method_name: str | None,
	method: Method | None,
	*,
	now: dt.datetime,
	last: LastEvent | None = None,
	phone_type: str | None = None,
	policy: Policy = Policy(),
	system_revocation: bool = False,
) -> Outcome:
	"""Decide what ``action`` on ``channel`` does to a record in ``state``, or raise :class:`Refused`.

	``method`` is the Opt Method named ``method_name`` as found, or None when there is none by that name.
	``now`` is the current time in the site's time zone, ``last`` the latest logged event of the channel.
	A ``system_revocation`` (an opt out the system received, e.g. an inbound STOP) is never refused for
	the Opt Method configuration: a revocation must not be lost because a method was disabled or removed.
	"""
	check_target(doctype, action, channel, phone_type)
	event_at = event_datetime(date, time)
	check_moment(event_at, now, channel, last)
	if not (system_revocation and action == OPT_OUT):
		check_method(method_name, method, action in GRANTING)
	check_state(state, action, channel, last)
	changes = changes_for(doctype, action, channel, event_at.date(), method_name, policy)
	log = {
		"channel": channel,
		"action": action,
		"event_date": event_at.date(),
		"event_time": event_at.time(),
		"method": method_name,
	}
	return Outcome(changes=changes, log=log, event_at=event_at)


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
	doctype: str, action: str, channel: str, date: dt.date, method_name: str | None, policy: Policy = Policy()
) -> dict:
	"""The field changes of an accepted action; also used to replay a log."""
	spec = CHANNELS[channel]
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
		if policy.opt_out_blocks and (channel != TEXT or policy.text_opt_out_blocks_calls):
			changes.update({"active": 0, spec.block_field: 1})
		return changes
	if action == TEXT_REAUTH:
		# A reauthorisation renews texting consent only: it leaves Active and Do Not Call as they are.
		return {spec.opt_field: 1, spec.in_date: date, spec.in_method: method_name}
	if action == LAPSED:
		return {spec.opt_field: 0}
	raise ValueError(action)


def replay(doctype: str, logs: Iterable[Mapping], policy: Policy = Policy()) -> dict:
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
