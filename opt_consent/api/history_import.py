"""The desk's door to the consent history import: Dry Run and Apply queue the import's coordinator job
(:func:`opt_consent.history.job.run_job`), which spreads the work over the workers."""

import frappe
from frappe import _

from opt_consent.history import job


@frappe.whitelist(methods=["POST"])
def start(name: str, mode: str) -> dict:
	"""Queue a dry run or an apply of import ``name`` (``mode``: "Dry Run" or "Apply")."""
	if mode not in (job.DRY_RUN, job.APPLY):
		frappe.throw(_("Mode must be Dry Run or Apply."))
	doc = frappe.get_doc(job.DOCTYPE, name)
	job.check_may_import(doc)
	if doc.status in job.QUEUED or job.still_running(doc):
		frappe.throw(_("This import is already running."), title=_("Not started"))
	if mode == job.APPLY and doc.status not in ("Dry Run Done", "Failed", "Applied"):
		frappe.throw(_("Run a dry run first, and look at what it would record."), title=_("Not started"))
	if not doc.import_file:
		frappe.throw(_("Attach the CSV file first."), title=_("Not started"))
	doc.flags.from_import_job = True
	doc.status = "Dry Run Queued" if mode == job.DRY_RUN else "Apply Queued"
	doc.error_message = None
	doc.save()
	frappe.enqueue(
		"opt_consent.history.job.run_job",
		queue=job.import_queue(),
		timeout=6 * 3600,
		job_id=job.job_id(name),
		deduplicate=True,
		enqueue_after_commit=True,
		name=name,
		mode=mode,
	)
	return {"status": doc.status}
