"""Phone numbers and email addresses: validation and the normalised form used for lookups.

Pure Python (the ``phonenumbers`` library Frappe ships), no ``import frappe``.
"""

from __future__ import annotations

import re
from functools import lru_cache

import phonenumbers

from opt_consent.model.messages import Refused, _

MAX_EMAIL_LENGTH = 254
MAX_PHONE_INPUT = 40
# One address, no display name, no list: local@domain.tld
_EMAIL_RE = re.compile(
	r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"
)


def normalize_phone(number: str | None, region: str | None = None) -> str:
	"""The E.164 form of ``number`` (e.g. ``+14155550123``), or :class:`Refused`.

	A number without a leading ``+`` is read as a number of ``region`` (ISO country code, e.g. "US").
	"""
	text = (number or "").strip()
	if not text:
		raise Refused("missing_phone", _("Phone Number is required."))
	if len(text) > MAX_PHONE_INPUT:
		raise Refused("bad_phone", _("{0} is not a valid phone number."), text[:MAX_PHONE_INPUT] + "…")
	try:
		parsed = phonenumbers.parse(text, (region or "").upper() or None)
	except phonenumbers.NumberParseException:
		if not text.startswith("+") and not region:
			raise Refused(
				"bad_phone",
				_("{0} has no country code. Start it with + and the country code, or set a default country."),
				text,
			) from None
		raise Refused("bad_phone", _("{0} is not a valid phone number."), text) from None
	if not phonenumbers.is_valid_number(parsed):
		raise Refused("bad_phone", _("{0} is not a valid phone number."), text)
	return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def normalize_email(address: str | None) -> str:
	"""The lower-cased form of a single email address, or :class:`Refused`."""
	text = (address or "").strip()
	if not text:
		raise Refused("missing_email", _("Email Address is required."))
	if len(text) > MAX_EMAIL_LENGTH or not _EMAIL_RE.match(text) or ".." in text:
		raise Refused("bad_email", _("{0} is not a valid email address."), text[:MAX_EMAIL_LENGTH])
	return text.lower()


# --- where a number may be: its region and time zones (the phonenumbers data Frappe ships) --------------


def number_zones(e164: str) -> tuple[str, ...]:
	"""Every time zone a number (E.164) may be in: the longest matching prefix of phonenumbers' time zone
	data, the same lookup as ``phonenumbers.timezone.time_zones_for_geographical_number``, without parsing
	the number again. Empty when the data knows nothing."""
	from phonenumbers.tzdata import TIMEZONE_DATA, TIMEZONE_LONGEST_PREFIX

	digits = (e164 or "")[1:]
	for length in range(min(len(digits), TIMEZONE_LONGEST_PREFIX), 0, -1):
		zones = TIMEZONE_DATA.get(digits[:length])
		if zones is not None:
			return tuple(zones)
	return ()


def number_region(e164: str) -> str | None:
	"""The ISO region (e.g. "US") of a number in E.164, or None.

	A country code of one region answers at once; the North American plan is decided by its area code
	(cached); other shared country codes parse the number."""
	from phonenumbers.phonenumberutil import COUNTRY_CODE_TO_REGION_CODE

	digits = (e164 or "")[1:]
	for length in (1, 2, 3):
		regions = (
			COUNTRY_CODE_TO_REGION_CODE.get(int(digits[:length] or 0)) if digits[:length].isdigit() else None
		)
		if regions:
			if len(regions) == 1:
				return regions[0] if regions[0] != "001" else None
			return _shared_region(e164[:5] if length == 1 and digits[0] == "1" else e164)
	return None


@lru_cache(maxsize=100_000)
def _shared_region(number: str) -> str | None:
	# the North American plan's area code fixes the region: complete it with a valid-looking subscriber number
	text = number if len(number) > 5 else number + "2345678"
	try:
		return phonenumbers.region_code_for_number(phonenumbers.parse(text))
	except phonenumbers.NumberParseException:
		return None
