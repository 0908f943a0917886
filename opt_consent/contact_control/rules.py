"""Contact Control: not only "may we?" but "when may we next?".

Consent says whether a person agreed to calls, texts or email. Contact Control adds the rules a collections
team or a contact centre must keep besides: how many attempts within a rolling window (a frequency cap),
a hold after an outcome such as a conversation, and the hours a person may be contacted at their location.
This module is the one description of those rules and computes, for one subject:

- whether a moment is allowed, and which rule refuses it;
- ``next_allowed_at``: the earliest moment at or after the asked one that every rule allows, computed from
  the attempts and the allowed-hours windows (thresholds and interval arithmetic), never by stepping
  through minutes.

Times are timezone-aware :class:`datetime.datetime` values (any zone); results are in UTC. Moments are
whole minutes once they move: a ``next_allowed_at`` later than the asked moment is rounded up to the next
whole minute, so "no earlier minute is allowed" holds.

Pure Python: no ``import frappe``. :mod:`opt_consent.contact_control.adapter` reads the settings, the
attempts and the person's location and calls these functions.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from opt_consent.gate import rules as gate
from opt_consent.model.channels import CALL, CHANNELS, EMAIL_CHANNEL, TEXT
from opt_consent.model.messages import Refused, _

UTC = dt.timezone.utc
MINUTE = dt.timedelta(minutes=1)

# --- the rule kinds, what they count per, and attempt outcomes ------------------------------------------

KINDS = FREQUENCY_CAP, HOLD_AFTER_OUTCOME, ALLOWED_HOURS = (
	"Frequency Cap",
	"Hold After Outcome",
	"Allowed Hours",
)

PER = PER_ADDRESS, PER_PARTY, PER_PARTY_REFERENCE = ("Address", "Party", "Party and Reference")

# Outcomes of an attempt. Calls have the first five; a text or an email that left is Sent.
OUTCOMES = NO_ANSWER, VOICEMAIL, CONVERSATION, WRONG_PARTY, BUSY, SENT = (
	"No Answer",
	"Voicemail",
	"Conversation",
	"Wrong Party",
	"Busy",
	"Sent",
)
CALL_OUTCOMES = OUTCOMES[:5]

# Where an attempt came from.
SOURCES = SOURCE_API, SOURCE_SMS, SOURCE_EMAIL_QUEUE = ("API", "SMS", "Email Queue")

# The reasons a rule gives. The consent verdict's own reasons (opted_out, ...) come first, from the gate.
REASON_FREQUENCY_CAP, REASON_CONVERSATION_HOLD, REASON_OUTCOME_HOLD, REASON_OUTSIDE_HOURS = (
	"frequency_cap",
	"conversation_hold",
	"outcome_hold",
	"outside_hours",
)
ALLOWED = "allowed"

# Every reason the gate answers with, in words (translated at the edge): consent's reasons, then the rules'.
REASON_LABELS = {
	REASON_FREQUENCY_CAP: _("Too many attempts within the rule's window."),
	REASON_CONVERSATION_HOLD: _("On hold after a conversation."),
	REASON_OUTCOME_HOLD: _("On hold after an earlier outcome."),
	REASON_OUTSIDE_HOURS: _("Outside the allowed hours at the person's location."),
	gate.OPTED_OUT: _("The person opted out."),
	gate.NOT_OPTED_IN: _("The person never opted in."),
	gate.LAPSED: _("Texting consent lapsed and needs reauthorisation."),
	gate.DO_NOT_CALL: _("The number is marked Do Not Call."),
	gate.DO_NOT_EMAIL: _("The address is marked Do Not Email."),
	gate.INACTIVE: _("The record is not active."),
	gate.NOT_CELL: _("Texts go to Cell phones only."),
	gate.UNKNOWN_ADDRESS: _("No consent record for this address."),
	gate.INVALID_ADDRESS: _("Not a valid address."),
}

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")

# How far ahead the allowed hours are looked at before "never" (a rule set with no allowed day at all).
HORIZON_DAYS = 400


@dataclass(frozen=True)
class Rule:
	"""One rule of the settings' Contact Control table."""

	name: str
	kind: str
	channels: frozenset[str]
	per: str = PER_ADDRESS
	max_attempts: int = 0  # FREQUENCY_CAP
	window: dt.timedelta = dt.timedelta(0)  # FREQUENCY_CAP: the rolling window; HOLD: how long the hold lasts
	outcomes: frozenset[str] = frozenset()  # HOLD_AFTER_OUTCOME: the outcomes that start the hold
	start: dt.time = dt.time(0, 0)  # ALLOWED_HOURS, local time, [start, end)
	end: dt.time = dt.time(0, 0)
	weekdays: frozenset[int] = frozenset(range(7))  # Monday = 0
	skip_holidays: bool = False
	country: str | None = None  # the jurisdiction: None applies everywhere
	region: str | None = None

	@property
	def reason(self) -> str:
		if self.kind == FREQUENCY_CAP:
			return REASON_FREQUENCY_CAP
		if self.kind == HOLD_AFTER_OUTCOME:
			return REASON_CONVERSATION_HOLD if self.outcomes == {CONVERSATION} else REASON_OUTCOME_HOLD
		return REASON_OUTSIDE_HOURS


