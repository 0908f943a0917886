# Copyright (c) 2026, opt_consent developers
# License: MIT

import frappe
from frappe import _
from frappe.model.document import Document


class EvidenceExport(Document):
	"""That evidence was produced for a consent record: by whom, when, in which format, and the SHA-256 of
	its JSON twin. Written only by :mod:`opt_consent.evidence_document.document`; nobody edits or deletes one
	(not even a System Manager: the log of who took evidence away is itself evidence)."""

	def before_insert(self):
		if not self.flags.from_evidence:
			frappe.throw(
				_("Evidence Exports are recorded only when evidence is produced (the Evidence button)."),
				exc=frappe.PermissionError,
			)

	def validate(self):
		if not self.is_new():
			frappe.throw(
				_("An Evidence Export is a log entry and cannot be edited."),
				exc=frappe.PermissionError,
				title=_("Not saved"),
			)

	def on_trash(self):
		frappe.throw(
			_("An Evidence Export is a log entry and cannot be deleted."), exc=frappe.PermissionError
		)
