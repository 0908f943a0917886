"""Frappe adapter of the Contact Scrub: a CSV of numbers or email addresses scrubbed in the background.

- :func:`start` (the form's Start Scrub, through the controller): checks the user may write the scrub and
  read the channel's records, marks it Queued and enqueues :func:`run` on the long queue, one job per scrub
  (deduplicated: a second click while it waits or runs starts nothing).
- :func:`run` (the coordinator job, as the user who started it): a first pass reads the whole file
  (:func:`opt_consent.scrub.rules.read_addresses`: UTF-8, well-formed, an address column, within the
  size limit), counts it and writes its addresses in parts of :data:`PART` to the run's working folder;
  nothing is answered for a file that fails it. The scrub's **Opt Consent Run** (kind Scrub) gets one
  chunk per part, enqueued for the workers (:func:`opt_consent.jobs.runs.dispatch`).
- :func:`run_chunk` (any worker, one part): answers the part :data:`CHUNK` addresses at a time with
  :func:`opt_consent.contact_control.adapter.scrub` (the same answers as the API, with the permissions of
  the user who started it) into the part's answer file; then, in one transaction, adds the part's counts to
  the scrub and marks its chunk Done. The chunk that completes the run joins the answer files in line order
  into the result, attached as a private File, and the scrub is Done. On any error it is Failed with the
  message, and nothing is attached; a part run twice answers again and counts once.

Memory is bounded by a query round: the files are read and written as they go; the result File is
registered without being read back into memory (Frappe's File would load it whole). Re-running replaces
the result.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import itertools
import os
import shutil
import tempfile
from collections import Counter

import frappe
from frappe import _
from frappe.core.doctype.file.utils import generate_file_name
from frappe.utils import cint, get_datetime, get_files_path, now_datetime, strip_html

from opt_consent.contact_control import adapter as contact_control
from opt_consent.gate import adapter as gate_adapter
from opt_consent.gate import rules as gate
from opt_consent.jobs import documents, runs
from opt_consent.jobs import rules as chunks
from opt_consent.ledger.refusals import translate

# the pure rules' no-op marker, under a name Frappe's message extractor reads
from opt_consent.model.messages import _ as _lt
from opt_consent.scrub import rules as core

DOCTYPE = "Contact Scrub"
DRAFT, QUEUED, RUNNING, DONE, FAILED = "Draft", "Queued", "Running", "Done", "Failed"
ACTIVE = (QUEUED, RUNNING)
RESULT_FIELD = "result_file"
INPUT_FIELD = "input_file"
# Addresses answered per query round.
CHUNK = 5000
# Addresses per part: one chunk of the scrub's run, for one worker (10 query rounds).
PART = 50_000
CHUNK_METHOD = "opt_consent.scrub.adapter.run_chunk"
# A larger file is refused before it is read (site config ``opt_consent_scrub_max_mb``).
DEFAULT_MAX_MB = 100
JOB_TIMEOUT = 4 * 3600

ALLOWED_LABEL = _lt("Allowed now.")


class ScrubFileError(frappe.ValidationError):
	"""The file as a whole cannot be scrubbed (nothing was answered, nothing attached)."""


def max_bytes() -> int:
	return cint(frappe.conf.get("opt_consent_scrub_max_mb") or DEFAULT_MAX_MB) << 20


def job_id(name: str) -> str:
	return documents.job_id("opt_consent_contact_scrub", name)


# ---------------------------------------------------------------- starting


def start(name: str) -> dict:
	"""Queue the scrub ``name`` for the long queue's workers, as the current user."""
	doc = frappe.get_doc(DOCTYPE, name)
	doc.check_permission("write")
	check_may_read(doc.channel)
	if still_running(doc):
		frappe.throw(_("This scrub is already queued or running."), title=_("Not started"))
	if not doc.get(INPUT_FIELD):
		frappe.throw(_("Attach the CSV of addresses first."), title=_("Not started"))
	input_path(doc)  # the file is on this site and the user may read it
	doc.flags.from_scrub_job = True
	doc.db_set({"status": QUEUED, "error": None}, notify=True)
	frappe.enqueue(
		"opt_consent.scrub.adapter.run",
		queue=runs.queue(),
		timeout=JOB_TIMEOUT,
		job_id=job_id(name),
		deduplicate=True,
		enqueue_after_commit=True,
		name=name,
		user=frappe.session.user,
	)
	return {"status": QUEUED}


