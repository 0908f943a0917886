"""Long jobs cut into chunks that Frappe's background workers run in parallel (RQ, ``bench worker``).

Three kinds of run, each an **Opt Consent Run** record (visible in the desk) with one chunk row per range:

- **Lapse** (the daily job, :func:`start_lapse`): the coordinator heals stale reauthorisation dates and marks
  the newly due phones (set-based, as :func:`opt_consent.reauth.lapse.run` does), then cuts the lapse
  candidates into ranges of the order the single-process walk uses: ``(lapse date, name)`` along the
  lapse-date index on a daily run, ``name`` on a backlog. Each chunk runs
  :func:`opt_consent.reauth.lapse.lapse_range` (batches locked with ``SELECT ... FOR UPDATE``, re-checked,
  committed one by one).
- **Recompute** (settings saved, :func:`start_recompute`): ranges of the names of the phones with texting
  consent; each chunk recomputes its phones' dates, batch by batch.
- **Integrity** (Verify All Records, :func:`start_integrity`): ranges of each record doctype's names, plus one
  chunk per doctype for its orphaned log rows and its deleted records; each chunk writes its counts and
  broken records on the run, in one transaction at its end.

The coordinator reads every ``size``-th key of the walk with one indexed query (:func:`boundaries`), writes
the run and its chunks, commits, and enqueues one job per chunk on the ``long`` queue (or the site config's
``opt_consent_queue``), with the job id :func:`opt_consent.jobs.rules.job_id` and ``deduplicate``: a chunk
already queued or running is not queued again. A chunk is idempotent: a lapsed phone is no candidate any
more, a recomputed one is no longer stale, and an Integrity chunk's results are written with its "Done" mark
(a chunk already Done writes nothing). A worker killed mid-chunk loses only its uncommitted batch; running
the chunk again (:func:`resume`, or the next daily run) finishes it.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import shutil
import socket
import time

import frappe
from frappe import _
from frappe.utils import cint, getdate, now_datetime
from frappe.utils.background_jobs import JobStatus, get_job
from rq.worker import Worker

from opt_consent.jobs import rules as chunks
from opt_consent.ledger import integrity
from opt_consent.ledger.access import readable
from opt_consent.model.channels import DOCTYPES, PHONE
from opt_consent.reauth import lapse
from opt_consent.reauth.settings import get_rules

RUN = "Opt Consent Run"
CHUNK = "Opt Consent Run Chunk"
BROKEN = "Opt Consent Run Broken"
LAPSE, RECOMPUTE, INTEGRITY, IMPORT, SCRUB = "Lapse", "Recompute", "Integrity", "Import", "Scrub"
QUEUED, RUNNING, COMPLETED, DONE = "Queued", "Running", "Completed", "Done"

# Keys per chunk: 10 batches of the lapse job; records per Integrity chunk.
CHUNK_SIZE = 5000
# Broken records listed per Integrity chunk (the counts stay exact).
BROKEN_LISTED = 1000
# An Integrity chunk's record type for the orphaned log rows and deleted records of a doctype.
EXTRAS = "extras"

CHUNK_METHOD = "opt_consent.jobs.runs.run_chunk"
# The chunk methods Opt Consent Run rows stored before the app was laid out by capability, and where each
# lives now: a run started before the upgrade still resumes. The patch ``chunk_methods_by_capability``
# rewrites the stored names on ``bench migrate``; this map also answers a row the patch has not reached.
RENAMED = {
	"opt_consent.adapters.runs.run_chunk": CHUNK_METHOD,
	"opt_consent.adapters.contact_scrub.run_chunk": "opt_consent.scrub.adapter.run_chunk",
	"opt_consent.history_import.run_chunk": "opt_consent.history.job.run_chunk",
}


def deadlocked(error: Exception) -> bool:
	"""Whether ``error`` is the database choosing this transaction as a deadlock victim (or a lock wait that
	timed out): the transaction is rolled back and can simply be run again. Frappe raises its own
	``QueryDeadlockError`` around the driver's error."""
	return isinstance(error, frappe.QueryDeadlockError | frappe.QueryTimeoutError) or frappe.db.is_deadlocked(
		error
	)


