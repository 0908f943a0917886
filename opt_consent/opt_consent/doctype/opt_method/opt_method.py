# Copyright (c) 2026, opt_consent developers
# License: MIT

import frappe
from frappe import _
from frappe.model.document import Document


class OptMethod(Document):
	def validate(self):
		if not self.for_opt_in and not self.for_opt_out:
			frappe.throw(_("An Opt Method must be usable to opt in, to opt out, or both."))

	def before_rename(self, old: str, new: str, merge: bool = False):
		"""Records name the method their consent was given by, and a rename would rewrite those fields away
		from what their sealed log says: a method in use keeps its name (disable it and add another)."""
		if frappe.db.exists("Opt Log", {"method": old}):
			frappe.throw(
				_(
					"Opt Method {0} is named in the consent log and cannot be renamed; disable it and add a new one."
				).format(frappe.bold(old)),
				title=_("Not renamed"),
			)
		if frappe.db.exists("Consent Wording Method", {"method": old}):
			frappe.throw(
				_(
					"Opt Method {0} is named by a Consent Wording, whose published versions never change: it "
					"cannot be renamed; disable it and add a new one."
				).format(frappe.bold(old)),
				title=_("Not renamed"),
			)