def still_running(doc) -> bool:
	"""Whether the scrub's coordinator job or a chunk of its last run is queued or in a live worker's hands,
	whatever its status says (a scrub whose workers were all killed may be started again)."""
	return documents.still_running(job_id(doc.name), doc.get("consent_run"))


def check_may_read(channel: str) -> None:
	"""The scrub answers from the records the user may read: none at all, no scrub."""
	doctype = gate_adapter.channel_spec(channel).doctype
	if not frappe.has_permission(doctype, "read"):
		frappe.throw(
			_("{0} may not read {1} records, so cannot scrub a list for {2}.").format(
				frappe.session.user, _(doctype), _(channel)
			),
			frappe.PermissionError,
			title=_("Not permitted"),
		)


def input_path(doc) -> str:
	"""The disk path of the scrub's attached CSV, once the current user is known to be allowed to read it."""
	return readable_file(doc.get(INPUT_FIELD) or "")


def readable_file(url: str) -> str:
	"""The disk path of the site's file at ``url`` when the current user may read it (a private file: its
	owner, or a reader of the document it is attached to); refused otherwise, as if it did not exist.

	Checked when a scrub's file is set (before Frappe copies an Attach field's file onto the scrub, which
	would make its saver the owner of a copy), when a scrub is started, and by the job."""
	if not url.startswith(("/files/", "/private/files/")):
		frappe.throw(
			_("Attach the CSV to this site (a link to another site cannot be read)."), ScrubFileError
		)
	for name in frappe.db.get_all("File", filters={"file_url": url, "is_folder": 0}, pluck="name"):
		file = frappe.get_doc("File", name)
		if file.is_downloadable():
			path = file.get_full_path()
			if os.path.isfile(path):
				return path
	frappe.throw(_("The attached file {0} was not found.").format(url), ScrubFileError)


# ---------------------------------------------------------------- the job


def run(
	name: str,
	user: str | None = None,
	queue_name: str | None = None,
	inline: bool = False,
	part_size: int | None = None,
) -> str | None:
	"""The coordinator job, as ``user`` (who started it): the answers cover the records they may read.

	The first pass reads the whole file and checks it, counts it and writes its addresses into parts of
	``part_size`` (default :data:`PART`) in the run's working folder; nothing is answered for a file that
	fails it. Then one chunk per part for the workers (``inline``: run here, one after the other). Returns the
	run's name (None when the scrub failed before its chunks)."""
	if user:
		frappe.set_user(user)
	doc = frappe.get_doc(DOCTYPE, name)
	run = open_run(doc)
	try:
		plan_parts(doc, run, part_size or PART)
	except Exception as error:
		documents.give_up_first_pass(run.name, lambda: set_values(doc, consent_run=None), rollback)
		failed(name, error)
		return None
	runs.dispatch(run.name, inline, queue_name)
	return run.name


def open_run(doc):
	"""A new Opt Consent Run for the scrub, which is marked Running from its moment on, its counts and its
	earlier result cleared (committed)."""
	moment = doc.at or now_datetime()
	remove_result(doc)
	run = documents.open_run(runs.SCRUB, DOCTYPE, doc.name, "line", CHUNK_METHOD)
	set_values(
		doc,
		notify=True,
		status=RUNNING,
		error=None,
		total=0,
		processed=0,
		allowed_count=0,
		reason_counts=None,
		scrubbed_at=moment,
		started_by=frappe.session.user,
		consent_run=run.name,
	)
	commit()
	return run


