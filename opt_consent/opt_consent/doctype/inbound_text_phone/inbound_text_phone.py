# Copyright (c) 2026, opt_consent developers
# License: MIT

from opt_consent.ledger.records import EvidenceRow
from opt_consent.model.messages import _  # marks the message; translated when shown


class InboundTextPhone(EvidenceRow):
	"""What an inbound text did to one phone, written only with its Inbound Text."""

	refusal = _("The phones of an inbound text are evidence and cannot be changed.")
