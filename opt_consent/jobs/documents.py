"""The lifecycle of a long job that works for a document (a Consent History Import, a Contact Scrub), written
once: every such job is an Opt Consent Run that names its document (``reference_doctype`` /
``reference_name``), and the document names its latest run in its ``consent_run`` field.

- :func:`job_id`: the coordinator job's id, one per document (deduplicated: a second Start while it waits or
  runs queues nothing).
- :func:`still_running`: the coordinator or a chunk of the document's latest run is queued or in a live
  worker's hands, whatever the document's status says (a document whose workers were all killed may be
  started again; Resume on the run re-queues what it left).
- :func:`open_run`: the run, planned by the coordinator's first pass; :func:`give_up_first_pass` when that
  pass refused the file: nothing planned, no run kept, the document names none.
- :func:`claim_chunk`: what a worker starts with: the chunk's row and the run's, or None for a chunk Done
  already or of a run the document has replaced (started again since); then it runs as the user who
  started the job.
- :func:`is_latest_run`: in the last chunk's transaction, whether the document still names this run (its
  row locked, so a Start meanwhile waits for the join).

The chunks themselves, Resume, the abandoned-job check and the last chunk's lock are the run machine's
(:mod:`opt_consent.jobs.runs`), shared with the lapse, recompute and verify runs.
"""

from __future__ import annotations

import frappe
from frappe.utils import cint
from frappe.utils.background_jobs import is_job_enqueued

from opt_consent.jobs import runs

RUN_FIELD = "consent_run"


def job_id(prefix: str, name: str) -> str:
	"""The coordinator job's id for document ``name`` (``prefix`` names the kind of job)."""
	return f"{prefix}::{name}"


def still_running(coordinator_job_id: str, run_name: str | None) -> bool:
	"""Whether the coordinator job, or a chunk of the document's latest run ``run_name``, is queued or held
	by a live worker."""
	return is_job_enqueued(coordinator_job_id) or bool(run_name and runs.chunks_in_hand(run_name))


def open_run(kind: str, doctype: str, name: str, walk: str, chunk_method: str):
	"""A new run of ``kind`` for the document, whose chunks run ``chunk_method``."""
	return runs.create_run(
		kind, walk=walk, reference_doctype=doctype, reference_name=name, chunk_method=chunk_method
	)


def give_up_first_pass(run_name: str, forget_run, rollback=None) -> None:
	"""The coordinator's first pass refused the file: its work undone (``rollback``, default the
	transaction's), its working folder and its run removed (nothing was planned, so there is nothing to
	resume), and ``forget_run()`` clears the document's link to it."""
	(rollback or frappe.db.rollback)()
	runs.remove_work_dir(run_name)
	runs.discard(run_name)
	forget_run()


def claim_chunk(run: str, chunk_no: int, doctype: str, chunk_fields=(), run_fields=()):
	"""The chunk's row (``name``, ``after_key``, ``status`` and ``chunk_fields``) and the run's
	(``reference_name``, ``started_by`` and ``run_fields``), as the user who started the job; None when the
	chunk is Done already or the document has been started again since (this run is stale)."""
	row = frappe.db.get_value(
		runs.CHUNK,
		{"parent": run, "parenttype": runs.RUN, "chunk_no": cint(chunk_no)},
		["name", "after_key", "status", *chunk_fields],
		as_dict=True,
	)
	meta = frappe.db.get_value(runs.RUN, run, ["reference_name", "started_by", *run_fields], as_dict=True)
	if not row or row.status == runs.DONE or not meta:
		return None
	if frappe.db.get_value(doctype, meta.reference_name, RUN_FIELD) != run:
		return None
	frappe.set_user(meta.started_by)
	return row, meta


def is_latest_run(doctype: str, name: str, run: str) -> bool:
	"""In the last chunk's transaction: whether the document still names ``run`` (its row locked until the
	transaction ends). A run the document has replaced reports nothing: the newer run reports."""
	return frappe.db.get_value(doctype, name, RUN_FIELD, for_update=True) == run
