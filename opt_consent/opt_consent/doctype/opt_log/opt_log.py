# Copyright (c) 2026, opt_consent developers
# License: MIT

from opt_consent.ledger.records import EvidenceRow
from opt_consent.model.messages import _  # marks the message; translated when shown


class OptLog(EvidenceRow):
	"""A consent log row, written only as part of its Phone or Email by a consent action."""

	refusal = _(
		"Opt In/Out Log rows are evidence: they are recorded by consent actions and cannot be changed."
	)
