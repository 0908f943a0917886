# Copyright (c) 2026, opt_consent developers
# License: MIT

from frappe.model.document import Document


class OptConsentContactRule(Document):
	"""One Contact Control rule of Opt Consent Settings (checked by the settings on save)."""