def pause_before_retry(attempt: int) -> None:
	"""A deadlock victim's wait before it runs again (``attempt``: 0 for the first retry). InnoDB rolls back
	the transaction that changed fewer rows, which one just restarted always is: run again at once beside
	a busy worker, it is chosen again and again (seen with two workers importing). A random, growing pause
	lets the winner commit first, and two workers stop meeting in step."""
	time.sleep(random.uniform(0.05, 0.25) * (attempt + 1))


def retry_deadlocks(work, attempts: int = 5, rollback_it=None):
	"""``work()``, again while it is a deadlock victim: each time rolled back (``rollback_it``, default the
	site's rollback) and paused (:func:`pause_before_retry`), up to ``attempts`` tries in all. Any other error,
	or the last try's, is raised. Returns what ``work`` returns."""
	for attempt in range(attempts):
		try:
			return work()
		except Exception as error:
			if attempt == attempts - 1 or not deadlocked(error):
				raise
			(rollback_it or frappe.db.rollback)()
			pause_before_retry(attempt)


def in_transaction(work, commit_it=None, rollback_it=None, attempts: int = 5):
	"""``work()`` then a commit, retried as a deadlock victim (:func:`retry_deadlocks`). Returns what ``work``
	returns. (A job's own commit and rollback may be given.)"""

	def committed():
		value = work()
		(commit_it or commit)()
		return value

	return retry_deadlocks(committed, attempts, rollback_it)


def lock_run(run: str) -> None:
	"""Lock the run's row: a chunk's last transaction takes it first, so that chunks ending at once wait
	for each other there (finish_chunk updates it in any case) instead of deadlocking on the rows after it."""
	frappe.db.sql("select name from `tabOpt Consent Run` where name = %s for update", run)


def queue() -> str:
	return frappe.conf.get("opt_consent_queue") or "long"


def commit() -> None:
	"""A background job's commit (per batch, per chunk, and the coordinator's before it enqueues)."""
	frappe.db.commit()  # nosemgrep: jobs commit per batch


# Boundaries --------------------------------------------------------------------------------------------------


def boundaries(table: str, columns: list[str], where: str, values: dict, size: int | None) -> list[tuple]:
	"""Every ``size``-th key (``columns``) of the rows of ``table`` matching ``where``, in key order: one
	indexed query (a window over the index the walk uses), only the boundaries come back."""
	keys = ", ".join(f"`{c}`" for c in columns)
	rows = frappe.db.sql(
		f"""select {keys} from (
			select {keys}, row_number() over (order by {keys}) as position
			from `tab{table}` where {where}
		) numbered where position %% %(size)s = 0 order by position""",
		{**values, "size": max(int(size or CHUNK_SIZE), 1)},
	)
	return [tuple(row) for row in rows]


# Starting a run ---------------------------------------------------------------------------------------------


def create_run(kind: str, on: dt.date | None = None, walk: str = "", status: str = QUEUED, **values):
	"""A new run. ``values``: the document it works for (``reference_doctype``, ``reference_name``), the
	method its chunks run (``chunk_method``, default :data:`CHUNK_METHOD`), a ``summary`` of its first pass."""
	return frappe.get_doc(
		{
			"doctype": RUN,
			"kind": kind,
			"status": status,
			"on_date": on,
			"walk": walk,
			"started_by": frappe.session.user,
			"started_at": now_datetime(),
			**values,
		}
	).insert(ignore_permissions=True)


def work_dir(run: str) -> str:
	"""The run's working files (an import's spilled buckets, a scrub's input and answer parts): a folder of
	the site's private files, where Frappe keeps attachments, so every worker of the site reads the same
	files (a site served by several machines shares its sites folder for its attachments already)."""
	return frappe.get_site_path("private", "opt_consent_runs", frappe.scrub(run))


