"""Chunked runs on real ``bench worker`` processes: the daily lapse, the integrity walk.

Each test commits its data (the workers are other processes) and removes it. The workers consume only the
test queue ``opt_consent_test`` (declared in the bench's common_site_config ``workers``), so they never take
another site's jobs; the run's chunks are sent there with ``queue_name``. A worker is the command
``bench --site <site> worker --queue opt_consent_test`` run without the bench wrapper (the same
``frappe.utils.bench_helper`` entry point), in its own process group, so that its pid is the worker's and a
SIGKILL of the group also kills the work horse RQ forked for the job in hand.

- (a) one worker, two workers and the single-process ``lapse.run`` on the same data end in the same state:
  every due phone lapsed once (one Lapsed row), and every chain verifies through the chunked integrity run;
- (b) a worker killed (SIGKILL, by pid) in the middle of a chunk: the batches it committed stay, the rest is
  finished when the run is resumed on the other worker; nothing lost, nothing doubled;
- (c) a chunk run a second time changes nothing;
- two runs of the same lapse at once, on two workers (each phone in a chunk of both): each lapsed once.
"""

import datetime as dt
import os
import random
import signal
import subprocess
import sys
import time
from contextlib import contextmanager

import frappe
import pytest
from frappe.utils import add_days, get_system_timezone, getdate, now_datetime, nowdate
from frappe.utils.background_jobs import get_job, get_queue, get_workers

from opt_consent.jobs import rules as chunks
from opt_consent.jobs import runs
from opt_consent.ledger.integrity import verify_record
from opt_consent.ledger.log import insert_log_rows
from opt_consent.reauth import lapse
from opt_consent.reauth import rules as reauth
from tests.integration.bench import SITE, SITES
from tests.integration.factories import make_method

QUEUE = "opt_consent_test"
PREFIX = "WKT-"
PHONES = int(os.environ.get("OPT_CONSENT_WORKER_PHONES", 6000))  # about half of them due
CHUNK = 1500  # candidates per chunk: 3 batches of 500
PERIOD, LEAD = 30, 5
# The generated phones' Opt Method: the period is this method's alone (the default period is none while the
# module runs), so on a site in use only the generated phones are due and the site's own are not lapsed.
METHOD = "Worker Test Method"
STATE_FIELDS = ["name", "text_opt", "text_reauth_status", "text_reauth_due_on", "text_consent_lapses_on"]


# Data ----------------------------------------------------------------------------------------------------


def remove_data() -> None:
	frappe.db.rollback()
	log, phone = frappe.qb.DocType("Opt Log"), frappe.qb.DocType("Phone")
	frappe.qb.from_(log).delete().where(log.parenttype == "Phone").where(log.parent.like(f"{PREFIX}%")).run()
	frappe.qb.from_(phone).delete().where(phone.name.like(f"{PREFIX}%")).run()
	frappe.db.commit()


def generate(count: int = PHONES) -> list[str]:
	"""``count`` Cell phones opted in to texts 0 to 60 days ago (30-day period: about half lapse today), each
	with its sealed Opt In row and the reauthorisation fields as of yesterday: set-based, committed. The
	same data every time (seeded)."""
	remove_data()
	make_method(METHOD)  # what the phones' texting consent was given by (committed below)
	now = now_datetime().replace(microsecond=0)
	today = getdate(nowdate())
	rules = reauth.Rules.make(0, LEAD, [(METHOD, PERIOD)])
	rng = random.Random(17)
	days = [today - dt.timedelta(days=rng.randint(0, 60)) for _ in range(count)]
	names = [f"{PREFIX}{i:06d}" for i in range(count)]
	rows = []
	for i, (name, day) in enumerate(zip(names, days, strict=True)):
		state = reauth.assess(rules, 1, day, METHOD, today - dt.timedelta(days=1))
		number = f"+4477009{i:05d}"
		rows.append(
			(name, now, now, "Administrator", "Administrator", 0, 0, number, number, "Cell", 1, 0, 1, day,
			 METHOD, state.status, state.due_from, state.lapses_on)
		)  # fmt: skip
	frappe.db.bulk_insert(
		"Phone",
		["name", "creation", "modified", "owner", "modified_by", "docstatus", "idx", "phone", "phone_e164",
		 "phone_type", "active", "do_not_call", "text_opt", "text_opt_in_date", "text_opt_in_method",
		 "text_reauth_status", "text_reauth_due_on", "text_consent_lapses_on"],
		rows,
		chunk_size=2000,
	)  # fmt: skip
	zone = get_system_timezone()
	insert_log_rows(
		"Phone",
		[
			(
				name,
				{
					"channel": "Text",
					"action": "Opt In",
					"event_date": day,
					"event_time": dt.time(10, 0),
					"method": METHOD,
					"recorded_by": "Administrator",
					"recorded_at": now,
					"source": "API",
					"note": None,
					"entered_tz": zone,
					"phone_type": "Cell",
				},
			)
			for name, day in zip(names, days, strict=True)
		],
		{name: row[7] for name, row in zip(names, rows, strict=True)},
		now=now,
	)
	frappe.db.commit()
	assert verify_record("Phone", names[0])["ok"], "the generated data must verify before the lapse"
	return names


