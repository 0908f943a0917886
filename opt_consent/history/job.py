"""The doors of the consent history import: the desk's Dry Run and Apply (background jobs, progress
published to the form) and the command line (:mod:`opt_consent.commands`).

The desk's run is an **Opt Consent Run** of kind Import spread over the background workers:

- :func:`run_job` (the coordinator, one job) reads and checks the whole file and spills the valid events
  into buckets in the run's working folder (:func:`opt_consent.history.adapter.prepare`), then
  plans one chunk per bucket and enqueues them (:func:`opt_consent.jobs.runs.dispatch`);
- :func:`run_chunk` (any worker, one bucket) applies its bucket part by part, committing each part with
  its ledger rows and, on the chunk row, the parts done and their counts: a worker killed mid-bucket loses
  the part in hand only, and the chunk run again starts after the last committed part;
- the chunk that completes the run adds up every chunk's counts, joins the refusal reports and puts the
  summary on the import, in the transaction that marks it Done.

A dry run writes nothing but its run; an apply commits per part (see docs/IMPORT.md). The command line runs
the same steps in one process (:func:`opt_consent.history.adapter.run`).
"""

from __future__ import annotations

import json
import os

import frappe
from frappe import _
from frappe.utils import cint

from opt_consent.history import adapter as importer
from opt_consent.jobs import documents, runs
from opt_consent.jobs import rules as chunks

DOCTYPE = "Consent History Import"
ROLES = ("Opt Consent Manager", "System Manager")
DRY_RUN, APPLY = "Dry Run", "Apply"
QUEUED = ("Dry Run Queued", "Apply Queued")
CHUNK_METHOD = "opt_consent.history.job.run_chunk"


def check_may_import(doc=None) -> None:
	"""Only Opt Consent Managers and System Managers import history (the doctype's permissions say the same)."""
	if not set(ROLES) & set(frappe.get_roles()):
		frappe.throw(
			_("Only an Opt Consent Manager or a System Manager can import consent history."),
			frappe.PermissionError,
		)
	if doc is not None:
		doc.check_permission("write")


def import_queue() -> str:
	return frappe.conf.get("opt_consent_import_queue") or runs.queue()


def job_id(name: str) -> str:
	return documents.job_id("opt-consent-import", name)


def still_running(doc) -> bool:
	"""Whether the import's coordinator job or a chunk of its last run is queued or in a live worker's hands,
	whatever its status says (an import whose workers were all killed may be started again: the ledger makes
	an apply go on). A queued import is not started twice: its job is queued once the request that queued it
	commits."""
	return documents.still_running(job_id(doc.name), doc.consent_run)


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


def progress_of(name: str):
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

	return progress


def run_job(
	name: str,
	mode: str,
	queue_name: str | None = None,
	inline: bool = False,
	buckets: int | None = None,
	chunk_events: int | None = None,
) -> str | None:
	"""The coordinator job: the first pass, then one chunk per bucket for the workers (``inline``: run here,
	one after the other). ``buckets`` and ``chunk_events`` (events per part) override the sizes the file's
	size sets (tests, benchmarks). Returns the run's name (None when the file was refused)."""
	dry_run = mode == DRY_RUN
	doc = frappe.get_doc(DOCTYPE, name)
	run = documents.open_run(runs.IMPORT, DOCTYPE, name, "bucket", CHUNK_METHOD)
	set_status(doc, "Dry Run Running" if dry_run else "Applying", consent_run=run.name)
	options = options_of(doc, dry_run)
	options.buckets = cint(buckets) or None
	options.chunk_events = cint(chunk_events) or options.chunk_events
	try:
		prepared = importer.prepare(
			file_path(doc.import_file), options, runs.work_dir(run.name), progress_of(name)
		)
	except Exception as error:
		documents.give_up_first_pass(
			run.name, lambda: frappe.db.set_value(DOCTYPE, name, "consent_run", None, update_modified=False)
		)
		record_failure(name, mode, error)
		return None
	run.summary = json.dumps({**prepared.as_dict(), "mode": mode, "options": options_dict(options)})
	planned = [
		("Bucket", chunks.Chunk(no, (bucket,), (bucket,))) for no, bucket in enumerate(prepared.buckets)
	]
	runs.add_chunks(run, planned)
	if not planned:  # every row refused by the first pass
		complete(run.name)
	importer_commit()
	runs.dispatch(run.name, inline, queue_name or import_queue())
	return run.name


