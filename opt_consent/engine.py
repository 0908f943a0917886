"""The consent engine: what an opt in, opt out, text reauth or lapse does to a Phone or Email record.

Pure Python on purpose: no ``import frappe``. Controllers, whitelisted methods and scheduler jobs are
thin adapters that read the record's state, call :func:`decide`, and write what it returns.

Messages are English templates with ``{0}`` placeholders. They are wrapped in the no-op ``_`` below so
that Frappe's translation extractor finds them; the adapter translates them with ``frappe._``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field


def _(message: str) -> str:
	"""Mark a message for translation. The adapter translates it with ``frappe._`` at the edge."""
	return message


PHONE = "Phone"
EMAIL = "Email"

CALL = "Call"
TEXT = "Text"
EMAIL_CHANNEL = "Email"

OPT_IN = "Opt In"
OPT_OUT = "Opt Out"
TEXT_REAUTH = "Text Reauth"
LAPSED = "Lapsed"

ACTIONS = (OPT_IN, OPT_OUT, TEXT_REAUTH, LAPSED)
# Actions that grant consent, and so need a method allowed "for opt in".
GRANTING = (OPT_IN, TEXT_REAUTH)

CELL = "Cell"

# How far back a user may date an event, and how much clock skew between browser and server we forgive.
MAX_BACKDATE = dt.timedelta(days=3650)
FUTURE_TOLERANCE = dt.timedelta(minutes=2)


@dataclass(frozen=True)
class Channel:
	"""One consent channel and the record fields it owns."""

	name: str
	doctype: str
	prefix: str
	block_field: str  # Do Not Call / Do Not Email

	@property
	def opt_field(self) -> str:
		return f"{self.prefix}_opt"

	@property
	def in_date(self) -> str:
		return f"{self.prefix}_opt_in_date"

	@property
	def in_method(self) -> str:
		return f"{self.prefix}_opt_in_method"

	@property
	def out_date(self) -> str:
		return f"{self.prefix}_opt_out_date"

	@property
	def out_method(self) -> str:
		return f"{self.prefix}_opt_out_method"

	@property
	def owned_fields(self) -> tuple[str, ...]:
		"""Fields only the consent actions may change."""
		return (self.opt_field, self.in_date, self.in_method, self.out_date, self.out_method)


CHANNELS: dict[str, Channel] = {
	CALL: Channel(CALL, PHONE, "call", "do_not_call"),
	TEXT: Channel(TEXT, PHONE, "text", "do_not_call"),
	EMAIL_CHANNEL: Channel(EMAIL_CHANNEL, EMAIL, "email", "do_not_email"),
}
DOCTYPES: dict[str, tuple[str, ...]] = {PHONE: (CALL, TEXT), EMAIL: (EMAIL_CHANNEL,)}


def channels_of(doctype: str) -> tuple[Channel, ...]:
	return tuple(CHANNELS[name] for name in DOCTYPES.get(doctype, ()))


def owned_fields(doctype: str) -> tuple[str, ...]:
	"""Every field of ``doctype`` that only the consent actions may write."""
	return tuple(f for channel in channels_of(doctype) for f in channel.owned_fields)


def initial_state(doctype: str) -> dict:
	"""A new record: Active, not blocked, not opted in to anything."""
	state: dict = {"active": 1}
	for channel in channels_of(doctype):
		state[channel.block_field] = 0
		state.update(dict.fromkeys(channel.owned_fields))
		state[channel.opt_field] = 0
	return state


class Refused(Exception):
	"""An action the rules do not allow. ``message`` is an untranslated template, ``args`` fill it."""

	def __init__(self, code: str, message: str, *args):
		super().__init__(message.format(*args))
		self.code = code
		self.message = message
		self.args_ = args


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
) -> Outcome:
	"""Decide what ``action`` on ``channel`` does to a record in ``state``, or raise :class:`Refused`.

	``method`` is the Opt Method named ``method_name`` as found, or None when there is none by that name.
	``now`` is the current time in the site's time zone, ``last`` the latest logged event of the channel.
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
	if action == TEXT_REAUTH and channel != TEXT:
		raise Refused("wrong_channel", _("Only texting can be reauthorised."))
	if channel == TEXT and phone_type != CELL:
		raise Refused(
			"not_cell",
			_("Texting consent can only be recorded on a Cell phone; this phone is {0}."),
			phone_type or _("of no type"),
		)

	event_at = event_datetime(date, time)
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

	granting = action in GRANTING
	_check_method(method_name, method, granting)

	opted_in = bool(state.get(spec.opt_field))
	if action == OPT_IN and opted_in:
		raise Refused("already_in", _("{0} is already opted in."), channel)
	if action == OPT_OUT and not opted_in and last is not None and last.action == OPT_OUT:
		raise Refused("already_out", _("{0} is already opted out."), channel)
	if action == TEXT_REAUTH and not opted_in and last is not None and last.action == OPT_OUT:
		raise Refused(
			"reauth_after_opt_out",
			_("Texting was opted out on {0}. A revocation is not reauthorised: record Opt In Texts instead."),
			_fmt(last.at),
		)

	changes = changes_for(doctype, action, channel, event_at.date(), method_name, policy)
	log = {
		"channel": channel,
		"action": action,
		"event_date": event_at.date(),
		"event_time": event_at.time(),
		"method": method_name,
	}
	return Outcome(changes=changes, log=log, event_at=event_at)


def _check_method(method_name: str | None, method: Method | None, granting: bool) -> None:
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
