"""Phone numbers and email addresses: validation and the normalised form used for lookups.

Pure Python (the ``phonenumbers`` library Frappe ships), no ``import frappe``.
"""

from __future__ import annotations

import re

import phonenumbers

from opt_consent.core.messages import Refused, _

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
