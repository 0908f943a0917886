# Copyright (c) 2026, opt_consent developers
# License: MIT

import frappe
from frappe import _
from frappe.model.document import Document


class OptLog(Document):
	"""A consent log row. Rows are written only as part of their Phone or Email by a consent action.

	A parent's save does not run these hooks; they run only when a row is inserted, saved or deleted on
	its own (REST calls on Opt Log, Data Import), which is never allowed.
	"""

	def validate(self):
		self.refuse()

	def on_trash(self):
		self.refuse()

	def refuse(self):
		frappe.throw(
			_(
				"Opt In/Out Log rows are evidence: they are recorded by consent actions and cannot be changed."
			),
			exc=frappe.PermissionError,
		)
