"""Jobs that keep the site responsive: the daily lapse commits batch by batch (a crash leaves whole batches,
a re-run finishes), and saving the settings queues the recompute instead of running it in the request."""

import frappe
import pytest
from frappe.utils.background_jobs import get_job, is_job_enqueued

from opt_consent import tasks
from opt_consent.jobs import rules as chunks
from opt_consent.jobs import runs
from opt_consent.reauth import lapse
from tests.integration.factories import (
	COMMITTED,
	make_method,
	make_phone_with_history,
	make_reauth_settings,
	make_texting_phone,
	user,
)
from tests.integration.http import Client


@pytest.fixture(autouse=True)
def evidence_path(record_property):
	"""Each test here is one evidence path tried (listed in docs/RELIABILITY.md)."""
	record_property("evidence_path", 1)


def lapsed(names):
	return sorted(n for n in names if frappe.db.get_value("Phone", n, "text_opt") == 0)


# The tests' own Opt Method: a 30-day period for it alone, none for every other method, so that on a site in
# use only the tests' phones are due (the site's own texting consent is not lapsed along with them).
METHOD = "Test Lapse Method"


def own_rules():
	make_method(METHOD)
	make_reauth_settings(0, 0, method_periods=[(METHOD, 30)])


def own_phone(days_ago=40):
	return make_texting_phone(days_ago, method=METHOD).name


def test_the_lapse_job_commits_after_every_batch_and_a_rerun_finishes_a_crashed_run(monkeypatch):
	own_rules()
	names = [own_phone() for _ in range(5)]
	seen = []  # what each commit would make durable: the phones lapsed so far
	lapse.run(batch_size=2, commit=lambda: seen.append(lapsed(names)))
	counts = [len(batch) for batch in seen]
	assert counts[-3:] == [2, 4, 5], counts  # whole batches, one commit each

	frappe.db.rollback()
	own_rules()
	names = [own_phone() for _ in range(5)]
	real_batch, calls = lapse.lapse_batch, []

	def crash_on_second(batch, rules, on):
		calls.append(batch)
		if len(calls) == 2:
			raise frappe.QueryTimeoutError("the worker died")
		return real_batch(batch, rules, on)

	monkeypatch.setattr(lapse, "lapse_batch", crash_on_second)
	seen.clear()
	with pytest.raises(frappe.QueryTimeoutError):
		lapse.run(batch_size=2, commit=lambda: seen.append(lapsed(names)))
	assert [len(batch) for batch in seen][-1:] == [2]  # the first batch was made durable, alone
	monkeypatch.undo()
	assert lapse.run(batch_size=2) == 3  # the re-run finishes the rest, nothing twice
	assert lapsed(names) == sorted(names)
	for name in names:
		assert frappe.db.count("Opt Log", {"parent": name, "action": "Lapsed"}) == 1


def test_the_scheduled_job_queues_chunks_that_commit_per_batch(monkeypatch):
	"""The daily job coordinates: it plans the run and queues one deduplicated job per chunk on the long
	queue; each chunk commits after every batch (here the commits and the queue are recorded, not real)."""
	own_rules()
	names = [own_phone() for _ in range(5)]
	commits, queued = [], []
	monkeypatch.setattr(runs, "commit", lambda: commits.append(lapsed(names)))
	monkeypatch.setattr(runs, "CHUNK_SIZE", 2)
	monkeypatch.setattr(lapse, "BATCH_SIZE", 1)
	monkeypatch.setattr(frappe, "enqueue", lambda method, **kwargs: queued.append((method, kwargs)))
	tasks.lapse_texting_consent()
	# the run the job made, by its name (not "the last one made": creation is the site's local time, and a
	# run made before the site's time zone changed can look later)
	(run_name,) = {kwargs["run"] for _method, kwargs in queued}
	run = frappe.get_doc(runs.RUN, run_name)
	assert (run.kind, run.chunks_total) == (runs.LAPSE, len(queued))
	assert len(queued) >= 3
	assert lapsed(names) == []  # the coordinator lapsed nothing itself
	for no, (method, kwargs) in enumerate(queued):
		assert method == runs.CHUNK_METHOD
		assert (kwargs["queue"], kwargs["job_id"], kwargs["deduplicate"]) == (
			"long",
			chunks.job_id(run.name, no),
			True,
		)
	commits.clear()
	for _method, kwargs in queued:  # what the workers run
		runs.run_chunk(kwargs["run"], kwargs["chunk_no"])
	assert [len(c) for c in commits if c] == sorted(len(c) for c in commits if c)
	assert lapsed(names) == sorted(names)
	assert frappe.db.get_value(runs.RUN, run.name, ["status", "processed"]) == (runs.COMPLETED, 5)


