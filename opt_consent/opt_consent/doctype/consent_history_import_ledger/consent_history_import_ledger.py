# Copyright (c) 2026, opt_consent developers
# License: MIT

import frappe
from frappe import _
from frappe.model.document import Document


class ConsentHistoryImportLedger(Document):
	"""One imported event, keyed by its external_id or fingerprint: written set-based by the import only,
	in the same transaction as the log row it names, so that the same event is never imported twice."""

	def validate(self):
		frappe.throw(
			_("The import ledger is written by consent history imports only."), exc=frappe.PermissionError
		)

	def on_trash(self):
		frappe.throw(
			_("The import ledger is written by consent history imports only."), exc=frappe.PermissionError
		)
