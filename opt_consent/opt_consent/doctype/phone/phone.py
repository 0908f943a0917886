# Copyright (c) 2026, opt_consent developers
# License: MIT

from opt_consent.ledger.records import ConsentRecord


class Phone(ConsentRecord):
	"""A phone number and its consent to calls and texts (see opt_consent.model.channels)."""