def plan_parts(doc, run, part_size: int) -> None:
	"""The first pass: the file checked (the user may read the channel, the file is not too large, it
	reads), counted and split into parts in the run's working folder, and one chunk a part (committed)."""
	check_may_read(doc.channel)
	path = input_path(doc)
	size = os.path.getsize(path)
	if size > max_bytes():
		refuse_file(
			core.FileRefused(
				"too_large",
				_lt("The file is {0} MB; the limit is {1} MB (site config opt_consent_scrub_max_mb)."),
				max(size >> 20, 1),
				max_bytes() >> 20,
			)
		)
	total, parts = split_input(path, doc.channel, runs.work_dir(run.name), part_size)
	set_values(doc, total=total)
	run.summary = frappe.as_json({"total": total, "parts": parts}, indent=None)
	runs.add_chunks(run, [("Part", chunks.Chunk(no, (no,), (no,))) for no in range(parts)])
	commit()


def run_chunk(run: str, chunk_no: int) -> int:
	"""One part of a scrub's run (what a worker runs), as the user who started the scrub: its addresses
	answered :data:`CHUNK` at a time into the part's answer file; then, in one transaction, the part's counts
	added to the scrub and its chunk marked Done (a chunk run twice adds nothing), and the chunk that
	completes the run joins the parts into the result. Returns the addresses answered."""
	claimed = documents.claim_chunk(run, chunk_no, DOCTYPE)
	if not claimed:  # Done already, or the scrub was started again since: this run is stale
		return 0
	row, meta = claimed
	doc = frappe.get_doc(DOCTYPE, meta.reference_name)
	try:
		check_may_read(doc.channel)
		part = chunks.decode_key(row.after_key)[0]
		counts = answer_part(doc, runs.work_dir(run), part, get_datetime(doc.scrubbed_at))
		answered = runs.in_transaction(lambda: count_part(doc, run, row.name, counts), commit, rollback)
	except Exception as error:
		rollback()
		failed(doc.name, error)
		return 0
	if not answered:  # another worker finished it meanwhile
		return 0
	done = frappe.db.get_value(DOCTYPE, doc.name, ["processed", "total"], as_dict=True)
	progress(
		doc,
		min(100, int(100 * done.processed / max(done.total or 0, 1))),
		_("{0} of {1} addresses").format(done.processed, done.total),
	)
	return answered


def failed(name: str, error: Exception) -> None:
	"""Record the failure on the scrub (and, for anything but a refused file, in the Error Log)."""
	message = strip_html(str(error)).strip()
	if not isinstance(error, frappe.ValidationError | frappe.PermissionError):
		frappe.log_error(title=_("Contact scrub failed"), reference_doctype=DOCTYPE, reference_name=name)
		message = _("The scrub failed: {0}. See the Error Log.").format(message or type(error).__name__)
	frappe.local.message_log = []
	doc = frappe.get_doc(DOCTYPE, name)
	set_values(doc, notify=True, status=FAILED, error=message[:1000] or _("The scrub failed."))
	commit()
	progress(doc, 100, _("Failed"))


def refuse_file(refusal: core.FileRefused):
	frappe.throw(translate(refusal), exc=ScrubFileError, title=_("File not scrubbed"))


def count_part(doc, run: str, chunk_row: str, counts: Counter) -> int:
	"""The part's counts added to the scrub and its chunk marked Done, in one transaction (the caller's),
	the run's row locked first (so the chunks' ends queue up there rather than deadlock); the chunk that
	completes the run joins the parts. 0 when the chunk is Done already."""
	runs.lock_run(run)
	if not documents.is_latest_run(DOCTYPE, doc.name, run):
		return 0  # the scrub was started again since this chunk began: its counts belong to no result
	locked = frappe.db.sql(
		"select status from `tabOpt Consent Run Chunk` where name = %s for update", chunk_row
	)
	if not locked or locked[0][0] == runs.DONE:
		return 0
	answered = sum(counts.values())
	frappe.db.sql(
		"""update `tabContact Scrub` set processed = processed + %s, allowed_count = allowed_count + %s
		where name = %s""",
		(answered, counts.get(gate.OPTED_IN, 0), doc.name),
	)
	if runs.finish_chunk(run, chunk_row, answered, result=frappe.as_json(counts, indent=None)):
		join(doc, run)
	return answered


