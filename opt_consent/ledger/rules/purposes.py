"""Consent for a purpose, and what a revocation covers (the FCC's revoke-all rule).

Pure Python on purpose: no ``import frappe``. :mod:`opt_consent.ledger.site_purposes` reads the Consent
Purpose records and Opt Consent Settings into :class:`Purposes` and asks these functions.

The law applied here:

- **Purposes and their legal basis.** Under the TCPA (47 U.S.C. 227(b); 47 CFR 64.1200(a)(2)) a marketing
  call or text made with an autodialer or a prerecorded voice needs *prior express written consent*
  (defined in 47 CFR 64.1200(f)(9)), while an informational call (account servicing, collection) needs
  *prior express consent*. A purpose that requires written consent is granted only by an opt in whose
  method is written and whose consent wording is on record (:func:`check_written`).
- **Revocation scope.** FCC 24-24 (Report and Order, adopted 14 February 2024) amended 47 CFR
  64.1200(a)(10): a revocation in reply to one kind of message stops every robocall and robotext from
  that sender on unrelated matters too ("revoke-all"). Its effective date was delayed by FCC waiver
  orders in CG Docket No. 02-278, most recently to **31 January 2027**. Opt Consent Settings choose
  the scope: a revocation covers the purpose it was given for, or, from ``revoke_all_from``, every
  purpose of its channel (:func:`scope_of`).
- **A revocation that names no purpose** (a STOP whose message cannot be placed, a call to the office)
  covers every purpose of its channel: narrowing it would be guessing what the person did not say, and a
  revocation we fail to honour is a violation paid per message.
- **The one confirmation may ask the scope.** 47 CFR 64.1200(a)(12) allows one text confirming a
  revocation; FCC 24-24 allows it to ask whether the person wants to stop other kinds of messages too.
  An answer that widens the revocation is recorded as a revocation of every purpose (:data:`ALL`).

Every log row names the purpose it was recorded for; rows written before purposes existed name none and
belong to the default purpose. The record's own Call Opt / Text Opt / Email Opt fields hold the default
purpose's state, exactly as before purposes existed; another purpose's state is its log's latest row
that covers it (:func:`covers`, :func:`last_covering`).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from opt_consent.ledger.rules.coverage import ALL, blocks_record, covers, covers_default, is_default
from opt_consent.model import channels
from opt_consent.model.messages import Refused, _
from opt_consent.model.moments import event_datetime

__all__ = ["ALL", "blocks_record", "covers", "covers_default", "is_default"]  # re-exported for callers

# The legal bases a purpose may rest on.
PRIOR_EXPRESS_CONSENT = "Prior Express Consent"
PRIOR_EXPRESS_WRITTEN_CONSENT = "Prior Express Written Consent"
EXISTING_BUSINESS_RELATIONSHIP = "Existing Business Relationship"
LEGITIMATE_INTEREST = "Legitimate Interest"
LEGAL_BASES = (
	PRIOR_EXPRESS_CONSENT,
	PRIOR_EXPRESS_WRITTEN_CONSENT,
	EXISTING_BUSINESS_RELATIONSHIP,
	LEGITIMATE_INTEREST,
)

SCOPES = ("", ALL)  # a row's scope: "" the row's purpose only, ALL every purpose of its channel

# The settings' revocation scope.
SCOPE_REVOKE_ALL = "Every purpose of the channel (revoke-all)"
SCOPE_PURPOSE = "The purpose it was given for"
SCOPE_SETTINGS = (SCOPE_REVOKE_ALL, SCOPE_PURPOSE)
# FCC 24-24's revoke-all rule (47 CFR 64.1200(a)(10)) as delayed by the FCC's waivers: the date in force.
REVOKE_ALL_DATE = dt.date(2027, 1, 31)

# The name install seeds for the default purpose.
DEFAULT_PURPOSE = "General"

MAX_NAME_LENGTH = 140


@dataclass(frozen=True)
class Purpose:
	"""What the rules need to know of a Consent Purpose."""

	name: str
	channels: frozenset[str] = frozenset(channels.CHANNELS)
	requires_written: bool = False
	legal_basis: str = PRIOR_EXPRESS_CONSENT
	enabled: bool = True
	reauth_days: int | None = None  # texting consent period for this purpose; None: the settings' period


@dataclass(frozen=True)
class Purposes:
	"""The site's purposes, its default, and the revocation scope of its settings."""

	default: str = DEFAULT_PURPOSE
	known: Mapping[str, Purpose] = field(default_factory=dict)
	scope: str = SCOPE_REVOKE_ALL
	revoke_all_from: dt.date = REVOKE_ALL_DATE

	def of_channel(self, channel: str) -> tuple[str, ...]:
		"""The enabled purposes that apply to ``channel``, the default first."""
		names = [p.name for p in self.known.values() if p.enabled and channel in p.channels]
		return tuple(sorted(names, key=lambda name: (name != self.default, name)))

	@property
	def several(self) -> bool:
		"""Whether the site has more than its default purpose (the desk shows purposes only then)."""
		return len([p for p in self.known.values() if p.enabled]) > 1


def single(default: str = DEFAULT_PURPOSE) -> Purposes:
	"""A site with its default purpose alone: the behaviour before purposes existed."""
	return Purposes(default=default, known={default: Purpose(default)})


