# Copyright (c) 2026, opt_consent developers
# License: MIT

import frappe
from frappe.model.document import Document

from opt_consent.jobs import runs


class OptConsentRun(Document):
	"""A long job cut into chunks (see :mod:`opt_consent.jobs.runs`): its chunks and outcome. Written by
	the jobs only; read-only in the desk."""


@frappe.whitelist(methods=["POST"])
def verify_all_records() -> str:
	"""Verify every record's log in the background workers; the run's record shows the outcome. Managers,
	auditors and System Managers. Returns the run's name."""
	return runs.request_integrity_run()


@frappe.whitelist(methods=["POST"])
def resume(run: str) -> None:
	"""Queue again the chunks of a run that are not done (a worker was stopped or a job failed). Harmless
	for chunks still queued or running; a chunk run twice changes nothing the second time."""
	runs.request_resume(run)