@dataclass(frozen=True)
class Attempt:
	"""One outbound attempt the app knows of."""

	at: dt.datetime
	channel: str
	outcome: str = SENT
	address: str | None = None
	party: str | None = None  # "Contact/CONT-0001": the party type and name
	reference: str | None = None  # the document the attempt was about (a debt), as given


@dataclass(frozen=True)
class Subject:
	"""Whom a question is about: the channel, the normalised address, its party, the reference, where."""

	channel: str
	address: str
	party: str | None = None
	reference: str | None = None
	country: str | None = None
	region: str | None = None
	zones: tuple[str, ...] = ()  # every time zone the person may be in; empty: unknown (use the fallback)


@dataclass(frozen=True)
class Verdict:
	allowed: bool
	reason: str  # "allowed" or the refusing rule's reason
	rule: str | None  # the refusing rule that decides the wait (the latest next moment)
	next_allowed_at: dt.datetime | None  # UTC; None: no moment within the horizon
	refused_by: tuple[str, ...] = field(default_factory=tuple)  # every rule refusing the asked moment


# --- reading the settings ------------------------------------------------------------------------------


def _check_known(items: Iterable[str], known: Collection[str], message: str) -> None:
	"""Refuse the settings' row (``invalid_rule``) naming items not among ``known``: ``message`` is given the
	unknown ones and the known ones."""
	unknown = sorted(item for item in items if item not in known)
	if unknown:
		raise Refused("invalid_rule", message, ", ".join(unknown), ", ".join(known))


def parse_channels(value: str | Iterable[str] | None) -> frozenset[str]:
	"""``"Call, Text"`` → {Call, Text}. Refuses names that are not channels, and an empty list."""
	items = value.replace("\n", ",").split(",") if isinstance(value, str) else list(value or ())
	names = {item.strip() for item in items if item and item.strip()}
	_check_known(names, CHANNELS, _("{0} is not a channel. Use one of: {1}."))
	if not names:
		raise Refused("invalid_rule", _("A Contact Control rule needs at least one channel."))
	return frozenset(names)


def parse_weekdays(value: str | None) -> frozenset[int]:
	"""``"Mon, Tue, Sat"`` → {0, 1, 5}; empty means every day."""
	items = [item.strip()[:3].title() for item in (value or "").replace("\n", ",").split(",") if item.strip()]
	_check_known(items, WEEKDAYS, _("{0} is not a day of the week. Use: {1}."))
	return frozenset(WEEKDAYS.index(item) for item in items) if items else frozenset(range(7))


