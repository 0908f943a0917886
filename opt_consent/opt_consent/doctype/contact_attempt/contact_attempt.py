# Copyright (c) 2026, opt_consent developers
# License: MIT

from opt_consent.ledger.evidence_record import EvidenceRecord
from opt_consent.model.messages import _  # marks the messages; the base translates them when shown


class ContactAttempt(EvidenceRecord):
	"""Evidence of one outbound attempt. Recorded by the app's own doors only (``record_attempt``, the SMS door,
	the email queue); nobody edits one; only a System Manager deletes one."""

	NOUN = _("A contact attempt")
	DOOR = _("Record Attempt, the SMS door or the email queue")
	FLAG = "from_contact_control"
