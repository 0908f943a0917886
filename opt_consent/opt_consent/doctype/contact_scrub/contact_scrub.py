# Copyright (c) 2026, opt_consent developers
# License: MIT

import frappe
from frappe import _
from frappe.model.document import Document
from frappe.utils import get_datetime

from opt_consent.scrub import adapter as scrub_adapter

# What the list is (a person edits these while the scrub is not queued or running).
INPUTS = ("channel", "at", "reference", "input_file")
# What the job writes (never a person: REST included).
JOB_FIELDS = (
	"status",
	"started_by",
	"scrubbed_at",
	"error",
	"total",
	"processed",
	"allowed_count",
	"result_file",
	"reason_counts",
	"consent_run",
)


class ContactScrub(Document):
	"""A CSV of addresses scrubbed by a background job (:mod:`opt_consent.scrub.adapter`).

	People set the list (channel, moment, reference, file); the job alone sets the status, the counts and
	the result. Changing the list of a finished scrub makes it a Draft again and drops the stale result.
	"""

	def validate(self):
		if self.flags.from_scrub_job:
			return
		before = self.get_doc_before_save()
		if self.input_file and (before is None or before.input_file != self.input_file):
			scrub_adapter.readable_file(self.input_file)  # a file this user may read, on this site
		if before is None:
			for field in JOB_FIELDS:
				self.set(field, None)
			self.status = scrub_adapter.DRAFT
			return
		for field in JOB_FIELDS:
			self.set(field, before.get(field))
		changed = [field for field in INPUTS if value_of(before, field) != value_of(self, field)]
		if not changed:
			return
		if before.status in scrub_adapter.ACTIVE:
			frappe.throw(
				_("The scrub is queued or running: its list cannot change until it ends."),
				title=_("Not saved"),
			)
		if before.status != scrub_adapter.DRAFT:
			for field in JOB_FIELDS:
				self.set(field, None)
			self.status = scrub_adapter.DRAFT
			self.flags.drop_result = True

	def on_update(self):
		if self.flags.drop_result:
			scrub_adapter.remove_result(self)


def value_of(doc, field: str):
	value = doc.get(field)
	if field == "at":
		return get_datetime(value) if value else None
	return value or None


@frappe.whitelist(methods=["POST"])
def start_scrub(name: str) -> dict:
	"""Start Scrub: queue the scrub as a background job on the long queue (once: a second click while it
	is queued or running starts nothing). Needs write permission on the scrub and read on the records."""
	return scrub_adapter.start(name)
