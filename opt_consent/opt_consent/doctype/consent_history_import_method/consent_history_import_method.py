# Copyright (c) 2026, opt_consent developers
# License: MIT

from frappe.model.document import Document


class ConsentHistoryImportMethod(Document):
	"""A method named in an import's file, and the Opt Method it stands for."""
