"""The gate: may we call, text or email an address now (or at a past moment)? Plus the keyword families of
inbound replies and the business-day clock of revocations.

Pure Python on purpose: no ``import frappe``. :mod:`opt_consent.gate.adapter` reads the records and the
settings, and calls these functions.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from opt_consent.ledger.rules import engine
from opt_consent.model import channels

# --- inbound keywords ---------------------------------------------------------------------------------

# the keyword families an inbound reply is applied as (the reading itself: opt_consent.revocation.rules.replies)
KEYWORD_OPT_OUT = "opt_out"
KEYWORD_OPT_IN = "opt_in"
KEYWORD_HELP = "help"


# --- the decision for one record ----------------------------------------------------------------------

OPTED_IN = "opted_in"
NOT_OPTED_IN = "not_opted_in"
OPTED_OUT = "opted_out"
DO_NOT_CALL = "do_not_call"
DO_NOT_EMAIL = "do_not_email"
INACTIVE = "inactive"
LAPSED = "lapsed"
NOT_CELL = "not_cell"
UNKNOWN_ADDRESS = "unknown_address"
INVALID_ADDRESS = "invalid_address"

# Most restrictive first. A record's reason is the first of these that applies to it; across several
# records for one address, the refusal ranked highest here wins. ``not_cell`` only counts when no record
# for the address is a Cell phone (a Home line with the same number does not decide about texts).
PRECEDENCE = (OPTED_OUT, DO_NOT_CALL, DO_NOT_EMAIL, INACTIVE, LAPSED, NOT_OPTED_IN, NOT_CELL, OPTED_IN)
_RANK = {reason: rank for rank, reason in enumerate(PRECEDENCE)}


@dataclass(frozen=True)
class Decision:
	allowed: bool
	reason: str


def decide(
	channel: str,
	state: Mapping,
	*,
	last_action: str | None = None,
	phone_type: str | None = None,
	lapsed: bool = False,
) -> Decision:
	"""May ``channel`` be used on one record in ``state``?

	``last_action`` is the latest logged action of the channel on the record (None when none),
	``lapsed`` whether the reauthorisation rules say texting consent has run out.

	Order: the person revoked (``opted_out``: the opt box is off and the latest event is an Opt Out)
	> the record is blocked (Do Not Call / Do Not Email) > it is not Active > a Text on a phone that is
	not a Cell phone (``not_cell``) > texting consent lapsed > never opted in > ``opted_in``.
	"""
	spec = channels.CHANNELS[channel]
	opted_in = bool(int(state.get(spec.opt_field) or 0))
	if not opted_in and last_action == channels.OPT_OUT:
		return Decision(False, OPTED_OUT)
	if int(state.get(spec.block_field) or 0):
		return Decision(False, spec.block_field)  # the reason is the field: do_not_call / do_not_email
	if not int(state.get("active") or 0):
		return Decision(False, INACTIVE)
	if spec.cell_only and phone_type != channels.CELL:
		return Decision(False, NOT_CELL)
	if (opted_in and lapsed) or (not opted_in and last_action == channels.LAPSED):
		return Decision(False, LAPSED)
	if not opted_in:
		return Decision(False, NOT_OPTED_IN)
	return Decision(True, OPTED_IN)


def most_restrictive(decisions: Sequence[Decision]) -> int | None:
	"""The index of the decision that stands for all of them, or None when there are none.

	Any refusal beats any permission; among refusals the one ranked highest in :data:`PRECEDENCE`
	wins; ties go to the first. ``not_cell`` records are skipped while another record exists.
	"""
	if not decisions:
		return None
	candidates = [i for i, d in enumerate(decisions) if d.reason != NOT_CELL] or list(range(len(decisions)))
	refused = [i for i in candidates if not decisions[i].allowed]
	pool = refused or candidates
	return min(pool, key=lambda i: (_RANK.get(decisions[i].reason, -1), i))


# --- what was true at a past moment -------------------------------------------------------------------

DEFAULT_POLICY = engine.SEED_POLICY


def row_datetime(row: Mapping) -> dt.datetime:
	return engine.event_datetime(row["event_date"], row["event_time"])


def logs_until(logs: Iterable[Mapping], at: dt.datetime) -> list[Mapping]:
	"""The log rows whose event happened at or before ``at``, in event order (stable for ties)."""
	rows = [row for row in logs if row_datetime(row) <= at]
	return sorted(rows, key=row_datetime)


def state_at(
	doctype: str, logs: Iterable[Mapping], at: dt.datetime, policy: engine.Policy = DEFAULT_POLICY
) -> tuple[dict, dict[str, str]]:
	"""The record's consent state at ``at`` replayed from its log, and the latest action per channel."""
	rows = logs_until(logs, at)
	last: dict[str, str] = {}
	for row in rows:
		last[row["channel"]] = row["action"]
	return engine.replay(doctype, rows, policy), last


