# Copyright (c) 2026, opt_consent developers
# License: MIT

import frappe
from frappe import _
from frappe.model.document import Document


class ContactAttempt(Document):
	"""Evidence of one outbound attempt. Recorded by the app's own doors only (``record_attempt``, the SMS door,
	the email queue); nobody edits one; only a System Manager deletes one."""

	def validate(self):
		if not self.is_new():
			frappe.throw(
				_("A contact attempt is evidence and cannot be edited."),
				exc=frappe.PermissionError,
				title=_("Not saved"),
			)
		if not self.flags.from_contact_control:
			frappe.throw(
				_(
					"Contact attempts are recorded through Record Attempt, the SMS door or the email queue only."
				),
				exc=frappe.PermissionError,
			)

	def on_trash(self):
		if "System Manager" not in frappe.get_roles():
			frappe.throw(
				_("A contact attempt is evidence and cannot be deleted."), exc=frappe.PermissionError
			)