def make_rule(row: dict) -> Rule:
	"""A :class:`Rule` from one settings row (a plain dict), checked; :class:`Refused` when it makes no sense."""
	name = (row.get("rule_name") or "").strip() or _("Rule")
	kind = row.get("kind")
	if kind not in KINDS:
		raise Refused("invalid_rule", _("Rule {0}: the kind must be one of: {1}."), name, ", ".join(KINDS))
	per = row.get("counts_per") or PER_ADDRESS
	if per not in PER:
		raise Refused("invalid_rule", _("Rule {0}: counts per must be one of: {1}."), name, ", ".join(PER))
	common = {
		"name": name,
		"kind": kind,
		"channels": parse_channels(row.get("channels")),
		"per": per,
		"country": (row.get("country") or "").strip() or None,
		"region": (row.get("region") or "").strip() or None,
	}
	if kind == FREQUENCY_CAP:
		attempts, days = int(row.get("max_attempts") or 0), float(row.get("window_days") or 0)
		if attempts < 1 or days <= 0:
			raise Refused(
				"invalid_rule",
				_("Rule {0}: a frequency cap needs at least 1 attempt and a window of days."),
				name,
			)
		return Rule(**common, max_attempts=attempts, window=dt.timedelta(days=days))
	if kind == HOLD_AFTER_OUTCOME:
		days = float(row.get("window_days") or 0)
		outcomes = frozenset(o.strip() for o in (row.get("outcomes") or "").split(",") if o.strip())
		unknown = sorted(outcomes - set(OUTCOMES))
		if days <= 0 or not outcomes or unknown:
			raise Refused(
				"invalid_rule",
				_("Rule {0}: a hold needs a number of days and outcomes among: {1}."),
				name,
				", ".join(OUTCOMES),
			)
		return Rule(**common, window=dt.timedelta(days=days), outcomes=outcomes)
	start, end = as_time(row.get("start_time")), as_time(row.get("end_time"))
	if start is None or end is None or not start < end:
		raise Refused(
			"invalid_rule", _("Rule {0}: allowed hours need a start time before the end time."), name
		)
	return Rule(
		**common,
		start=start,
		end=end,
		weekdays=parse_weekdays(row.get("days_of_week")),
		skip_holidays=bool(int(row.get("skip_holidays") or 0)),
	)


