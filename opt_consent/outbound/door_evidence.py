"""Evidence the SMS door keeps (Withheld Message, Sent Text): recorded by the door only
(``flags.from_sms_door``), never edited, deleted by a System Manager only."""

from __future__ import annotations

from opt_consent.ledger.evidence_record import EvidenceRecord


class DoorEvidence(EvidenceRecord):
	"""A row only the SMS door writes. Subclasses name themselves in ``NOUN`` and the door in ``DOOR``
	(marked for translation where they stand)."""

	FLAG = "from_sms_door"
