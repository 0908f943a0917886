# Copyright (c) 2026, opt_consent developers
# License: MIT

from opt_consent.ledger.records import ConsentRecord


class Email(ConsentRecord):
	"""An email address and its consent to email (see opt_consent.model.channels)."""
