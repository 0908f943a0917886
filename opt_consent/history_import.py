"""The doors of the consent history import: the desk's Dry Run and Apply (background jobs on the long
queue, progress published to the form) and the command line (:mod:`opt_consent.commands`).

The work is :func:`opt_consent.adapters.history_import.run`; a dry run writes nothing, an apply commits
per chunk (see docs/IMPORT.md).
"""

from __future__ import annotations

import os

import frappe
from frappe import _
from frappe.utils import cint

from opt_consent.adapters import history_import as importer

DOCTYPE = "Consent History Import"
ROLES = ("Opt Consent Manager", "System Manager")
DRY_RUN, APPLY = "Dry Run", "Apply"


def check_may_import(doc=None) -> None:
	"""Only Opt Consent Managers and System Managers import history (the doctype's permissions say the same)."""
	if not set(ROLES) & set(frappe.get_roles()):
		frappe.throw(
			_("Only an Opt Consent Manager or a System Manager can import consent history."),
			frappe.PermissionError,
		)
	if doc is not None:
		doc.check_permission("write")


@frappe.whitelist(methods=["POST"])
def start(name: str, mode: str) -> dict:
	"""Queue a dry run or an apply of import ``name`` (``mode``: "Dry Run" or "Apply")."""
	if mode not in (DRY_RUN, APPLY):
		frappe.throw(_("Mode must be Dry Run or Apply."))
	doc = frappe.get_doc(DOCTYPE, name)
	check_may_import(doc)
	if doc.status in ("Dry Run Queued", "Dry Run Running", "Apply Queued", "Applying"):
		frappe.throw(_("This import is already running."), title=_("Not started"))
	if mode == APPLY and doc.status not in ("Dry Run Done", "Failed", "Applied"):
		frappe.throw(_("Run a dry run first, and look at what it would record."), title=_("Not started"))
	if not doc.import_file:
		frappe.throw(_("Attach the CSV file first."), title=_("Not started"))
	doc.flags.from_import_job = True
	doc.status = "Dry Run Queued" if mode == DRY_RUN else "Apply Queued"
	doc.error_message = None
	doc.save()
	frappe.enqueue(
		"opt_consent.history_import.run_job",
		queue=frappe.conf.get("opt_consent_import_queue") or "long",
		timeout=6 * 3600,
		job_id=f"opt-consent-import::{name}",
		deduplicate=True,
		enqueue_after_commit=True,
		name=name,
		mode=mode,
	)
	return {"status": doc.status}


def file_path(file_url: str) -> str:
	"""The disk path of an attached file (private or public), through Frappe's File."""
	name = frappe.db.get_value("File", {"file_url": file_url}, "name")
	if not name:
		frappe.throw(_("The attached file {0} was not found.").format(file_url), exc=importer.ImportFileError)
	return frappe.get_doc("File", name).get_full_path()


def options_of(doc, dry_run: bool) -> importer.Options:
	return importer.Options(
		dry_run=dry_run,
		date_format=doc.date_format or "YYYY-MM-DD",
		time_zone=doc.time_zone or None,
		mapping={row.from_method: row.to_method for row in doc.method_mapping or () if row.to_method},
		import_name=doc.name,
	)


def run_job(name: str, mode: str) -> None:
	"""The background job: run, commit per chunk (apply), and put the summary on the import."""
	dry_run = mode == DRY_RUN
	doc = frappe.get_doc(DOCTYPE, name)
	set_status(doc, "Dry Run Running" if dry_run else "Applying")

	def progress(percent: int, text: str) -> None:
		frappe.publish_progress(
			percent, title=_("Consent history import"), doctype=DOCTYPE, docname=name, description=text
		)
		frappe.publish_realtime(
			"opt_consent_import_progress",
			{"name": name, "percent": percent, "text": text},
			doctype=DOCTYPE,
			docname=name,
		)

	try:
		result = importer.run(file_path(doc.import_file), options_of(doc, dry_run), progress, importer_commit)
	except Exception as error:
		frappe.db.rollback()
		doc = frappe.get_doc(DOCTYPE, name)
		if not isinstance(error, frappe.ValidationError):
			frappe.log_error(title=_("Consent history import failed"))
		message = frappe.utils.strip_html(str(error)) or _("The import failed; see the Error Log.")
		if not dry_run:
			message += " " + _("Chunks already applied are kept and complete; run Apply again to continue.")
		set_status(doc, "Failed", error_message=message, last_run=mode)
		frappe.db.commit()  # nosemgrep: a background job records its failure
		return
	doc = frappe.get_doc(DOCTYPE, name)
	record_result(doc, result, mode)
	frappe.db.commit()  # nosemgrep: a background job's last commit
	progress(100, _("Done"))


def importer_commit() -> None:
	frappe.db.commit()  # nosemgrep: a background job commits per chunk (complete, idempotent chunks)


def set_status(doc, status: str, **values) -> None:
	doc.flags.from_import_job = True
	values["status"] = status
	doc.db_set(values, notify=True)
	frappe.db.commit()  # nosemgrep: the status must show while the job runs


def record_result(doc, result: importer.Result, mode: str) -> None:
	"""The summary, the first refused rows, the full report as a private attachment, unknown methods."""
	doc.flags.from_import_job = True
	doc.status = "Dry Run Done" if mode == DRY_RUN else "Applied"
	doc.last_run = mode
	doc.error_message = None
	doc.total_rows = result.rows
	doc.recorded = result.recorded
	doc.refused_count = result.refused
	doc.duplicates = result.duplicates
	doc.new_records = result.new_records
	doc.set(
		"refused_rows",
		[{k: r[k] for k in ("line", "address", "channel", "action", "reason")} for r in result.kept],
	)
	mapped = {row.from_method: row for row in doc.method_mapping or ()}
	for method, count in sorted(result.unknown_methods.items()):
		if method in mapped:
			mapped[method].rows = count
		elif method:
			doc.append("method_mapping", {"from_method": method, "rows": count})
	doc.report_file = None
	if result.report_path:
		with open(result.report_path, "rb") as report:
			content = report.read()
		os.unlink(result.report_path)
		saved = frappe.get_doc(
			{
				"doctype": "File",
				"file_name": f"{doc.name}-refused-{mode.lower().replace(' ', '-')}.csv",
				"attached_to_doctype": DOCTYPE,
				"attached_to_name": doc.name,
				"is_private": 1,
				"content": content,
			}
		).insert(ignore_permissions=True)
		doc.report_file = saved.file_url
	doc.save(ignore_permissions=True)


def run_file(
	path: str,
	dry_run: bool,
	mapping: dict | None = None,
	date_format: str | None = None,
	time_zone: str | None = None,
	chunk_events: int | None = None,
) -> importer.Result:
	"""The command line's run (``bench --site S opt-consent-import FILE``): the same work, committing per
	chunk when applying."""
	check_may_import()
	options = importer.Options(
		dry_run=dry_run,
		date_format=date_format or "YYYY-MM-DD",
		time_zone=time_zone,
		mapping=mapping or {},
		chunk_events=cint(chunk_events) or importer.hi.CHUNK_EVENTS,
	)
	return importer.run(path, options, None, None if dry_run else importer_commit)