def discard(run: str) -> None:
	"""Delete a run whose coordinator failed before planning any chunk (a refused file): it holds nothing."""
	frappe.delete_doc(RUN, run, force=True, ignore_permissions=True, delete_permanently=True)


def remove_work_dir(run: str) -> None:
	shutil.rmtree(work_dir(run), ignore_errors=True)


def add_chunks(run, planned: list[tuple[str | None, chunks.Chunk]]) -> None:
	"""Write the run's chunk rows (the caller commits before it enqueues them: the workers must see them)."""
	for no, (record_type, chunk) in enumerate(planned):
		run.append(
			"chunks",
			{
				"chunk_no": no,
				"record_type": record_type,
				"after_key": chunks.encode_key(chunk.after),
				"upto_key": chunks.encode_key(chunk.upto),
				"status": QUEUED,
				"job_id": chunks.job_id(run.name, no),
			},
		)
	run.chunks_total = len(planned)
	run.status = RUNNING if planned else COMPLETED
	if not planned:
		run.finished_at = now_datetime()
	run.save(ignore_permissions=True)


def dispatch(run_name: str, inline: bool = False, queue_name: str | None = None) -> None:
	"""Enqueue every chunk of the run not Done yet (deduplicated by job id) on ``queue_name`` (default
	:func:`queue`), or run them here, one after the other (``inline``: the single-process path)."""
	rows = frappe.get_all(
		CHUNK,
		filters={"parent": run_name, "parenttype": RUN, "status": ["!=", DONE]},
		fields=["chunk_no"],
		order_by="chunk_no asc",
	)
	method = chunk_method(run_name)
	for row in rows:
		if inline:
			frappe.get_attr(method)(run_name, row.chunk_no)
		else:
			enqueue_chunk(run_name, row.chunk_no, queue_name, method)


def chunk_method(run_name: str) -> str:
	"""What a chunk of the run runs: :func:`run_chunk`, or the method the run names (an import's bucket, a
	scrub's part: their modules build on this one, so they name their method rather than be imported)."""
	stored = frappe.db.get_value(RUN, run_name, "chunk_method") or CHUNK_METHOD
	return RENAMED.get(stored, stored)


def enqueue_chunk(
	run_name: str, chunk_no: int, queue_name: str | None = None, method: str | None = None
) -> None:
	"""One job for the chunk, under its deterministic id: not queued again while queued or running."""
	job_id = chunks.job_id(run_name, chunk_no)
	clear_abandoned(job_id)
	frappe.enqueue(
		method or chunk_method(run_name),
		queue=queue_name or queue(),
		job_id=job_id,
		deduplicate=True,
		run=run_name,
		chunk_no=chunk_no,
	)


def clear_abandoned(job_id: str) -> None:
	"""Delete the job of a chunk whose worker died while running it (SIGKILL, the machine restarted), so that
	it can be enqueued again: RQ keeps such a job "started" until its heartbeat expires and a worker's
	maintenance moves it to the failed jobs, which can take minutes."""
	job = get_job(job_id)
	if job and job.get_status(refresh=False) == JobStatus.STARTED and abandoned(job):
		job.delete()


def abandoned(job) -> bool:
	"""Whether the worker that took ``job`` is gone: its registration expired, its process no longer runs on
	this machine, or it is working on something else (the job's heartbeat is then stale)."""
	if not job.worker_name:
		return False
	worker = Worker.find_by_key(
		Worker.redis_worker_namespace_prefix + job.worker_name, connection=job.connection
	)
	if worker is None:
		return True
	if worker.hostname == socket.gethostname() and not process_alive(worker.pid):
		return True
	return worker.get_current_job_id() != job.id


def chunks_in_hand(run_name: str) -> bool:
	"""Whether a chunk of the run not Done yet is queued or being run by a live worker (a run whose workers
	were all killed has none: its document may then be started again)."""
	for no in frappe.get_all(
		CHUNK, filters={"parent": run_name, "parenttype": RUN, "status": ["!=", DONE]}, pluck="chunk_no"
	):
		job = get_job(chunks.job_id(run_name, no))
		if not job:
			continue
		status = job.get_status(refresh=False)
		if status in (JobStatus.QUEUED, JobStatus.DEFERRED, JobStatus.SCHEDULED):
			return True
		if status == JobStatus.STARTED and not abandoned(job):
			return True
	return False


