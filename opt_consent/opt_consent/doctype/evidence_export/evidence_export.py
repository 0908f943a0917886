# Copyright (c) 2026, opt_consent developers
# License: MIT

from opt_consent.ledger.evidence_record import EvidenceRecord
from opt_consent.model.messages import _  # marks the messages; the base translates them when shown


class EvidenceExport(EvidenceRecord):
	"""That evidence was produced for a consent record: by whom, when, in which format, and the SHA-256 of
	its JSON twin. Written only by :mod:`opt_consent.evidence_document.document`; nobody edits or deletes one
	(not even a System Manager: the log of who took evidence away is itself evidence)."""

	NOUN = _("An Evidence Export")
	DOOR = _("the Evidence button, when evidence is produced")
	FLAG = "from_evidence"
	DELETED_BY = None