def run_chunk(run: str, chunk_no: int) -> int:
	"""One bucket of an import's run (what a worker runs), as the user who started the import. Returns the
	events it recorded (0 when the chunk is Done already, or its import started a newer run)."""
	claimed = documents.claim_chunk(run, chunk_no, DOCTYPE, ("parts_done", "result"), ("summary",))
	if not claimed:
		return 0
	row, meta = claimed
	summary = json.loads(meta.summary)
	mode, name = summary["mode"], meta.reference_name
	context = importer.Context.make(importer.Options(**summary["options"], import_name=name))
	total = importer.Result.from_dict(json.loads(row.result or "{}"))

	def part_done(part_no: int, part: importer.Result) -> None:
		total.add(part)
		frappe.db.sql(
			"update `tabOpt Consent Run Chunk` set parts_done = %s, result = %s where name = %s",
			(part_no + 1, json.dumps(total.as_dict()), row.name),
		)
		importer_commit()

	try:
		bucket = chunks.decode_key(row.after_key)[0]
		importer.apply_bucket(
			runs.work_dir(run), bucket, context, cint(row.parts_done), part_done, importer_commit
		)

		def finish() -> None:
			runs.lock_run(run)
			if runs.finish_chunk(run, row.name, total.recorded, result=json.dumps(total.as_dict())):
				complete(run)

		runs.in_transaction(finish, importer_commit)
	except Exception as error:
		frappe.db.rollback()
		record_failure(name, mode, error)
		return 0
	progress = runs.progress_of(run)
	progress_of(name)(
		10 + int(90 * progress.chunks_done / max(progress.chunks_total, 1)),
		_("{0} of {1} parts of the file done").format(progress.chunks_done, progress.chunks_total),
	)
	return total.recorded


def complete(run: str) -> None:
	"""The run's last chunk (in its transaction): every chunk's counts added up, the refusal reports
	joined, the summary put on the import; the working folder removed once that is committed."""
	meta = frappe.db.get_value(runs.RUN, run, ["reference_name", "summary"], as_dict=True)
	if not documents.is_latest_run(DOCTYPE, meta.reference_name, run):
		return  # the import was started again since: its newer run reports
	summary = json.loads(meta.summary)
	result = importer.merge(runs.work_dir(run), summary, runs.chunk_results(run), summary["buckets"])
	doc = frappe.get_doc(DOCTYPE, meta.reference_name)
	record_result(doc, result, summary["mode"])
	frappe.db.after_commit.add(lambda: runs.remove_work_dir(run))
	progress_of(doc.name)(100, _("Done"))


def record_failure(name: str, mode: str, error: Exception) -> None:
	"""The import Failed, with the message (and, for anything but a refused file, an Error Log)."""
	doc = frappe.get_doc(DOCTYPE, name)
	if not isinstance(error, frappe.ValidationError):
		frappe.log_error(title=_("Consent history import failed"))
	message = frappe.utils.strip_html(str(error)) or _("The import failed; see the Error Log.")
	if mode != DRY_RUN:
		message += " " + _("Parts already applied are kept and complete; run Apply again to continue.")
	frappe.local.message_log = []
	set_status(doc, "Failed", error_message=message, last_run=mode)


def options_dict(options: importer.Options) -> dict:
	return {
		"dry_run": options.dry_run,
		"date_format": options.date_format,
		"time_zone": options.time_zone,
		"mapping": options.mapping,
		"chunk_events": options.chunk_events,
		"buckets": options.buckets,
	}


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