def process_alive(pid: int | None) -> bool:
	if not pid:
		return False
	try:
		os.kill(pid, 0)
	except ProcessLookupError:
		return False
	except PermissionError:
		return True
	return True


def start_lapse(
	on: dt.date | None = None,
	size: int | None = None,
	inline: bool = False,
	queue_name: str | None = None,
	defer: bool = False,
) -> str:
	"""The daily lapse as a run: heal the dates, mark the newly due, then one chunk per ``size`` candidates.

	The chunks are ranges of the candidates' names (not of the lapse-date index the single-process walk may
	use): disjoint name ranges lock disjoint ranges of the log's ``(parent, parenttype, parentfield, idx)``
	index too, so two chunks running at once wait for each other at most at their common edge and cannot
	deadlock, where ranges of lapse dates would interleave their phones' names. A job (it commits). Returns
	the run's name."""
	rules = get_rules()
	on = on or lapse.today()
	lapse.recompute_phones(rules, on, commit)  # heal first, as the single-process run does
	lapse.mark_due(on)  # before the chunks: a lapsing phone marked Due is then lapsed, as in lapse.run
	commit()
	keys = boundaries(PHONE, ["name"], "text_opt = 1 and text_consent_lapses_on <= %(on)s", {"on": on}, size)
	run = create_run(LAPSE, on, walk="name")
	add_chunks(run, [(PHONE, chunk) for chunk in chunks.plan(keys)])
	commit()
	if not defer:  # deferred: the caller enqueues the chunks (:func:`enqueue_chunk`, :func:`resume`)
		dispatch(run.name, inline, queue_name)
	return run.name


def start_recompute(size: int | None = None, inline: bool = False, queue_name: str | None = None) -> str:
	"""Settings saved: recompute every texting phone's dates, one chunk per ``size`` phones. A job."""
	keys = boundaries(PHONE, ["name"], "text_opt = 1", {}, size)
	run = create_run(RECOMPUTE, walk="name")
	add_chunks(run, [(PHONE, chunk) for chunk in chunks.plan(keys)])
	commit()
	dispatch(run.name, inline, queue_name)
	return run.name


def start_integrity(
	run_name: str | None = None, size: int | None = None, inline: bool = False, queue_name: str | None = None
) -> str:
	"""Verify every record's log: per doctype, one chunk per ``size`` records and one for its orphaned rows
	and deleted records. ``run_name``: a run created (Queued) by the desk's Verify All Records. A job."""
	run = frappe.get_doc(RUN, run_name) if run_name else create_run(INTEGRITY, walk="name")
	if run.chunks:  # planned already (the coordinator ran again): queue what is not done
		dispatch(run.name, inline, queue_name)
		return run.name
	planned = []
	for doctype in DOCTYPES:
		keys = boundaries(doctype, ["name"], "1 = 1", {}, size)
		planned += [(doctype, chunk) for chunk in chunks.plan(keys)]
		planned.append((f"{doctype} {EXTRAS}", chunks.Chunk(0, None, None)))
	add_chunks(run, planned)
	commit()
	dispatch(run.name, inline, queue_name)
	return run.name


def resume(run_name: str, inline: bool = False, queue_name: str | None = None) -> None:
	"""Enqueue again every chunk of a run that is not Done (a worker was killed, a job failed): harmless for
	chunks still queued or running (deduplicated), and a chunk run twice changes nothing the second time."""
	dispatch(run_name, inline, queue_name)


# Running a chunk --------------------------------------------------------------------------------------------