def as_time(value) -> dt.time | None:
	"""A whole-minute :class:`datetime.time` from a time, a timedelta (MariaDB) or ``"HH:MM[:SS]"``."""
	if value is None or value == "":
		return None
	if isinstance(value, dt.time):
		return value.replace(second=0, microsecond=0)
	if isinstance(value, dt.timedelta):
		minutes = int(value.total_seconds()) // 60
		return dt.time(minutes // 60 % 24, minutes % 60) if 0 <= minutes < 24 * 60 else None
	try:
		parts = [int(p) for p in str(value).split(":")[:2]]
		return dt.time(parts[0], parts[1] if len(parts) > 1 else 0)
	except (ValueError, IndexError):
		return None


# --- the Regulation F template -------------------------------------------------------------------------

REGULATION_F = "Regulation F"
UNITED_STATES = "United States"


def regulation_f_template() -> list[dict]:
	"""The rows of the Regulation F template (12 CFR part 1006), as settings rows, disabled.

	- 1006.14(b)(2)(i): more than 7 calls within 7 consecutive days about a debt presumes harassment;
	- 1006.14(b)(2)(ii): a call within 7 days after a telephone conversation about the debt does too;
	- 1006.6(b)(1)(i): before 8 a.m. or after 9 p.m. at the consumer's location is inconvenient, and where
	  the location is unknown the time must be convenient in every location the consumer may be in.
	"""
	common = {"enabled": 0, "template": REGULATION_F, "country": UNITED_STATES}
	return [
		{
			**common,
			"rule_name": _("Reg F: 7 calls in 7 days"),
			"kind": FREQUENCY_CAP,
			"channels": CALL,
			"counts_per": PER_PARTY_REFERENCE,
			"max_attempts": 7,
			"window_days": 7,
		},
		{
			**common,
			"rule_name": _("Reg F: 7 days after a conversation"),
			"kind": HOLD_AFTER_OUTCOME,
			"channels": CALL,
			"counts_per": PER_PARTY_REFERENCE,
			"outcomes": CONVERSATION,
			"window_days": 7,
		},
		{
			**common,
			"rule_name": _("Reg F: 8 a.m. to 9 p.m. local"),
			"kind": ALLOWED_HOURS,
			"channels": f"{CALL}, {TEXT}, {EMAIL_CHANNEL}",
			"counts_per": PER_ADDRESS,
			"start_time": "08:00:00",
			"end_time": "21:00:00",
		},
	]


# --- which rules, which attempts -----------------------------------------------------------------------


def _same(a: str | None, b: str | None) -> bool:
	return (a or "").strip().casefold() == (b or "").strip().casefold()


def applies(rule: Rule, subject: Subject) -> bool:
	"""The rule covers the subject's channel and, when it names a jurisdiction, the subject is in it."""
	if subject.channel not in rule.channels:
		return False
	if rule.country and not _same(rule.country, subject.country):
		return False
	return not rule.region or _same(rule.region, subject.region)


def counted(rule: Rule, subject: Subject, attempt: Attempt) -> bool:
	"""Whether the rule counts ``attempt`` for ``subject``.

	Per Address: attempts on the same address. Per Party: the party's attempts on any address (a subject
	with no party is counted per address). Per Party and Reference: the party's attempts about the same
	reference; a question without a reference counts all the party's attempts (the stricter reading).
	"""
	if attempt.channel not in rule.channels:
		return False
	if rule.kind == HOLD_AFTER_OUTCOME and attempt.outcome not in rule.outcomes:
		return False
	if rule.per == PER_ADDRESS or not subject.party:
		return attempt.address == subject.address
	if attempt.party != subject.party:
		return False
	if rule.per == PER_PARTY_REFERENCE and subject.reference:
		return attempt.reference == subject.reference
	return True


def ceil_minute(moment: dt.datetime) -> dt.datetime:
	floor = moment.replace(second=0, microsecond=0)
	return floor if floor == moment else floor + MINUTE


# --- frequency caps and holds --------------------------------------------------------------------------


def count_threshold(rule: Rule, times: Sequence[dt.datetime], at: dt.datetime) -> dt.datetime:
	"""The earliest moment at or after ``at`` when fewer than the rule's limit of ``times`` fall in the window
	(``(moment - window, moment]``). Only attempts up to ``at`` are known; none later is assumed.

	A hold is a cap of one attempt (with the outcome) within the hold's days.
	"""
	limit = rule.max_attempts if rule.kind == FREQUENCY_CAP else 1
	inside = sorted(t for t in times if at - rule.window < t <= at)
	if len(inside) < limit:
		return at
	# The oldest len - limit + 1 of them must leave the window: the last of those leaves at its time + window.
	return inside[len(inside) - limit] + rule.window


# --- allowed hours -------------------------------------------------------------------------------------


@lru_cache(maxsize=1024)
def zone(name: str) -> dt.tzinfo:
	try:
		return ZoneInfo(name)
	except (ZoneInfoNotFoundError, ValueError):
		raise Refused("invalid_zone", _("{0} is not a time zone."), name) from None


def next_in_zone(
	rule: Rule, zone_name: str, moment: dt.datetime, holidays: Collection[dt.date] = ()
) -> dt.datetime | None:
	"""The earliest moment at or after ``moment`` inside the rule's hours in one zone, or None."""
	tz = zone(zone_name)
	local_day = moment.astimezone(tz).date()
	for offset in range(-1, HORIZON_DAYS):
		day = local_day + dt.timedelta(days=offset)
		if day.weekday() not in rule.weekdays or (rule.skip_holidays and day in holidays):
			continue
		start = dt.datetime.combine(day, rule.start, tzinfo=tz)
		end = dt.datetime.combine(day, rule.end, tzinfo=tz)
		if moment < end:
			return moment if moment >= start else start.astimezone(UTC)
	return None


def next_in_hours(
	hour_rules: Sequence[Rule], zones: Sequence[str], moment: dt.datetime, holidays: Collection[dt.date] = ()
) -> dt.datetime | None:
	"""The earliest moment at or after ``moment`` inside every rule's hours in every zone, or None.

	Each step moves to the latest of the earliest allowed moments of each (rule, zone): nothing between is
	allowed in the one that gave it, so the first moment where all agree is the earliest common one.
	"""
	current = moment
	for _step in range(4 * HORIZON_DAYS):
		proposals = []
		for rule in hour_rules:
			for name in zones:
				found = next_in_zone(rule, name, current, holidays)
				if found is None:
					return None
				proposals.append(found)
		latest = max(proposals, default=current)
		if latest == current:
			return current
		current = latest
	return None


# --- the verdict ---------------------------------------------------------------------------------------


def evaluate(
	rules: Sequence[Rule],
	subject: Subject,
	attempts: Iterable[Attempt],
	at: dt.datetime,
	*,
	holidays: Collection[dt.date] = (),
	fallback_zones: Sequence[str] = ("UTC",),
) -> Verdict:
	"""Contact Control's verdict for ``subject`` at ``at`` (aware), and the next allowed moment (UTC).

	``fallback_zones`` stand for the person's location when ``subject.zones`` is empty.
	"""
	if at.tzinfo is None:
		raise ValueError("at must be timezone-aware")
	at = at.astimezone(UTC)
	active = [rule for rule in rules if applies(rule, subject)]
	if not active:
		return Verdict(True, ALLOWED, None, at)
	attempts = list(attempts)
	own_next: dict[str, dt.datetime | None] = {}
	threshold = at
	for rule in active:
		if rule.kind == ALLOWED_HOURS:
			continue
		times = [a.at.astimezone(UTC) for a in attempts if counted(rule, subject, a)]
		own_next[rule.name] = count_threshold(rule, times, at)
		threshold = max(threshold, own_next[rule.name])
	hour_rules = [rule for rule in active if rule.kind == ALLOWED_HOURS]
	zones = subject.zones or tuple(fallback_zones)
	for rule in hour_rules:
		own_next[rule.name] = next_in_hours([rule], zones, at, holidays)
	start = threshold if threshold == at else ceil_minute(threshold)
	combined = next_in_hours(hour_rules, zones, start, holidays) if hour_rules else start
	refused = tuple(rule.name for rule in active if own_next[rule.name] != at)
	if not refused:
		return Verdict(True, ALLOWED, None, at)
	# The rule that decides the wait is the refusing one whose own next moment is the latest (never: latest).
	far = dt.datetime.max.replace(tzinfo=UTC)
	deciding = max(
		(rule for rule in active if rule.name in refused), key=lambda rule: own_next[rule.name] or far
	)
	return Verdict(False, deciding.reason, deciding.name, combined, refused)


# --- local time zones of an address --------------------------------------------------------------------

# The US states and their time zones (a state spanning two zones lists both: a time must suit both), and
# each state's code by its name: a data file beside this module.
_US_STATES = json.loads(Path(__file__).with_name("us_states.json").read_text(encoding="utf-8"))
US_STATE_ZONES: dict[str, tuple[str, ...]] = {
	code: tuple(zones) for code, zones in _US_STATES["zones"].items()
}
US_STATE_NAMES: dict[str, str] = _US_STATES["names"]


def address_zones(
	country: str | None, region: str | None, country_zones: Sequence[str] = ()
) -> tuple[str, ...]:
	"""Every zone a person at an address in ``country`` / ``region`` may be in.

	A US state gives its zones; otherwise the country's own list (Frappe's Country carries one). Empty when
	nothing is known.
	"""
	if _same(country, UNITED_STATES) and region:
		code = region.strip().upper()
		code = US_STATE_NAMES.get(code, code)
		if code in US_STATE_ZONES:
			return US_STATE_ZONES[code]
	return tuple(dict.fromkeys(z.strip() for z in country_zones if z and z.strip()))


def usable_zones(names: Iterable[str]) -> tuple[str, ...]:
	"""The names that are real IANA zones (phonenumbers says "Etc/Unknown" when it does not know)."""
	found = []
	for name in names:
		try:
			zone(name)
		except Refused:
			continue
		if name not in found:
			found.append(name)
	return tuple(found)
