"""Reading the date and time of an event: the one parser every rule shares.

Pure Python: no ``import frappe``. :mod:`opt_consent.ledger.rules.engine` re-exports these names.
"""

from __future__ import annotations

import datetime as dt
import re

from opt_consent.model.messages import Refused, _

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
