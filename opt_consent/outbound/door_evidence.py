"""Evidence the SMS door keeps (Withheld Message, Sent Text): recorded by the door only, never edited, deleted
by a System Manager only. One controller base for both, so the two stay alike."""

from __future__ import annotations

import frappe
from frappe import _
from frappe.model.document import Document


class DoorEvidence(Document):
	"""A row only the SMS door writes (``flags.from_sms_door``). Subclasses name themselves in ``NOUN``
	(translated, e.g. "A sent text") and the door in ``DOOR``."""

	NOUN = "This record"
	DOOR = "the SMS door"

	def validate(self):
		if not self.is_new():
			frappe.throw(
				_("{0} is evidence and cannot be edited.").format(_(self.NOUN)),
				exc=frappe.PermissionError,
				title=_("Not saved"),
			)
		if not self.flags.from_sms_door:
			frappe.throw(
				_("{0} is recorded by {1} only.").format(_(self.doctype), _(self.DOOR)),
				exc=frappe.PermissionError,
			)

	def on_trash(self):
		if "System Manager" not in frappe.get_roles():
			frappe.throw(
				_("{0} is evidence and cannot be deleted.").format(_(self.NOUN)), exc=frappe.PermissionError
			)
