# Copyright (c) 2026, opt_consent developers
# License: MIT

import frappe

from opt_consent.addresses import normalize_phone
from opt_consent.controllers import ConsentRecord


class Phone(ConsentRecord):
	address_field = "phone"
	key_field = "phone_e164"

	def normalize(self, address: str) -> str:
		return normalize_phone(address, default_region())


def default_region() -> str | None:
	"""The ISO code of the System Settings country, used for numbers typed without a country code."""
	country = frappe.db.get_single_value("System Settings", "country")
	if not country:
		return None
	return (frappe.db.get_value("Country", country, "code", cache=True) or "").upper() or None