def row_order(row: Mapping) -> tuple[dt.datetime, int]:
	"""Where a log row stands in the replay: its event's moment, then its place in the log (a tie)."""
	return row_datetime(row), int(row.get("idx") or 0)


def blocking_actions(doctype: str, policy: engine.Policy = DEFAULT_POLICY) -> frozenset[tuple[str, str]]:
	"""The ``(channel, action)`` pairs of a record's log that set Active and the block field (Do Not Call,
	Do Not Email), under ``policy``: an opt in always, an opt out when the policy makes it block. The
	engine's own changes say which (both fields are always set together)."""
	pairs = set()
	for name in channels.DOCTYPES[doctype]:
		for action in channels.ACTIONS:
			if "active" in engine.changes_for(doctype, action, name, dt.date.min, None, policy):
				pairs.add((name, action))
	return frozenset(pairs)


def deciding_rows(
	channel: str, logs: Iterable[Mapping], at: dt.datetime, policy: engine.Policy = DEFAULT_POLICY
) -> list[Mapping]:
	"""The rows of one record's log that decide ``channel`` at ``at`` (at most two): the channel's last
	event at or before ``at`` (its opt box and last action), and the last event at or before ``at`` that
	set Active and the block field (:func:`blocking_actions`). Every other row is overwritten by one of
	them in the replay. What the adapter's one query per chunk of records selects in the database."""
	spec = channels.CHANNELS[channel]
	blocking = blocking_actions(spec.doctype, policy)
	rows = sorted((row for row in logs if row_datetime(row) <= at), key=row_order)
	own = [row for row in rows if row["channel"] == channel]
	blocks = [row for row in rows if (row["channel"], row["action"]) in blocking]
	chosen = {id(row): row for row in (own[-1:] + blocks[-1:])}
	return sorted(chosen.values(), key=row_order)


def decide_at(
	channel: str,
	rows: Iterable[Mapping],
	*,
	phone_type: str | None = None,
	policy: engine.Policy = DEFAULT_POLICY,
) -> Decision:
	"""The decision for ``channel`` on one record at a past moment from its :func:`deciding_rows` (or any
	rows that include them): the same as :func:`decide` on :func:`state_at` of the whole log up to the moment, for a
	fraction of its rows (a lapse by date is not applied at a moment: the job's Lapsed row records it)."""
	spec = channels.CHANNELS[channel]
	rows = sorted(rows, key=row_order)
	state = engine.replay(spec.doctype, rows, policy)
	last = next((row["action"] for row in reversed(rows) if row["channel"] == channel), None)
	return decide(channel, state, last_action=last, phone_type=phone_type)


def last_actions(logs: Iterable[Mapping]) -> dict[str, str]:
	"""The latest action per channel of a whole log (event order; the later row wins a tie)."""
	last: dict[str, tuple[dt.datetime, str]] = {}
	for row in logs:
		at = row_datetime(row)
		current = last.get(row["channel"])
		if current is None or at >= current[0]:
			last[row["channel"]] = (at, row["action"])
	return {channel: action for channel, (_at, action) in last.items()}