def state(new_snapshot: bool = True) -> dict:
	"""What the lapse decides, per generated phone: its reauthorisation fields and its Lapsed rows."""
	if new_snapshot:
		frappe.db.rollback()  # a new snapshot: what the workers committed
	phones = {
		row.name: tuple(row[f] for f in STATE_FIELDS[1:])
		for row in frappe.get_all("Phone", filters={"name": ["like", f"{PREFIX}%"]}, fields=STATE_FIELDS)
	}
	lapsed: dict[str, list] = {}
	for row in frappe.get_all(
		"Opt Log",
		filters={"parenttype": "Phone", "parent": ["like", f"{PREFIX}%"], "action": "Lapsed"},
		fields=["parent", "idx", "event_date", "channel", "source"],
	):
		lapsed.setdefault(row.parent, []).append((row.idx, row.event_date, row.channel, row.source))
	return {"phones": phones, "lapsed": lapsed}


def due_names(names: list[str]) -> set[str]:
	"""The phones the rule lapses today (authorised 30 days ago or more)."""
	cutoff = add_days(nowdate(), -PERIOD)
	return set(
		frappe.get_all(
			"Phone",
			filters={"name": ["in", names], "text_opt_in_date": ["<=", cutoff]},
			pluck="name",
		)
	)


def due_in(chunk, due: set[str]) -> int:
	"""How many due phones a chunk row's range holds."""
	span = chunks.Chunk(0, chunks.decode_key(chunk.after_key), chunks.decode_key(chunk.upto_key))
	return sum(1 for name in due if span.contains((name,)))


def check_lapsed_once(after: dict, due: set[str]) -> None:
	assert set(after["lapsed"]) == due, "every due phone lapsed, no other"
	doubled = {name: rows for name, rows in after["lapsed"].items() if len(rows) != 1}
	assert not doubled, f"phones lapsed more than once: {list(doubled)[:5]}"
	assert all(after["phones"][name][0] == 0 for name in due)


# Settings, workers, runs ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def rules(site):
	"""The reauthorisation rules the workers read (committed): a period for the generated phones' method
	alone; the site's rules put back afterwards (and every phone's stored dates recomputed by them)."""
	frappe.db.rollback()
	settings = frappe.get_doc("Opt Consent Settings")
	before = {
		"text_reauth_days": settings.text_reauth_days,
		"reauth_reminder_days": settings.reauth_reminder_days,
		"method_periods": [(row.method, row.period_days) for row in settings.method_periods],
	}
	made_method = not frappe.db.exists("Opt Method", METHOD)
	make_method(METHOD)
	set_rules(0, LEAD, [(METHOD, PERIOD)])
	yield
	remove_data()
	set_rules(before["text_reauth_days"] or 0, before["reauth_reminder_days"] or 0, before["method_periods"])
	lapse.recompute_phones()
	if made_method:
		frappe.delete_doc("Opt Method", METHOD, force=True, ignore_permissions=True)
	frappe.db.commit()


def set_rules(period: int, lead: int, method_periods=()) -> None:
	"""The settings saved (committed); the recompute their saving queues is not wanted (each run heals the
	dates first): dropped from the queue."""
	settings = frappe.get_doc("Opt Consent Settings")
	settings.text_reauth_days, settings.reauth_reminder_days = period, lead
	settings.set("method_periods", [{"method": m, "period_days": d} for m, d in method_periods])
	settings.save()
	frappe.db.commit()
	if job := get_job(RECOMPUTE_JOB):
		job.delete()


RECOMPUTE_JOB = "opt_consent_recompute_reauth"