def run_chunk(run: str, chunk_no: int) -> int:
	"""One chunk of a run (what a worker runs). Returns what it processed (0 when already Done)."""
	row = frappe.db.get_value(
		CHUNK,
		{"parent": run, "parenttype": RUN, "chunk_no": cint(chunk_no)},
		["name", "record_type", "after_key", "upto_key", "status"],
		as_dict=True,
	)
	if not row or row.status == DONE:
		return 0
	kind, on = frappe.db.get_value(RUN, run, ["kind", "on_date"])
	after, upto = chunks.decode_key(row.after_key), chunks.decode_key(row.upto_key)
	if kind == LAPSE:
		processed = lapse_chunk(row.name, getdate(on), after, upto)
		finish_chunk(run, row.name, processed)
	elif kind == RECOMPUTE:
		processed = lapse.recompute_phones(
			get_rules(), None, commit, after=after[0] if after else None, upto=upto[0] if upto else None
		)
		finish_chunk(run, row.name, processed)
	else:
		processed = integrity_chunk(run, row, after, upto)
	commit()
	return processed


def lapse_chunk(chunk_row: str, on: dt.date, after, upto, attempts: int = 3) -> int:
	"""Lapse the chunk's candidates, in name order; each batch adds its count to the chunk row in its own
	transaction. A batch chosen as a deadlock victim (a staff action on one of its phones, say) is rolled
	back by the database; the chunk then walks its range again (it is idempotent), up to ``attempts`` times."""

	def batch_done(count: int) -> None:
		if count:
			frappe.db.sql(
				"update `tabOpt Consent Run Chunk` set processed = processed + %s where name = %s",
				(count, chunk_row),
			)
		commit()

	return retry_deadlocks(
		lambda: lapse.lapse_range(
			on, get_rules(), after, upto, by_name=True, batch_size=lapse.BATCH_SIZE, on_batch=batch_done
		),
		attempts,
	)


def integrity_chunk(run: str, row, after, upto) -> int:
	"""Verify the chunk's records (as the user who started the run: only records they may read); write the
	counts, the broken records and the Done mark together, under the chunk row's lock (a second worker on
	the same chunk waits, then finds it Done)."""
	doctype, _sep, extras = row.record_type.partition(" ")
	if extras:
		results = [*integrity.orphans(doctype), *integrity.deleted(doctype, readable)]
	else:
		results = list(
			integrity.verify_range(
				doctype, after[0] if after else None, upto[0] if upto else None, names=readable
			)
		)
	status = frappe.db.sql(
		"select status from `tabOpt Consent Run Chunk` where name = %s for update", row.name
	)
	if not status or status[0][0] == DONE:
		return 0
	broken = [result for result in results if not result["ok"]]
	for result in broken[:BROKEN_LISTED]:
		frappe.get_doc(
			{
				"doctype": BROKEN,
				"parent": run,
				"parenttype": RUN,
				"parentfield": "broken_records",
				"record_type": result["doctype"],
				"record": result["name"],
				"rows": result["rows"],
				"broken_idx": result.get("idx"),
				"broken_row": result.get("row"),
				"problem": result.get("message"),
				"deleted_document": result.get("deleted_document"),
			}
		).db_insert()
	deleted = sum(1 for result in results if result.get("deleted"))
	finish_chunk(run, row.name, len(results), len(broken), deleted)
	return len(results)