def scope_of(purposes: Purposes, channel: str, event_date: dt.date, purpose_given: bool) -> str:
	"""What a revocation on ``channel`` dated ``event_date`` covers, as sealed into its row.

	Every purpose (:data:`ALL`) when: the settings apply revoke-all (FCC 24-24, 47 CFR 64.1200(a)(10)) and
	the revocation is dated on or after ``revoke_all_from``; or it names no purpose; or the channel has
	one purpose only (then "this purpose" and "every purpose" are the same, and the record is blocked as
	before purposes existed). Otherwise the purpose given only (``""``).
	"""
	if purposes.scope == SCOPE_REVOKE_ALL and event_date >= purposes.revoke_all_from:
		return ALL
	if not purpose_given or len(purposes.of_channel(channel)) <= 1:
		return ALL
	return ""


def resolve(purposes: Purposes, purpose: str | None, channel: str, granting: bool) -> Purpose:
	"""The purpose an action is recorded for: the one named, or the default; :class:`Refused` when it is
	unknown, does not apply to ``channel``, or is disabled (a revocation is still taken for a disabled
	purpose: it must never be lost)."""
	name = purpose or purposes.default
	if not isinstance(name, str) or len(name) > MAX_NAME_LENGTH:
		raise Refused("bad_purpose", _("Purpose must be the name of a Consent Purpose."))
	found = purposes.known.get(name)
	if found is None:
		raise Refused("unknown_purpose", _("{0} is not a known Consent Purpose."), name[:140])
	if channel not in found.channels:
		raise Refused(
			"purpose_channel", _("Consent Purpose {0} does not apply to the {1} channel."), name, channel
		)
	if granting and not found.enabled:
		raise Refused("disabled_purpose", _("Consent Purpose {0} is disabled."), name)
	return found


def check_written(purpose: Purpose, method_written: bool, wording: str | None) -> None:
	"""A purpose that requires prior express written consent (47 CFR 64.1200(a)(2), (f)(9)) is granted
	only by a written method with its consent wording on record."""
	if not purpose.requires_written:
		return
	if not method_written:
		raise Refused(
			"not_written",
			_("Consent Purpose {0} requires written consent: use an Opt Method marked Written."),
			purpose.name,
		)
	if not wording:
		raise Refused(
			"no_written_wording",
			_("Consent Purpose {0} requires written consent: name the Consent Wording the person agreed to."),
			purpose.name,
		)


def _order(row: Mapping):
	return event_datetime(row["event_date"], row["event_time"]), int(row.get("idx") or 0)


def last_covering(rows: Iterable[Mapping], channel: str, purpose: str, default: str | None) -> Mapping | None:
	"""The latest row (event order, then log order) of ``channel`` that covers ``purpose``, or None.

	One pass; a moment is read only when a second covering row has to be weighed against the first (a
	record's covering rows are usually one)."""
	latest = latest_order = None
	for row in rows:
		if row.get("channel") != channel or not covers(row, purpose, default):
			continue
		if latest is None:
			latest = row
			continue
		if latest_order is None:
			latest_order = _order(latest)
		order = _order(row)
		if order > latest_order:
			latest, latest_order = row, order
	return latest


def purpose_state(
	record: Mapping, channel: str, purpose: str, default: str | None, rows: Iterable[Mapping]
) -> tuple[dict, str | None]:
	"""The state the gate decides a purpose by, and the purpose's latest action.

	The default purpose's state is the record's own fields; another purpose's opt box is on when its
	latest covering row grants consent. Active, the block field and the phone type are the record's.
	"""
	rows = list(rows)
	if is_default(purpose, default):
		mine = [r for r in rows if r.get("channel") == channel and covers_default(r, default)]
		last = max(mine, key=_order) if mine else None
		return dict(record), (last["action"] if last else None)
	last = last_covering(rows, channel, purpose, default)
	return state_for_action(record, channel, last["action"] if last else None)


def state_for_action(record: Mapping, channel: str, action: str | None) -> tuple[dict, str | None]:
	"""A purpose other than the default, decided by ``action``, its latest covering row's action (None:
	no row covers it): the record's state with the channel's opt box on only when that action grants
	consent; Active, the block field and the phone type stay the record's. What :func:`purpose_state`
	answers from the rows, for a caller that read only the latest covering action."""
	spec = channels.CHANNELS[channel]
	state = dict(record)
	state[spec.opt_field] = 1 if action in channels.GRANTING else 0
	return state, action


def granted_on(rows: Iterable[Mapping], channel: str, purpose: str, default: str | None) -> Mapping | None:
	"""The row that granted ``purpose`` its consent in force (the latest covering row, when it grants)."""
	last = last_covering(rows, channel, purpose, default)
	return last if last is not None and last["action"] in channels.GRANTING else None


# --- the scope question of the one confirmation ------------------------------------------------------

# What the one confirmation text may ask when a revocation covered one purpose only (FCC 24-24 allows the
# confirmation to seek clarification of the scope; 47 CFR 64.1200(a)(12)). Translated at the edge.
SCOPE_QUESTION = _("Reply ALL to stop every message from us.")
_EVERY = {"all", "everything", "todo", "todos", "todas"}
_AROUND = {
	"stop",
	"please",
	"pls",
	"unsubscribe",
	"cancel",
	"end",
	"quit",
	"alto",
	"para",
	"messages",
	"texts",
}


def wants_every_purpose(message: str | None) -> bool:
	"""Whether a reply asks to stop every kind of message: "ALL", "STOP ALL", "everything please", "todo".

	Only words of stopping and of "all" may stand in it: "all good" or "is that all?" are not answers.
	"""
	words = set(re.findall(r"[a-záéíóúñ]+", (message or "").lower()))
	return bool(words & _EVERY) and words <= _EVERY | _AROUND


def with_question(text: str, question: str | None) -> str:
	"""The confirmation text followed by the scope question (once; nothing added when there is none)."""
	question = (question or "").strip()
	if not question or question in text:
		return text
	return f"{text.rstrip()} {question}"
