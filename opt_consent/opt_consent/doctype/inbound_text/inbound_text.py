# Copyright (c) 2026, opt_consent developers
# License: MIT

import frappe
from frappe import _
from frappe.model.document import Document

from opt_consent.controllers import normalize_value

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
		before = self.get_doc_before_save()
		allowed = REVIEW_FIELDS if self.flags.inbound_review else ()
		changed = [
			df.label or df.fieldname
			for df in self.meta.fields
			if df.fieldtype not in ("Section Break", "Column Break", "Table")
			and df.fieldname not in allowed
			and normalize_value(df.fieldtype, before.get(df.fieldname))
			!= normalize_value(df.fieldtype, self.get(df.fieldname))
		]
		if changed or len(before.get("phones")) != len(self.get("phones")):
			frappe.throw(
				_("An inbound text is evidence and cannot be edited; use Mark Reviewed."),
				title=_("Not saved"),
			)