JOB = "opt_consent_recompute_reauth"


@pytest.fixture
def settings_restored():
	before = frappe.get_doc("Opt Consent Settings").as_dict()
	yield
	frappe.db.rollback()
	settings = frappe.get_doc("Opt Consent Settings")
	settings.text_reauth_days = before.text_reauth_days
	settings.reauth_reminder_days = before.reauth_reminder_days
	settings.set(
		"method_periods", [{"method": r.method, "period_days": r.period_days} for r in before.method_periods]
	)
	settings.save()
	lapse.recompute_phones()
	frappe.db.commit()
	if job := get_job(JOB):
		job.delete()


def test_saving_the_settings_queues_the_recompute_instead_of_running_it(server, settings_restored):
	if job := get_job(JOB):
		job.delete()
	make_reauth_settings(0, 0)
	phone = make_texting_phone(10)
	COMMITTED.append(("Phone", phone.name))
	frappe.db.commit()
	settings = frappe.get_doc("Opt Consent Settings").as_dict()
	settings.update(text_reauth_days=30, reauth_reminder_days=5)
	response = Client(server, "manager").post(
		"/api/method/frappe.desk.form.save.savedocs", doc=frappe.as_json(settings), action="Save"
	)
	assert response.status_code == 200, response.text
	frappe.db.rollback()
	# the request did not touch the phones; the job is queued for a worker
	assert frappe.db.get_value("Phone", phone.name, "text_consent_lapses_on") is None
	assert is_job_enqueued(JOB)
	assert get_job(JOB).kwargs["method"] == "opt_consent.jobs.runs.recompute_job"
	run = runs.start_recompute(inline=True)  # what the worker runs, with its chunks run here
	try:
		assert frappe.db.get_value("Phone", phone.name, "text_consent_lapses_on") is not None
		assert frappe.db.get_value(runs.RUN, run, "status") == runs.COMPLETED
	finally:
		frappe.delete_doc(runs.RUN, run, force=True, ignore_permissions=True)
		frappe.db.commit()


def test_verify_all_records_runs_in_chunks_and_shows_the_broken_records(monkeypatch):
	"""The desk's Verify All Records: managers and auditors start it, the user role may not; the request
	queues the coordinator (after its commit), which queues the chunks; the run shows counts and the broken
	records (here every queued job is run in this process, in this transaction)."""
	from opt_consent.opt_consent.doctype.opt_consent_run.opt_consent_run import verify_all_records

	sound, tampered = make_phone_with_history(), make_phone_with_history()
	frappe.db.set_value("Phone", tampered, "call_opt", 0, update_modified=False)  # a database edit
	queued = []
	monkeypatch.setattr(runs, "commit", lambda: None)
	monkeypatch.setattr(runs, "CHUNK_SIZE", 2)
	monkeypatch.setattr(
		frappe, "enqueue", lambda method, **kwargs: queued.append((method, kwargs.pop("job_id"), kwargs))
	)
	frappe.set_user(user("user"))
	with pytest.raises(frappe.PermissionError):
		verify_all_records()
	assert not queued
	frappe.set_user(user("auditor"))
	run = verify_all_records()
	assert frappe.db.get_value(runs.RUN, run, ["kind", "status"]) == (runs.INTEGRITY, runs.QUEUED)
	(method, job_id, kwargs), *_ = queued
	assert job_id == f"opt_consent_integrity_{run}"
	assert (method, kwargs["enqueue_after_commit"], kwargs["run"]) == (
		"opt_consent.jobs.runs.integrity_job",
		True,
		run,
	)
	frappe.set_user("Administrator")
	while queued:  # what the workers run: the coordinator, then each chunk
		method, _job_id, kwargs = queued.pop(0)
		frappe.get_attr(method)(**{k: v for k, v in kwargs.items() if k in ("run", "chunk_no")})
	result = frappe.get_doc(runs.RUN, run)
	assert result.status == runs.COMPLETED and result.chunks_done == result.chunks_total > 4
	assert result.processed >= frappe.db.count("Phone") + frappe.db.count("Email")
	broken = {row.record for row in result.broken_records}
	assert tampered in broken and sound not in broken
	assert result.broken == len(result.broken_records)