class Workers:
	"""``bench worker --queue opt_consent_test`` processes, each the leader of its own process group."""

	def __init__(self, count: int):
		self.processes = [
			subprocess.Popen(
				[sys.executable, "-m", "frappe.utils.bench_helper", "frappe", "--site", SITE, "worker",
				 "--queue", QUEUE],
				cwd=SITES,
				stdout=subprocess.DEVNULL,
				stderr=subprocess.DEVNULL,
				start_new_session=True,
			)
			for _ in range(count)
		]  # fmt: skip
		self.wait_registered()

	@property
	def pids(self) -> set[int]:
		return {p.pid for p in self.processes if p.poll() is None}

	def registered(self) -> list:
		return [w for w in get_workers(get_queue(QUEUE)) if w.pid in self.pids]

	def wait_registered(self, timeout: float = 90) -> None:
		deadline = time.monotonic() + timeout
		while len(self.registered()) < len(self.processes):
			assert time.monotonic() < deadline, "the workers did not start"
			time.sleep(0.2)

	def kill(self, pid: int) -> None:
		"""SIGKILL the worker and its work horse (its process group), by the worker's pid."""
		os.killpg(pid, signal.SIGKILL)
		next(p for p in self.processes if p.pid == pid).wait(timeout=10)

	def stop(self) -> None:
		for process in self.processes:
			if process.poll() is None:
				os.killpg(process.pid, signal.SIGTERM)  # warm shutdown: ends the job in hand
		for process in self.processes:
			try:
				process.wait(timeout=30)
			except subprocess.TimeoutExpired:
				os.killpg(process.pid, signal.SIGKILL)
				process.wait(timeout=10)


@contextmanager
def workers(count: int):
	pool = Workers(count)
	try:
		yield pool
	finally:
		pool.stop()


def wait_completed(run: str, timeout: float = 180) -> frappe._dict:
	deadline = time.monotonic() + timeout
	while True:
		frappe.db.rollback()
		progress = runs.progress_of(run)
		if progress.status == runs.COMPLETED:
			return progress
		assert time.monotonic() < deadline, f"run {run} not completed: {progress}"
		time.sleep(0.2)


def kill_mid_chunk(pool: "Workers", candidates, what: str, pause: float = 0.01, timeout: float = 120):
	"""Poll ``candidates()`` (``(key, job id)`` of the chunks caught in the middle of their work) until the
	worker running one of them is SIGKILLed; returns that chunk's key."""
	deadline = time.monotonic() + timeout
	while True:
		assert time.monotonic() < deadline, f"no {what} was caught in the middle"
		frappe.db.rollback()
		for key, job_id in candidates():
			job = get_job(job_id)
			worker = next((w for w in pool.registered() if job and w.name == job.worker_name), None)
			if worker:
				pool.kill(worker.pid)
				return key
		time.sleep(pause)


def resume_after_the_others(run: str, timeout: float = 120) -> frappe._dict:
	"""Once every chunk but the killed one is Done (its job stays "started" in RQ), the run is still
	Running; Resume queues the killed chunk again (its job is seen abandoned) and the run completes."""
	deadline = time.monotonic() + timeout
	while frappe.db.count(runs.CHUNK, {"parent": run, "status": runs.QUEUED}) > 1:
		assert time.monotonic() < deadline
		time.sleep(0.2)
		frappe.db.rollback()
	assert runs.progress_of(run).status == runs.RUNNING
	runs.resume(run, queue_name=QUEUE)
	return wait_completed(run)


def chunk_workers(run: str) -> set[str]:
	"""The RQ workers that ran the run's chunks."""
	nos = frappe.get_all(runs.CHUNK, filters={"parent": run}, pluck="chunk_no")
	return {job.worker_name for no in nos if (job := get_job(chunks.job_id(run, no))) and job.worker_name}


def start_lapse(made_runs: list) -> str:
	run = runs.start_lapse(size=CHUNK, queue_name=QUEUE)
	made_runs.append(run)
	return run


def integrity_of_generated(made_runs: list) -> frappe._dict:
	"""The chunked integrity run over every record, on the workers; the generated phones must all verify."""
	run = runs.start_integrity(size=2000, queue_name=QUEUE)
	made_runs.append(run)
	progress = wait_completed(run)
	broken = frappe.get_all(
		runs.BROKEN, filters={"parent": run, "record": ["like", f"{PREFIX}%"]}, pluck="record"
	)
	assert not broken, f"generated records whose chain does not verify: {broken[:5]}"
	return progress


# The tests ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def expected(rules):
	"""The single-process run's result on the generated data (in a transaction, rolled back)."""
	names = generate()
	lapsed = lapse.run()
	after = state(new_snapshot=False)  # this transaction's own lapse
	frappe.db.rollback()  # the data as generated again
	assert lapsed >= len(due_names(names)) > 1000
	return {"names": names, "state": after, "due": due_names(names)}


def test_one_and_two_workers_end_as_the_single_process_run(rules, expected, made_runs):
	assert expected["state"]["lapsed"], "the single-process run lapsed the due phones"
	check_lapsed_once(expected["state"], expected["due"])
	for count in (1, 2):
		generate()
		with workers(count):
			run = start_lapse(made_runs)
			progress = wait_completed(run)
			assert progress.chunks_total >= 2
			assert progress.processed == len(expected["due"])  # counted per committed batch, exactly
			assert len(chunk_workers(run)) == count  # the chunks were shared by every worker
			after = state()
			assert after == expected["state"]  # the same phones, dates, statuses and Lapsed rows
			check_lapsed_once(after, expected["due"])
			if count == 2:
				checked = integrity_of_generated(made_runs)
				assert checked.processed >= len(expected["names"])
				assert len(chunk_workers(made_runs[-1])) == 2


