# Copyright (c) 2026, opt_consent developers
# License: MIT

from frappe.model.document import Document


class OptConsentNotificationPurpose(Document):
	pass
