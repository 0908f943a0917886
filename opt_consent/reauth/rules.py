"""Texting reauthorisation: when a Phone's texting consent becomes due for renewal, and when it lapses.

Pure Python on purpose: no ``import frappe``. The Frappe side (:mod:`opt_consent.reauth.lapse`) reads the admin's
Opt Consent Settings into :class:`Rules`, asks :func:`assess` about a Phone, and stores the answer.

The rule, with period P days (the default or the override of the authorising Opt Method):

- The latest authorisation is the latest Opt In Texts or Text Reauth: its date and method are what the
  Phone holds in Opt In Texts Date / Method (both actions set them).
- Texting consent lasts P days: authorised on day D, it is in force on D .. D + P - 1 and **lapses on
  D + P** (the lapse date, the first day without consent). With P = 30, consent given 29 days ago is still
  in force, consent given 30 or 31 days ago has lapsed.
- It is **due** for reauthorisation from ``lead`` days before the lapse date (the due date), never before
  the authorisation itself.
- P = 0 (or empty) means the consent never lapses. An override of 0 for a method means consent given by
  that method never lapses, even when the default period is not 0.
- Everything is computed from the current rules: when an admin changes a period, every lapse date moves.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from opt_consent.model.messages import Refused, _

# Statuses, as stored in Phone.text_reauth_status.
NONE = ""  # no texting consent in force (never given, opted out), or lapsed by the job (see below)
OK = "OK"
DUE = "Due"
LAPSED = "Lapsed"
NEVER = "Never Lapses"


def days(value) -> int:
	"""A number of days as the settings store it: None or "" is 0. Not validated (see :func:`check_rules`)."""
	if value is None or value == "":
		return 0
	return int(value)


@dataclass(frozen=True)
class Rules:
	"""The admin's reauthorisation settings."""

	period_days: int = 0  # default period; 0: never lapses
	lead_days: int = 0  # reminder lead time before the lapse date
	method_periods: tuple[tuple[str, int], ...] = ()  # (Opt Method, period) overrides

	@classmethod
	def make(cls, period_days=0, lead_days=0, method_periods: Mapping | Iterable = ()) -> Rules:
		pairs = method_periods.items() if isinstance(method_periods, Mapping) else method_periods
		return cls(days(period_days), days(lead_days), tuple((str(m), days(p)) for m, p in pairs))

	def period_for(self, method: str | None) -> int:
		"""The period of consent given by ``method``: its override if there is one, the default otherwise."""
		for name, period in self.method_periods:
			if method and name == method:
				return period
		return self.period_days


@dataclass(frozen=True)
class Assessment:
	status: str
	lapses_on: dt.date | None = None
	due_from: dt.date | None = None


def lapse_date(rules: Rules, authorised_on: dt.date, method: str | None) -> dt.date | None:
	"""The first day without consent, or None when consent given by ``method`` never lapses."""
	period = rules.period_for(method)
	if period <= 0:
		return None
	return authorised_on + dt.timedelta(days=period)


def due_date(rules: Rules, authorised_on: dt.date, lapses_on: dt.date | None) -> dt.date | None:
	"""The day from which the phone is due for reauthorisation: ``lead`` days before the lapse date."""
	if lapses_on is None:
		return None
	return max(authorised_on, lapses_on - dt.timedelta(days=max(rules.lead_days, 0)))


def assess(
	rules: Rules, text_opt, authorised_on: dt.date | None, method: str | None, today: dt.date
) -> Assessment:
	"""The reauthorisation state of a Phone's texting consent on ``today``.

	``text_opt`` is the Text Opt checkbox, ``authorised_on`` / ``method`` the date and method of the latest
	Opt In Texts or Text Reauth. A phone whose Text Opt is unchecked has no consent to lapse: status
	:data:`NONE` (the job records a lapse by storing :data:`LAPSED` itself, see :mod:`opt_consent.reauth.lapse`).
	A phone whose lapse date has come but that the job has not lapsed yet is :data:`LAPSED` all the same.
	"""
	if not text_opt or authorised_on is None:
		return Assessment(NONE)
	lapses_on = lapse_date(rules, authorised_on, method)
	if lapses_on is None:
		return Assessment(NEVER)
	due_from = due_date(rules, authorised_on, lapses_on)
	if today >= lapses_on:
		status = LAPSED
	elif today >= due_from:
		status = DUE
	else:
		status = OK
	return Assessment(status, lapses_on, due_from)


def check_rules(
	period_days,
	lead_days,
	method_periods: Iterable[tuple[str | None, object]] = (),
	business_days=0,
) -> None:
	"""Refuse settings that make no sense: negative numbers, a lead time longer than a period, a method
	listed twice. ``method_periods`` are (Opt Method, period) pairs in the order of the table."""
	for label, value in (
		(_("Texting Consent Lasts (Days)"), period_days),
		(_("Reminder Lead Time (Days)"), lead_days),
		(_("Honour Revocations Within (Business Days)"), business_days),
	):
		if _int(value) is None:
			raise Refused("not_a_number", _("{0} must be a whole number of days."), label)
		if _int(value) < 0:
			raise Refused("negative", _("{0} cannot be negative."), label)
	periods = [(_("the default period"), days(period_days)), *check_method_periods(method_periods)]
	lead = days(lead_days)
	for name, period in periods:
		if period and lead > period:
			raise Refused(
				"lead_too_long",
				_("The reminder lead time ({0} days) cannot be longer than the period for {1} ({2} days)."),
				lead,
				name,
				period,
			)


def check_method_periods(method_periods: Iterable[tuple[str | None, object]]) -> list[tuple[str, int]]:
	"""The (method, period) overrides, each with a method, a whole non-negative period, a method once."""
	seen: dict[str, int] = {}
	for row, (method, period) in enumerate(method_periods, start=1):
		if not method:
			raise Refused("missing_method", _("Row {0} of Period by Opt Method has no Opt Method."), row)
		if _int(period) is None:
			raise Refused(
				"not_a_number", _("Row {0} of Period by Opt Method: the period must be a whole number."), row
			)
		if _int(period) < 0:
			raise Refused(
				"negative",
				_("Row {0} of Period by Opt Method: the period for {1} cannot be negative."),
				row,
				method,
			)
		if method in seen:
			raise Refused(
				"duplicate_method", _("Opt Method {0} is listed twice in Period by Opt Method."), method
			)
		seen[method] = days(period)
	return list(seen.items())


def _int(value) -> int | None:
	if value is None or value == "":
		return 0
	if isinstance(value, bool):
		return int(value)
	if isinstance(value, int):
		return value
	if isinstance(value, float) and value.is_integer():
		return int(value)
	if isinstance(value, str):
		try:
			return int(value.strip())
		except ValueError:
			return None
	return None
