# Copyright (c) 2026, opt_consent developers
# License: MIT

import frappe
from frappe import _
from frappe.model.document import Document

from opt_consent.adapters.records import normalize_value

REVIEW_FIELDS = ("status", "review_note", "reviewed_by", "reviewed_at")


class InboundText(Document):
	"""An inbound text as the gateway posted it. Only the endpoint creates one; only a review changes one."""

	def validate(self):
		if self.is_new():
			self.guard_origin()
		else:
			self.guard_changes()

	def guard_origin(self):
		if not self.flags.from_gateway:
			frappe.throw(
				_("Inbound texts are recorded by the SMS gateway endpoint only."), frappe.PermissionError
			)

	def guard_changes(self):
		"""Nothing changes but a review (status, note, who, when), or a gateway retry of a revocation that
		was not applied (status and the phones' outcomes)."""
		before = self.get_doc_before_save()
		allowed = ()
		if self.flags.inbound_review:
			allowed = REVIEW_FIELDS
		elif self.flags.inbound_retry:
			allowed = ("status",)
		changed = [
			df.label or df.fieldname
			for df in self.meta.fields
			if df.fieldtype not in ("Section Break", "Column Break", "Table")
			and df.fieldname not in allowed
			and normalize_value(df.fieldtype, before.get(df.fieldname))
			!= normalize_value(df.fieldtype, self.get(df.fieldname))
		]
		if changed or (not self.flags.inbound_retry and phone_rows(before) != phone_rows(self)):
			frappe.throw(
				_("An inbound text is evidence and cannot be edited; use Mark Reviewed."),
				exc=frappe.PermissionError,
				title=_("Not saved"),
			)

	def on_trash(self):
		if "System Manager" not in frappe.get_roles():
			frappe.throw(_("An inbound text is evidence and cannot be deleted."), exc=frappe.PermissionError)


def phone_rows(doc) -> list[tuple]:
	return [(row.get("name"), row.phone, row.phone_type, row.outcome) for row in doc.get("phones") or ()]
