"""The door texts leave by: given the gate's verdict on a number and the settings, send, withhold, or send
as exempt.

Pure Python on purpose: no ``import frappe``. :mod:`opt_consent.outbound.door` asks the gate about each
number, reads the settings, records what this module says to record and hands the permitted numbers to
Frappe's sender.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from opt_consent.contact_control import rules as contact_control
from opt_consent.gate import rules as gate
from opt_consent.model.messages import _

# Opt Consent Settings, "Numbers With No Consent Record". Anything else reads as the safe default.
NO_RECORD_WITHHOLD = "Withhold"
NO_RECORD_SEND = "Send"
NO_RECORD_CHOICES = (NO_RECORD_WITHHOLD, NO_RECORD_SEND)

# What happened to one number (a Withheld Message's Outcome). SENT is not recorded: consent was in force.
SENT = "Sent"
WITHHELD = "Withheld"
SENT_EXEMPT = "Sent (Exempt)"
SENT_NO_RECORD = "Sent (No Consent Record)"
RECORDED_OUTCOMES = (WITHHELD, SENT_EXEMPT, SENT_NO_RECORD)

# The gate's reasons as a person reads them (a Withheld Message's Reason, the sender's message).
REASON_LABELS = {
	gate.OPTED_OUT: _("Opted Out"),
	gate.LAPSED: _("Lapsed"),
	gate.NOT_OPTED_IN: _("Never Opted In"),
	gate.NOT_CELL: _("Not a Cell"),
	gate.UNKNOWN_ADDRESS: _("Unknown Number"),
	gate.INVALID_ADDRESS: _("Invalid Number"),
	gate.DO_NOT_CALL: _("Do Not Call"),
	gate.INACTIVE: _("Inactive"),
	gate.OPTED_IN: _("Opted In"),
	contact_control.REASON_FREQUENCY_CAP: _("Frequency Cap"),
	contact_control.REASON_CONVERSATION_HOLD: _("On Hold"),
	contact_control.REASON_OUTCOME_HOLD: _("On Hold"),
	contact_control.REASON_OUTSIDE_HOURS: _("Outside Hours"),
}


def reason_label(reason: str) -> str:
	"""The label of a gate reason; an unknown reason is shown as it is (never hidden)."""
	return REASON_LABELS.get(reason, reason)


def no_record_policy(value) -> str:
	"""The setting as stored; only an explicit "Send" sends to numbers with no consent record."""
	return NO_RECORD_SEND if value == NO_RECORD_SEND else NO_RECORD_WITHHOLD


@dataclass(frozen=True)
class Outcome:
	send: bool
	outcome: str  # SENT, WITHHELD, SENT_EXEMPT, SENT_NO_RECORD
	reason: str  # the gate's reason

	@property
	def recorded(self) -> bool:
		"""Whether the number is kept as evidence: every send without consent in force, every withhold."""
		return self.outcome != SENT


def decide(
	allowed: bool, reason: str, *, exempt: bool = False, no_record: str = NO_RECORD_WITHHOLD
) -> Outcome:
	"""What the door does with one number, given the gate's verdict (``allowed``, ``reason``).

	- consent in force: send, nothing to record;
	- a transactional (exempt) Notification: send, and record that the exemption overrode the verdict;
	- no record for the number (``unknown_address``) and the settings say Send: send, and record it;
	- otherwise withhold, and record it. An invalid number is withheld whatever the settings: it has no
	  record because it cannot be one.
	"""
	if allowed:
		return Outcome(True, SENT, reason)
	if exempt:
		return Outcome(True, SENT_EXEMPT, reason)
	if reason == gate.UNKNOWN_ADDRESS and no_record_policy(no_record) == NO_RECORD_SEND:
		return Outcome(True, SENT_NO_RECORD, reason)
	return Outcome(False, WITHHELD, reason)


@dataclass(frozen=True)
class Screened:
	number: str
	verdict: Mapping
	outcome: Outcome


def screen(
	numbers: Iterable,
	verdict_of: Callable[[str], Mapping],
	*,
	exempt: bool = False,
	no_record: str = NO_RECORD_WITHHOLD,
) -> list[Screened]:
	"""Each non-empty number of ``numbers`` (in order, as given) with the gate's verdict and the outcome.

	``verdict_of(number)`` is the gate: a mapping with ``allowed`` and ``reason``. Empty entries are
	skipped, as Frappe's sender skips them.
	"""
	screened = []
	for number in numbers:
		if number is None or not str(number).strip():
			continue
		number = str(number)
		verdict = verdict_of(number)
		outcome = decide(bool(verdict["allowed"]), verdict["reason"], exempt=exempt, no_record=no_record)
		screened.append(Screened(number, verdict, outcome))
	return screened


def permitted(screened: Iterable[Screened]) -> list[str]:
	return [s.number for s in screened if s.outcome.send]


def withheld(screened: Iterable[Screened]) -> list[Screened]:
	return [s for s in screened if not s.outcome.send]
