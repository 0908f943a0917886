# Copyright (c) 2026, opt_consent developers
# License: MIT

import frappe
from frappe import _
from frappe.model.document import Document

RUNNING = ("Dry Run Queued", "Dry Run Running", "Apply Queued", "Applying")


class ConsentHistoryImport(Document):
	"""A CSV of consent history: a dry run says what would be recorded and refused, Apply records it.

	The runs are background jobs (:mod:`opt_consent.history_import`); this controller keeps the file and
	options from changing under a running job.
	"""

	def validate(self):
		before = self.get_doc_before_save()
		if not self.flags.from_import_job:  # the job's run, never set by a person (REST included)
			self.consent_run = before.consent_run if before else None
		if before and before.status in RUNNING and not self.flags.from_import_job:
			changed = [f for f in ("import_file", "date_format", "time_zone") if before.get(f) != self.get(f)]
			if changed:
				frappe.throw(
					_("The import is running: its file and options cannot change until it ends."),
					title=_("Not saved"),
				)
		seen = set()
		for row in self.method_mapping or ():
			if row.from_method in seen:
				frappe.throw(
					_("Method {0} is mapped twice.").format(frappe.bold(row.from_method)),
					title=_("Not saved"),
				)
			seen.add(row.from_method)
