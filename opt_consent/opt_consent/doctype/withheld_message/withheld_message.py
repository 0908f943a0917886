# Copyright (c) 2026, opt_consent developers
# License: MIT

import frappe
from frappe import _
from frappe.model.document import Document


class WithheldMessage(Document):
	"""Evidence of a text that left without texting consent in force (withheld, or sent as exempt / with no
	record). Only the SMS door records one; nobody edits one; only a System Manager deletes one."""

	def validate(self):
		if not self.is_new():
			frappe.throw(
				_("A withheld message is evidence and cannot be edited."),
				exc=frappe.PermissionError,
				title=_("Not saved"),
			)
		if not self.flags.from_sms_door:
			frappe.throw(
				_("Withheld messages are recorded by the SMS door only (Send SMS and SMS Notifications)."),
				exc=frappe.PermissionError,
			)

	def on_trash(self):
		if "System Manager" not in frappe.get_roles():
			frappe.throw(
				_("A withheld message is evidence and cannot be deleted."), exc=frappe.PermissionError
			)
