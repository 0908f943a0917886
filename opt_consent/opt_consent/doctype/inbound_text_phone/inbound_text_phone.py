# Copyright (c) 2026, opt_consent developers
# License: MIT

import frappe
from frappe import _
from frappe.model.document import Document


class InboundTextPhone(Document):
	"""What an inbound text did to one phone: evidence, written with its Inbound Text only.

	A parent's save does not run these hooks; they run only when a row is saved or deleted on its own
	(REST calls on Inbound Text Phone), which is never allowed.
	"""

	def validate(self):
		self.refuse()

	def on_trash(self):
		self.refuse()

	def refuse(self):
		frappe.throw(
			_("The phones of an inbound text are evidence and cannot be changed."), exc=frappe.PermissionError
		)
