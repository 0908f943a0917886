"""Business days: the revocation clock's calendar. A revocation must be honoured within 10 business days of
its receipt (47 CFR 64.1200(a)(10), as amended by FCC 24-24, in force since 11 April 2025); the site may
set its own days, weekend and holidays (Opt Consent Settings). Pure: no Frappe."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection

WEEKEND = frozenset({5, 6})  # Saturday, Sunday (date.weekday())
DEFAULT_REVOCATION_DAYS = 10


def is_business_day(
	day: dt.date, holidays: Collection[dt.date] = (), weekend: Collection[int] = WEEKEND
) -> bool:
	return day.weekday() not in weekend and day not in holidays


def add_business_days(
	start: dt.date, days: int, holidays: Collection[dt.date] = (), weekend: Collection[int] = WEEKEND
) -> dt.date:
	"""The date ``days`` business days after ``start`` (``start`` itself is not counted).

	A business day is a day that is neither in ``weekend`` (weekday numbers, Monday = 0) nor in
	``holidays``. ``days`` = 0 gives ``start``.
	"""
	if days < 0:
		raise ValueError("days must not be negative")
	if len(set(weekend)) >= 7:
		raise ValueError("a week needs at least one business day")
	holidays = set(holidays)
	day = start
	remaining = days
	while remaining:
		day += dt.timedelta(days=1)
		if is_business_day(day, holidays, weekend):
			remaining -= 1
	return day
