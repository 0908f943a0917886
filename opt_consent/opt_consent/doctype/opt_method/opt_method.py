# Copyright (c) 2026, opt_consent developers
# License: MIT

import frappe
from frappe import _
from frappe.model.document import Document


class OptMethod(Document):
	def validate(self):
		if not self.for_opt_in and not self.for_opt_out:
			frappe.throw(_("An Opt Method must be usable to opt in, to opt out, or both."))
