# Copyright (c) 2026, opt_consent developers
# License: MIT

import frappe
from frappe import _
from frappe.model.document import Document


class ConsentWordingMethod(Document):
	"""An Opt Method a Consent Wording is used with: a row of its Methods, changed only with its wording
	(whose save checks that it is a Draft). These hooks run only when a row is saved or deleted on its own
	(REST on the child doctype, Data Import), which is refused."""

	def validate(self):
		self.refuse()

	def on_trash(self):
		self.refuse()

	def refuse(self):
		frappe.throw(
			_("A Consent Wording's methods are changed on the wording itself, while it is a Draft."),
			exc=frappe.PermissionError,
		)
