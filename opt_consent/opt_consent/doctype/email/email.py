# Copyright (c) 2026, opt_consent developers
# License: MIT

from opt_consent.addresses import normalize_email
from opt_consent.controllers import ConsentRecord


class Email(ConsentRecord):
	address_field = "email_id"
	key_field = "email_normalized"

	def normalize(self, address: str) -> str:
		return normalize_email(address)
