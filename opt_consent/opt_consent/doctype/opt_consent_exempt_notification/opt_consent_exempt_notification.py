# Copyright (c) 2026, opt_consent developers
# License: MIT

from frappe.model.document import Document


class OptConsentExemptNotification(Document):
	"""A Notification whose texts are transactional: sent without the texting consent check (and recorded)."""
