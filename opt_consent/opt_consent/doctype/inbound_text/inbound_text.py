# Copyright (c) 2026, opt_consent developers
# License: MIT

import frappe

from opt_consent.ledger.evidence_record import EvidenceRecord
from opt_consent.ledger.records import normalize_value
from opt_consent.model.messages import _  # marks the messages; the base translates them when shown

REVIEW_FIELDS = ("status", "review_note", "reviewed_by", "reviewed_at")
CONFIRMATION_FIELDS = ("confirmation_status", "confirmation_attempts", "confirmation_sent_at", "confirmation")


class InboundText(EvidenceRecord):
	"""An inbound text as the gateway posted it. Only the endpoint creates one; only a review changes one;
	only a System Manager deletes one."""

	NOUN = _("An inbound text")
	DOOR = _("the SMS gateway endpoint")
	FLAG = "from_gateway"

	def guard_changes(self):
		"""Nothing changes but a review (status, note, who, when; the phones' outcomes when it records the
		text as a revocation), a gateway retry of a revocation that was not applied (status, the phones'
		outcomes, the confirmation's start), or the confirmation job's progress."""
		before = self.get_doc_before_save()
		allowed = ()
		phones_may_change = bool(self.flags.inbound_retry or self.flags.inbound_review_revocation)
		if self.flags.inbound_review:
			allowed = REVIEW_FIELDS
		elif self.flags.inbound_retry:
			allowed = ("status", "confirmation_status")
		elif self.flags.inbound_confirmation:
			allowed = CONFIRMATION_FIELDS
		changed = [
			df.label or df.fieldname
			for df in self.meta.fields
			if df.fieldtype not in ("Section Break", "Column Break", "Table")
			and df.fieldname not in allowed
			and normalize_value(df.fieldtype, before.get(df.fieldname))
			!= normalize_value(df.fieldtype, self.get(df.fieldname))
		]
		if changed or (not phones_may_change and phone_rows(before) != phone_rows(self)):
			self.refuse_edit(frappe._("An inbound text is evidence and cannot be edited; use Mark Reviewed."))


def phone_rows(doc) -> list[tuple]:
	return [(row.get("name"), row.phone, row.phone_type, row.outcome) for row in doc.get("phones") or ()]