def test_a_worker_killed_mid_chunk_loses_nothing_and_doubles_nothing(rules, expected, made_runs):
	generate()
	with workers(2) as pool:
		run = start_lapse(made_runs)

		def between_batches():
			for chunk in frappe.get_all(
				runs.CHUNK,
				filters={"parent": run, "status": runs.QUEUED, "processed": [">", 0]},
				fields=["chunk_no", "processed", "job_id", "after_key", "upto_key"],
			):
				if chunk.processed < due_in(chunk, expected["due"]):  # its last batch is not written yet
					yield chunk, chunk.job_id

		victim = kill_mid_chunk(pool, between_batches, "chunk between two batches")
		frappe.db.rollback()
		killed = frappe.db.get_value(
			runs.CHUNK, {"parent": run, "chunk_no": victim.chunk_no}, ["status", "processed"], as_dict=True
		)
		# the kill came between two batches of the chunk: some committed, the chunk not done
		assert killed.status == runs.QUEUED and 0 < killed.processed < due_in(victim, expected["due"])
		progress = resume_after_the_others(run)
		after = state()
		assert progress.processed == len(expected["due"])
		assert after == expected["state"]
		check_lapsed_once(after, expected["due"])


def test_a_chunk_run_twice_changes_nothing_the_second_time(rules, expected, made_runs):
	generate()
	with workers(2):
		run = start_lapse(made_runs)
		wait_completed(run)
		integrity = runs.start_integrity(size=2000, queue_name=QUEUE)
		made_runs.append(integrity)
		wait_completed(integrity)
	before = state()
	modified = dict(
		frappe.get_all(
			"Phone", filters={"name": ["like", f"{PREFIX}%"]}, fields=["name", "modified"], as_list=1
		)
	)
	log_rows = frappe.db.count("Opt Log", {"parent": ["like", f"{PREFIX}%"]})
	totals = runs.progress_of(run), runs.progress_of(integrity)
	for name in (run, integrity):
		for row in frappe.get_all(
			runs.CHUNK, filters={"parent": name}, fields=["chunk_no", "after_key", "upto_key"]
		):
			assert runs.run_chunk(name, row.chunk_no) == 0  # a Done chunk is not run again
			if name == run:  # and its range walked again lapses nothing
				again = lapse.lapse_range(
					getdate(nowdate()),
					reauth.Rules.make(0, LEAD, [(METHOD, PERIOD)]),
					chunks.decode_key(row.after_key),
					chunks.decode_key(row.upto_key),
					by_name=True,
				)
				assert again == 0
	frappe.db.commit()
	assert state() == before
	assert frappe.db.count("Opt Log", {"parent": ["like", f"{PREFIX}%"]}) == log_rows
	assert (
		dict(
			frappe.get_all(
				"Phone", filters={"name": ["like", f"{PREFIX}%"]}, fields=["name", "modified"], as_list=1
			)
		)
		== modified
	)
	assert (runs.progress_of(run), runs.progress_of(integrity)) == totals
	assert frappe.db.count(runs.BROKEN, {"parent": integrity}) == totals[1].broken


def test_two_runs_of_the_same_lapse_at_once_lapse_each_phone_once(rules, expected, made_runs):
	"""Every phone is in a chunk of both runs, run by two workers at once: the row locks and the re-check
	on the locked rows let one of them lapse it, and the other find it lapsed."""
	generate()
	with workers(2):
		first = runs.start_lapse(size=CHUNK, queue_name=QUEUE, defer=True)
		second = runs.start_lapse(size=CHUNK, queue_name=QUEUE, defer=True)
		made_runs.extend([first, second])
		plans = [
			frappe.get_all(
				runs.CHUNK, filters={"parent": run}, fields=["after_key", "upto_key"], order_by="chunk_no"
			)
			for run in (first, second)
		]
		assert plans[0] == plans[1] and len(plans[0]) >= 2  # the same ranges
		for no in range(len(plans[0])):  # chunk i of both runs queued side by side
			for run in (first, second):
				runs.enqueue_chunk(run, no, QUEUE)
		totals = [wait_completed(first).processed, wait_completed(second).processed]
	after = state()
	check_lapsed_once(after, expected["due"])
	assert after == expected["state"]
	assert sum(totals) == len(expected["due"])  # each lapse counted by the run that wrote it
