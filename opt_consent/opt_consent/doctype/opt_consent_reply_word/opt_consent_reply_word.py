# Copyright (c) 2026, opt_consent developers
# License: MIT

from frappe.model.document import Document


class OptConsentReplyWord(Document):
	"""A site's own word or phrase for reading inbound replies (a revocation, an opt-in or a help keyword)."""
