"""Frappe adapter of the Contact Scrub: a CSV of numbers or email addresses scrubbed in the background.

- :func:`start` (the form's Start Scrub, through the controller): checks the user may write the scrub and
  read the channel's records, marks it Queued and enqueues :func:`run` on the long queue, one job per scrub
  (deduplicated: a second click while it waits or runs starts nothing).
- :func:`run` (the job, as the user who started it): a first pass reads the whole file
  (:func:`opt_consent.core.contact_scrub.read_addresses`: UTF-8, well-formed, an address column, within the
  size limit) and counts it; nothing is answered for a file that fails it. A second pass streams the file
  again, answers each chunk of :data:`CHUNK` addresses with
  :func:`opt_consent.adapters.contact_control.scrub` (the same answers as the API, with the user's
  permissions), writes the answers to the result file and commits the counts per chunk, publishing the
  progress to the form. At the end the result is attached as a private File and the scrub is Done; on any
  error it is Failed with the message, and nothing is attached.

Memory is bounded by a chunk: the file is read a block at a time and the result written as it goes; the
result File is registered without being read back into memory (Frappe's File would load it whole).
Re-running replaces the result.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import os
import tempfile
from collections import Counter

import frappe
from frappe import _
from frappe.core.doctype.file.utils import generate_file_name
from frappe.utils import cint, get_files_path, now_datetime, strip_html
from frappe.utils.background_jobs import is_job_enqueued

from opt_consent.adapters import contact_control
from opt_consent.adapters import gate as gate_adapter
from opt_consent.adapters.refusals import translate
from opt_consent.core import contact_scrub as core
from opt_consent.core import gate

# the pure rules' no-op marker, under a name Frappe's message extractor reads
from opt_consent.core.messages import _ as _lt

DOCTYPE = "Contact Scrub"
DRAFT, QUEUED, RUNNING, DONE, FAILED = "Draft", "Queued", "Running", "Done", "Failed"
ACTIVE = (QUEUED, RUNNING)
RESULT_FIELD = "result_file"
INPUT_FIELD = "input_file"
# Addresses answered per query round (and per commit of the counts).
CHUNK = 5000
# A larger file is refused before it is read (site config ``opt_consent_scrub_max_mb``).
DEFAULT_MAX_MB = 100
JOB_TIMEOUT = 4 * 3600

ALLOWED_LABEL = _lt("Allowed now.")


class ScrubFileError(frappe.ValidationError):
	"""The file as a whole cannot be scrubbed (nothing was answered, nothing attached)."""


def max_bytes() -> int:
	return cint(frappe.conf.get("opt_consent_scrub_max_mb") or DEFAULT_MAX_MB) << 20


def job_id(name: str) -> str:
	return f"opt_consent_contact_scrub::{name}"


# ---------------------------------------------------------------- starting


def start(name: str) -> dict:
	"""Queue the scrub ``name`` for the long queue's workers, as the current user."""
	doc = frappe.get_doc(DOCTYPE, name)
	doc.check_permission("write")
	check_may_read(doc.channel)
	if doc.status in ACTIVE and is_job_enqueued(job_id(name)):
		frappe.throw(_("This scrub is already queued or running."), title=_("Not started"))
	if not doc.get(INPUT_FIELD):
		frappe.throw(_("Attach the CSV of addresses first."), title=_("Not started"))
	input_path(doc)  # the file is on this site and the user may read it
	doc.flags.from_scrub_job = True
	doc.db_set({"status": QUEUED, "error": None}, notify=True)
	frappe.enqueue(
		"opt_consent.adapters.contact_scrub.run",
		queue="long",
		timeout=JOB_TIMEOUT,
		job_id=job_id(name),
		deduplicate=True,
		enqueue_after_commit=True,
		name=name,
		user=frappe.session.user,
	)
	return {"status": QUEUED}


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


def run(name: str, user: str | None = None) -> None:
	"""The background job. Runs as ``user`` (who started it): the answers cover the records they may read."""
	if user:
		frappe.set_user(user)
	doc = frappe.get_doc(DOCTYPE, name)
	moment = doc.at or now_datetime()
	remove_result(doc)
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
	)
	commit()
	partial = None
	try:
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
		total = count_addresses(path, doc.channel)
		set_values(doc, total=total)
		commit()
		partial = result_path(doc.name)
		counts = write_result(doc, path, partial, moment, total)
		attach_result(doc, partial)
		partial = None
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
		commit()
		progress(doc, 100, _("Done"))
	except Exception as error:
		rollback()
		if partial and os.path.exists(partial):
			os.unlink(partial)
		failed(name, error)


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


def count_addresses(path: str, channel: str) -> int:
	"""The first pass: the whole file read and checked, its addresses counted (none answered)."""
	email = gate_adapter.channel_spec(channel).doctype == "Email"
	count = 0
	with open(path, "rb") as binary:
		try:
			for _address in core.read_addresses(binary, email, max_bytes()):
				count += 1
		except core.FileRefused as refusal:
			refuse_file(refusal)
	if not count:
		refuse_file(core.FileRefused("empty", _lt("The file is empty: it needs at least one address.")))
	return count


def chunks(path: str, channel: str):
	"""The file's addresses, :data:`CHUNK` at a time (the file was checked by the first pass)."""
	email = gate_adapter.channel_spec(channel).doctype == "Email"
	with open(path, "rb") as binary:
		chunk: list[str] = []
		try:
			for address in core.read_addresses(binary, email, max_bytes()):
				chunk.append(address)
				if len(chunk) == CHUNK:
					yield chunk
					chunk = []
		except core.FileRefused as refusal:  # the file changed since the first pass
			refuse_file(refusal)
		if chunk:
			yield chunk


def write_result(doc, path: str, out_path: str, moment: dt.datetime, total: int) -> Counter:
	"""The second pass: each chunk answered and written to ``out_path``; the counts committed per chunk."""
	counts: Counter = Counter()
	processed = 0
	labels: dict[str, str] = {}
	with open(out_path, "w", newline="", encoding="utf-8") as out:
		writer = csv.writer(out)
		writer.writerow(core.RESULT_COLUMNS)
		for chunk in chunks(path, doc.channel):
			rows = contact_control.scrub(doc.channel, chunk, moment, doc.reference, check_permission=True)
			writer.writerows(result_rows(rows, labels))
			counts.update(row["reason"] for row in rows)
			processed += len(chunk)
			set_values(doc, processed=processed, allowed_count=counts.get(gate.OPTED_IN, 0))
			commit()
			progress(
				doc,
				min(99, int(100 * processed / max(total, 1))),
				_("{0} of {1} addresses").format(processed, total),
			)
	return counts


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