def finish_chunk(
	run: str, chunk_row: str, processed: int, broken: int = 0, deleted: int = 0, result: str | None = None
) -> bool:
	"""Mark the chunk Done (once: a chunk run again adds nothing), with its ``result`` (JSON) if any, and add
	its counts to the run; the last chunk completes the run. Lapse chunks already counted per batch, so they
	pass ``processed`` only for the run's total. True for the chunk that completed the run (exactly one: the
	run's row stays locked until the caller commits, so the caller can finish the run's work first)."""
	status = frappe.db.sql(
		"select status, processed from `tabOpt Consent Run Chunk` where name = %s for update", chunk_row
	)
	if not status or status[0][0] == DONE:
		return False
	kind = frappe.db.get_value(RUN, run, "kind")
	counted = cint(status[0][1]) if kind == LAPSE else processed
	frappe.db.sql(
		"""update `tabOpt Consent Run Chunk` set status = %s, processed = %s, broken = %s, finished_at = %s,
		result = coalesce(%s, result) where name = %s""",
		(DONE, counted, broken, now_datetime(), result, chunk_row),
	)
	frappe.db.sql(
		"""update `tabOpt Consent Run` set chunks_done = chunks_done + 1, processed = processed + %s,
		broken = broken + %s, deleted_checked = deleted_checked + %s, status = %s where name = %s""",
		(counted, broken, deleted, RUNNING, run),
	)
	done, total = frappe.db.sql(
		"select chunks_done, chunks_total from `tabOpt Consent Run` where name = %s for update",
		run,
	)[0]
	if done >= total:
		frappe.db.sql(
			"update `tabOpt Consent Run` set status = %s, finished_at = %s where name = %s",
			(COMPLETED, now_datetime(), run),
		)
	frappe.publish_progress(
		done * 100 / max(total, 1),
		title=_("Opt Consent Run"),
		doctype=RUN,
		docname=run,
		description=_("{0} of {1} chunks done").format(done, total),
	)
	return done >= total


def chunk_results(run: str) -> list[dict]:
	"""The ``result`` of each chunk of the run, in chunk order (what an import's or a scrub's last chunk
	adds up: the counts come from the Done rows, so a chunk run twice is counted once). A locking read: the
	last chunk's transaction began before the others committed, and a plain read would see its snapshot of
	them (REPEATABLE READ), without the results committed since."""
	rows = frappe.db.sql(
		"""select result from `tabOpt Consent Run Chunk` where parent = %s and parenttype = %s
		order by chunk_no asc for update""",
		(run, RUN),
	)
	return [json.loads(text) if text else {} for (text,) in rows]


# Jobs and the desk ------------------------------------------------------------------------------------------


def lapse_job() -> None:
	"""The scheduled daily job: coordinate the lapse run (the chunks go to the workers)."""
	start_lapse()


def queue_recompute() -> None:
	"""Queue the recompute of every Phone's due and lapse dates after a reauthorisation period changed (the
	settings' or the default purpose's): a background job, batch by batch; the user is told."""
	frappe.enqueue(
		"opt_consent.jobs.runs.recompute_job",
		queue="long",
		job_id="opt_consent_recompute_reauth",
		deduplicate=True,
		enqueue_after_commit=True,
	)
	frappe.msgprint(
		_("Texting reauthorisation dates are being recomputed for every phone in the background."),
		alert=True,
	)


def recompute_job() -> None:
	"""Enqueued when the settings are saved: coordinate the recompute run."""
	start_recompute()


def integrity_job(run: str) -> None:
	"""Enqueued by Verify All Records: plan and enqueue the run's chunks."""
	start_integrity(run)


def request_integrity_run() -> str:
	"""Verify All Records from the desk (no commit here: the request's own commit queues the job)."""
	integrity.require_integrity_role()
	run = create_run(INTEGRITY, walk="name")
	frappe.enqueue(
		"opt_consent.jobs.runs.integrity_job",
		queue=queue(),
		job_id=f"opt_consent_integrity_{run.name}",
		deduplicate=True,
		enqueue_after_commit=True,
		run=run.name,
	)
	return run.name


def request_resume(run: str) -> None:
	"""Resume from the desk: who may start a run of that kind, and read it."""
	kind = frappe.db.get_value(RUN, run, "kind")
	if not kind:
		raise frappe.DoesNotExistError(_("{0} {1} not found").format(_(RUN), run))
	frappe.has_permission(RUN, "read", run, throw=True)
	if kind == INTEGRITY:
		integrity.require_integrity_role()
	elif frappe.session.user != "Administrator" and not {"System Manager", "Opt Consent Manager"} & set(
		frappe.get_roles()
	):
		frappe.throw(
			_("Only a System Manager or an Opt Consent Manager can resume this run."), frappe.PermissionError
		)
	dispatch(run)


def progress_of(run: str) -> dict:
	return frappe.db.get_value(
		RUN, run, ["status", "chunks_total", "chunks_done", "processed", "broken"], as_dict=True
	)
