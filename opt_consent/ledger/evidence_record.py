"""Records that are evidence beside the log (Contact Attempt, Evidence Export, Inbound Text, Withheld Message,
Sent Text): written by one of the app's doors only, never edited, deleted by a System Manager only (or by
nobody). One controller base, so that they stay alike."""

from __future__ import annotations

import frappe
from frappe import _
from frappe.model.document import Document


class EvidenceRecord(Document):
	"""A record only the door that sets ``flags[FLAG]`` writes. Subclasses name themselves in ``NOUN``
	(marked for translation, e.g. "A sent text"), the door in ``DOOR``, and who may delete one in
	``DELETED_BY`` (a role; None: nobody, not even a System Manager)."""

	NOUN = "This record"
	DOOR = "the app"
	FLAG = ""
	DELETED_BY: str | None = "System Manager"

	def validate(self):
		if self.is_new():
			self.guard_origin()
		else:
			self.guard_changes()

	def guard_origin(self):
		if not (self.FLAG and self.flags.get(self.FLAG)):
			frappe.throw(
				_("{0} is recorded by {1} only.").format(_(self.doctype), _(self.DOOR)),
				exc=frappe.PermissionError,
			)

	def guard_changes(self):
		"""Nothing changes once recorded (a subclass may allow its own steps)."""
		self.refuse_edit(_("{0} is evidence and cannot be edited.").format(_(self.NOUN)))

	def refuse_edit(self, message: str):
		frappe.throw(message, exc=frappe.PermissionError, title=_("Not saved"))

	def on_trash(self):
		if self.DELETED_BY is None or self.DELETED_BY not in frappe.get_roles():
			frappe.throw(
				_("{0} is evidence and cannot be deleted.").format(_(self.NOUN)), exc=frappe.PermissionError
			)