def test_verify_all_records_over_http_is_a_post_for_managers_and_auditors(server):
	path = "/api/method/opt_consent.opt_consent.doctype.opt_consent_run.opt_consent_run.verify_all_records"
	assert Client(server, "user").post(path).status_code == 403
	assert Client(server, "auditor").get(path).status_code in (403, 405)  # a write: POST only
	response = Client(server, "auditor").post(path)
	assert response.status_code == 200, response.text
	run = response.json()["message"]
	try:
		frappe.db.rollback()
		assert frappe.db.get_value(runs.RUN, run, ["kind", "status", "started_by"]) == (
			runs.INTEGRITY,
			runs.QUEUED,
			user("auditor"),
		)
		assert is_job_enqueued(f"opt_consent_integrity_{run}")  # queued by the request's commit
	finally:
		if job := get_job(f"opt_consent_integrity_{run}"):
			job.delete()
		frappe.delete_doc(runs.RUN, run, force=True, ignore_permissions=True)
		frappe.db.commit()


# Stored names from before the layout by capability ------------------------------------------------------------


def test_a_run_that_stored_a_chunk_method_by_its_old_name_resumes_under_the_new_one(monkeypatch):
	"""Runs started before the app was laid out by capability stored their chunk method's old dotted name.
	The run machine answers the new name for each, Resume enqueues it, and the migration patch rewrites the
	stored rows (twice is the same as once)."""
	from opt_consent.patches import chunk_methods_by_capability

	assert set(runs.RENAMED) == {
		"opt_consent.adapters.runs.run_chunk",
		"opt_consent.adapters.contact_scrub.run_chunk",
		"opt_consent.history_import.run_chunk",
	}
	made = []
	for old, new in runs.RENAMED.items():
		run = runs.create_run(runs.INTEGRITY, status=runs.COMPLETED, chunk_method=old)
		made.append((run.name, new))
		assert runs.chunk_method(run.name) == new
		assert callable(frappe.get_attr(new)), new
	queued = []
	monkeypatch.setattr(frappe, "enqueue", lambda method, **kwargs: queued.append(method))
	runs.enqueue_chunk(made[0][0], 0)
	assert queued == [runs.CHUNK_METHOD]
	chunk_methods_by_capability.execute()
	chunk_methods_by_capability.execute()
	assert [frappe.db.get_value(runs.RUN, name, "chunk_method") for name, _new in made] == [
		new for _name, new in made
	]


PROBE = "__opt_consent_deadlock_probe"


@pytest.fixture
def probe_table():
	"""A scratch table of two rows, and a second connection of the site's own (another worker)."""
	frappe.db.sql(f"drop table if exists `{PROBE}`")
	frappe.db.sql(f"create table `{PROBE}` (id int primary key, n int not null) engine=InnoDB")
	frappe.db.sql(f"insert into `{PROBE}` values (1, 0), (2, 0)")
	frappe.db.commit()
	other = frappe.db.get_connection()
	try:
		yield other
	finally:
		other.rollback()
		other.close()
		frappe.db.rollback()
		frappe.db.sql(f"drop table if exists `{PROBE}`")
		frappe.db.commit()


def test_a_deadlock_victim_is_rolled_back_paused_and_run_again_once(probe_table, monkeypatch):
	"""A real deadlock: this transaction holds row 1 and waits for row 2, which another connection holds
	while it asks for row 1. MariaDB rolls back the transaction that changed less (this one); the run
	machine rolls it back, pauses and runs it again, and its change lands exactly once."""
	import threading

	other, holding, waiting = probe_table, threading.Event(), threading.Event()
	attempts, pauses, crossed = [], [], []
	real_pause = runs.pause_before_retry
	monkeypatch.setattr(
		runs, "pause_before_retry", lambda attempt: (pauses.append(attempt), real_pause(attempt))
	)

	def the_other_worker():
		cursor = other.cursor()
		cursor.execute(f"update `{PROBE}` set n = n + 1 where id = 2")
		for extra in range(3, 40):  # heavier than ours: the database picks ours as the victim
			cursor.execute(f"insert into `{PROBE}` values (%s, 0)", (extra,))
		holding.set()
		waiting.wait(10)
		threading.Event().wait(0.5)  # ours is now waiting for row 2
		cursor.execute(f"select n from `{PROBE}` where id = 1 for update")
		crossed.append(True)
		other.commit()

	def work():
		attempts.append(len(attempts))
		frappe.db.sql(f"update `{PROBE}` set n = n + 10 where id = 1")
		if len(attempts) == 1:
			thread.start()
			assert holding.wait(10)
			waiting.set()
		frappe.db.sql(f"select n from `{PROBE}` where id = 2 for update")
		return "done"

	thread = threading.Thread(target=the_other_worker)
	assert runs.in_transaction(work) == "done"
	thread.join(10)
	assert crossed == [True], "the other transaction went through"
	assert attempts == [0, 1] and pauses == [0]
	values = dict(frappe.db.sql(f"select id, n from `{PROBE}` where id in (1, 2)"))
	assert values == {1: 10, 2: 1}  # the victim's first try rolled back: its change landed once