def split_input(path: str, channel: str, folder: str, part_size: int) -> tuple[int, int]:
	"""The first pass: the whole file read and checked, its addresses counted and written ``part_size`` to a
	part (none answered). Returns the count and the number of parts."""
	email = gate_adapter.channel_spec(channel).doctype == "Email"
	os.makedirs(folder, exist_ok=True)
	count, out = 0, None
	try:
		with open(path, "rb") as binary:
			try:
				for address in core.read_addresses(binary, email, max_bytes()):
					if count % part_size == 0:
						if out:
							out.close()
						out = open(
							part_path(folder, "in", count // part_size), "w", newline="", encoding="utf-8"
						)
						writer = csv.writer(out)
					writer.writerow([address])
					count += 1
			except core.FileRefused as refusal:
				refuse_file(refusal)
	finally:
		if out:
			out.close()
	if not count:
		refuse_file(core.FileRefused("empty", _lt("The file is empty: it needs at least one address.")))
	return count, -(-count // part_size)


def part_path(folder: str, kind: str, part: int) -> str:
	return os.path.join(folder, f"{kind}-{part}.csv")


def answer_part(doc, folder: str, part: int, moment: dt.datetime) -> Counter:
	"""A part's addresses answered :data:`CHUNK` at a time (the same answers as the API, with the user's
	permissions) and written to the part's answer file (complete, or not there). A scrub with an *At*
	answers consent as it stood at ``moment``; one without answers consent now and the rules at ``moment``
	(when it started), as the API does without ``at``."""
	at = moment if doc.at else None
	counts: Counter = Counter()
	labels: dict[str, str] = {}
	final = part_path(folder, "out", part)
	with (
		open(part_path(folder, "in", part), newline="", encoding="utf-8") as source,
		open(final + ".tmp", "w", newline="", encoding="utf-8") as out,
	):
		writer = csv.writer(out)
		addresses = (cells[0] if cells else "" for cells in csv.reader(source))
		while batch := list(itertools.islice(addresses, CHUNK)):
			rows = contact_control.scrub(
				doc.channel, batch, at, doc.reference, check_permission=True, now=moment
			)
			writer.writerows(result_rows(rows, labels))
			counts.update(row["reason"] for row in rows)
	os.replace(final + ".tmp", final)
	return counts


def join(doc, run: str) -> None:
	"""The run's last chunk (in its transaction): the parts' answers joined into the result, attached; the
	counts from every chunk's Done row; the scrub Done. The working folder goes once that is committed."""
	folder = runs.work_dir(run)
	counts: Counter = Counter()
	for result in runs.chunk_results(run):
		counts.update(result)
	parts = frappe.db.count(runs.CHUNK, {"parent": run, "parenttype": runs.RUN})
	partial = result_path(doc.name)
	try:
		with open(partial, "w", newline="", encoding="utf-8") as out:
			csv.writer(out).writerow(core.RESULT_COLUMNS)
			for part in range(parts):
				with open(part_path(folder, "out", part), encoding="utf-8", newline="") as answers:
					shutil.copyfileobj(answers, out)
		attach_result(doc, partial)
	finally:
		if os.path.exists(partial):
			os.unlink(partial)
	total = frappe.db.get_value(DOCTYPE, doc.name, "total")
	set_values(
		doc,
		notify=True,
		status=DONE,
		processed=total,
		allowed_count=counts.get(gate.OPTED_IN, 0),
		reason_counts=frappe.as_json(
			[{"reason": r, "label": reason_label(r), "count": n} for r, n in counts.most_common()],
			indent=None,
		),
	)
	frappe.db.after_commit.add(lambda: runs.remove_work_dir(run))
	progress(doc, 100, _("Done"))


def result_rows(rows: list[dict], labels: dict[str, str]) -> list[list[str]]:
	"""The scrub's answers as result CSV rows (the reason's label translated once per reason)."""
	out = []
	for row in rows:
		reason = row["reason"]
		if reason not in labels:
			labels[reason] = reason_label(reason)
		moment = row["next_allowed_at"]
		out.append(
			core.result_row(
				row["address"],
				row["allowed"],
				reason,
				labels[reason],
				row["rule"],
				moment.strftime("%Y-%m-%d %H:%M:%S") if moment else "",
			)
		)
	return out


def reason_label(reason: str) -> str:
	if reason == gate.OPTED_IN:
		return _(ALLOWED_LABEL)
	label = contact_control.REASON_LABELS.get(reason)
	return _(label) if label else reason


# ---------------------------------------------------------------- the result file


def result_path(name: str) -> str:
	"""A new partial result file in the site's private files folder (moved into place when complete)."""
	folder = get_files_path(is_private=True)
	os.makedirs(folder, exist_ok=True)
	handle, path = tempfile.mkstemp(prefix=f".{frappe.scrub(name)}-", suffix=".part", dir=folder)
	os.close(handle)
	return path


def attach_result(doc, partial: str) -> None:
	"""The complete result as a private File attached to the scrub's result field.

	Registered without being read into memory: the File row is written with its size and hash computed
	from the file on disk, a block at a time (Frappe's File would read the whole content, and refuse one
	above the site's upload limit, which a result of a large list can pass)."""
	digest, size = hashlib.md5(usedforsecurity=False), 0
	with open(partial, "rb") as handle:
		while block := handle.read(1 << 20):
			digest.update(block)
			size += len(block)
	content_hash = digest.hexdigest()
	file_name = generate_file_name(f"{doc.name}-result.csv", suffix=content_hash[-6:], is_private=True)
	final = get_files_path(file_name, is_private=True)
	os.replace(partial, final)
	frappe.db.after_rollback.add(lambda: os.path.exists(final) and os.unlink(final))
	file = frappe.new_doc("File")
	file.update(
		{
			"name": frappe.generate_hash(length=10),
			"file_name": file_name,
			"file_url": f"/private/files/{file_name}",
			"is_private": 1,
			"file_size": size,
			"file_type": "CSV",
			"content_hash": content_hash,
			"folder": frappe.db.get_value("File", {"is_attachments_folder": 1}) or "Home/Attachments",
			"attached_to_doctype": DOCTYPE,
			"attached_to_name": doc.name,
			"attached_to_field": RESULT_FIELD,
		}
	)
	file.db_insert()
	set_values(doc, result_file=file.file_url)


def remove_result(doc) -> None:
	"""The previous result (a re-run replaces it; a changed list makes it stale)."""
	for name in frappe.get_all(
		"File",
		filters={
			"attached_to_doctype": DOCTYPE,
			"attached_to_name": doc.name,
			"attached_to_field": RESULT_FIELD,
		},
		pluck="name",
	):
		frappe.delete_doc("File", name, ignore_permissions=True, force=True)
	if doc.get(RESULT_FIELD):
		set_values(doc, result_file=None)


# ---------------------------------------------------------------- small helpers


def set_values(doc, notify: bool = False, **values) -> None:
	"""Write the job's fields (read-only for people) without touching ``modified``: a form open meanwhile
	can still be saved."""
	doc.flags.from_scrub_job = True
	doc.db_set(values, update_modified=False, notify=notify)


def progress(doc, percent: int, description: str) -> None:
	frappe.publish_progress(
		percent, title=_("Contact scrub"), doctype=DOCTYPE, docname=doc.name, description=description
	)


def rollback() -> None:
	"""Undo the chunk in progress (the counts of finished chunks are committed)."""
	frappe.db.rollback()


def commit() -> None:
	"""A background job commits per chunk: the counts show while it runs. Never called from a request."""
	frappe.db.commit()  # nosemgrep: a background job's per-chunk commit
