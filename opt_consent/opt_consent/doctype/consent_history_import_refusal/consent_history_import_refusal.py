# Copyright (c) 2026, opt_consent developers
# License: MIT

from frappe.model.document import Document


class ConsentHistoryImportRefusal(Document):
	"""A row of an import's file that was not (or would not be) recorded, with the rules' reason."""
