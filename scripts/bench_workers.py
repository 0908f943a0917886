"""Measure the daily lapse in one process against the chunked run on 1, 2, ... ``bench worker`` processes.

A command, not a test. Generates N phones (sealed Opt In rows; texting consent given 0 to 60 days ago with a
30-day period, so about half lapse), then for each configuration resets the data to its state before the
lapse, runs the lapse and checks that every due phone has exactly one Lapsed row:

- ``single``: :func:`opt_consent.reauth.lapse.run` committing per batch, in this process;
- ``single job``: the same, as one job on one worker (the workers' process model and lower priority);
- ``workers=K``: K workers consuming the queue ``opt_consent_test`` (declared in common_site_config
  ``workers``), timed from the coordinator's start to the run's completion (worker start-up excluded).

    cd ~/frappe-bench/sites && ../env/bin/python /path/to/opt_consent/scripts/bench_workers.py \
        --site x.localhost [--phones 100000] [--workers 1,2] [--chunk 5000] [--keep]
"""

import argparse
import datetime as dt
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

PREFIX = "BW-"
QUEUE = "opt_consent_test"
PERIOD, LEAD = 30, 5


def parse_args():
	parser = argparse.ArgumentParser(
		description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
	)
	parser.add_argument("--site", required=True)
	parser.add_argument("--phones", type=int, default=100_000)
	parser.add_argument("--workers", default="1,2")
	parser.add_argument("--chunk", type=int, default=5000)
	parser.add_argument("--keep", action="store_true")
	parser.add_argument("--json", default=str(REPO / "artifacts" / "bench-workers.json"))
	return parser.parse_args()


def connect(site: str) -> None:
	import frappe

	frappe.init(site=site, sites_path=os.getcwd())
	frappe.connect()
	frappe.set_user("Administrator")


def remove() -> None:
	import frappe

	frappe.db.rollback()
	log, phone = frappe.qb.DocType("Opt Log"), frappe.qb.DocType("Phone")
	frappe.qb.from_(log).delete().where(log.parenttype == "Phone").where(log.parent.like(f"{PREFIX}%")).run()
	frappe.qb.from_(phone).delete().where(phone.name.like(f"{PREFIX}%")).run()
	frappe.db.commit()


def generate(count: int) -> float:
	import frappe
	from frappe.utils import get_system_timezone, getdate, now_datetime, nowdate

	from opt_consent.ledger.log import insert_log_rows
	from opt_consent.reauth import rules as reauth

	started = time.perf_counter()
	remove()
	now, today = now_datetime().replace(microsecond=0), getdate(nowdate())
	rules = reauth.Rules.make(PERIOD, LEAD, [])
	rng = random.Random(5)
	zone = get_system_timezone()
	step = 10_000
	for first in range(0, count, step):
		names = [f"{PREFIX}{i:07d}" for i in range(first, min(first + step, count))]
		days = [today - dt.timedelta(days=rng.randint(0, 60)) for _ in names]
		rows = []
		for name, day in zip(names, days, strict=True):
			state = reauth.assess(rules, 1, day, "Verbal", today - dt.timedelta(days=1))
			number = f"+4477{int(name[len(PREFIX) :]):08d}"
			rows.append(
				(name, now, now, "Administrator", "Administrator", 0, 0, number, number, "Cell", 1, 0, 1, day,
				 "Verbal", state.status, state.due_from, state.lapses_on)
			)  # fmt: skip
		frappe.db.bulk_insert(
			"Phone",
			["name", "creation", "modified", "owner", "modified_by", "docstatus", "idx", "phone", "phone_e164",
			 "phone_type", "active", "do_not_call", "text_opt", "text_opt_in_date", "text_opt_in_method",
			 "text_reauth_status", "text_reauth_due_on", "text_consent_lapses_on"],
			rows,
			chunk_size=5000,
		)  # fmt: skip
		insert_log_rows(
			"Phone",
			[
				(name, {"channel": "Text", "action": "Opt In", "event_date": day, "event_time": dt.time(10, 0),
				        "method": "Verbal", "recorded_by": "Administrator", "recorded_at": now, "source": "API",
				        "note": None, "entered_tz": zone, "phone_type": "Cell"})
				for name, day in zip(names, days, strict=True)
			],
			{row[0]: row[7] for row in rows},
			now=now,
		)  # fmt: skip
		frappe.db.commit()
	return time.perf_counter() - started


def reset() -> None:
	"""Back to the state before the lapse: the Lapsed rows removed, Text Opt on, the dates recomputed."""
	import frappe

	from opt_consent.reauth import lapse

	frappe.db.rollback()
	log, phone = frappe.qb.DocType("Opt Log"), frappe.qb.DocType("Phone")
	frappe.qb.from_(log).delete().where(log.parent.like(f"{PREFIX}%")).where(log.action == "Lapsed").run()
	frappe.qb.update(phone).set(phone.text_opt, 1).set(phone.text_reauth_status, "OK").where(
		phone.name.like(f"{PREFIX}%")
	).run()
	lapse.recompute_phones(on=lapse.today() - dt.timedelta(days=1))
	frappe.db.commit()


def check() -> dict:
	import frappe

	from opt_consent.reauth import lapse

	frappe.db.rollback()
	due = frappe.db.sql(
		"select count(*) from `tabPhone` where name like %s and text_opt_in_date <= %s",
		(f"{PREFIX}%", lapse.today() - dt.timedelta(days=PERIOD)),
	)[0][0]
	counts = frappe.db.sql(
		"""select count(*), coalesce(max(n), 0) from (select parent, count(*) n from `tabOpt Log`
		where parent like %s and action = 'Lapsed' group by parent) t""",
		(f"{PREFIX}%",),
	)[0]
	assert counts[0] == due and counts[1] <= 1, (due, counts)
	return {"lapsed": counts[0]}


def start_workers(count: int) -> list:
	from frappe.utils.background_jobs import get_queue, get_workers

	processes = [
		subprocess.Popen(
			[sys.executable, "-m", "frappe.utils.bench_helper", "frappe", "--site", os.environ["SITE"], "worker",
			 "--queue", QUEUE],
			stdout=subprocess.DEVNULL,
			stderr=subprocess.DEVNULL,
			start_new_session=True,
		)
		for _ in range(count)
	]  # fmt: skip
	pids = {p.pid for p in processes}
	deadline = time.monotonic() + 120
	while len([w for w in get_workers(get_queue(QUEUE)) if w.pid in pids]) < count:
		assert time.monotonic() < deadline, "the workers did not start"
		time.sleep(0.2)
	return processes


def stop_workers(processes: list) -> None:
	for process in processes:
		os.killpg(process.pid, signal.SIGTERM)
	for process in processes:
		process.wait(timeout=60)


def measure_single() -> float:
	from opt_consent.reauth import lapse

	started = time.perf_counter()
	lapse.run(commit=lapse.commit_batch)
	return time.perf_counter() - started


def measure_single_job() -> float:
	"""The single-process run as one job on one worker: the same process model and niceness as the chunks
	(Frappe's workers run at a lower priority, ``background_process_niceness``)."""
	import frappe
	from frappe.utils.background_jobs import get_job

	from opt_consent.reauth import lapse

	processes = start_workers(1)
	try:
		started = time.perf_counter()
		frappe.enqueue(
			"opt_consent.reauth.lapse.run",
			queue=QUEUE,
			job_id="bench_workers_single",
			commit=lapse.commit_batch,
		)
		while (job := get_job("bench_workers_single")) and job.get_status() not in ("finished", "failed"):
			time.sleep(0.1)
		assert job.get_status() == "finished", job.exc_info
		seconds = time.perf_counter() - started
		job.delete()
		return seconds
	finally:
		stop_workers(processes)


def measure_workers(count: int, chunk: int) -> tuple[float, str]:
	import frappe

	from opt_consent.jobs import runs

	processes = start_workers(count)
	try:
		started = time.perf_counter()
		run = runs.start_lapse(size=chunk, queue_name=QUEUE)
		while True:
			frappe.db.rollback()
			if frappe.db.get_value(runs.RUN, run, "status") == runs.COMPLETED:
				break
			time.sleep(0.1)
		return time.perf_counter() - started, run
	finally:
		stop_workers(processes)


def main() -> None:
	args = parse_args()
	os.environ["SITE"] = args.site
	connect(args.site)
	import frappe

	from opt_consent.reauth import lapse

	before = frappe.db.get_value(
		"Opt Consent Settings", None, ["text_reauth_days", "reauth_reminder_days"], as_dict=True
	)
	frappe.db.set_single_value(
		"Opt Consent Settings", {"text_reauth_days": PERIOD, "reauth_reminder_days": LEAD}
	)
	frappe.clear_document_cache("Opt Consent Settings", "Opt Consent Settings")
	frappe.db.commit()
	report = {"phones": args.phones, "chunk": args.chunk, "cores": os.cpu_count(), "runs": []}
	try:
		report["generate_s"] = generate(args.phones)
		print(f"generated {args.phones} phones in {report['generate_s']:.0f} s", flush=True)
		configurations = ["single", "single job"] + [int(k) for k in args.workers.split(",")]
		for configuration in configurations:
			reset()
			load = os.getloadavg()[0]
			if configuration == "single":
				seconds, run = measure_single(), None
			elif configuration == "single job":
				seconds, run = measure_single_job(), None
			else:
				seconds, run = measure_workers(configuration, args.chunk)
			result = {
				"configuration": configuration,
				"seconds": seconds,
				"load_before": load,
				"run": run,
				**check(),
			}
			report["runs"].append(result)
			print(json.dumps(result), flush=True)
	finally:
		if not args.keep:
			remove()
		frappe.db.set_single_value("Opt Consent Settings", dict(before))
		frappe.clear_document_cache("Opt Consent Settings", "Opt Consent Settings")
		lapse.recompute_phones()
		frappe.db.commit()
	Path(args.json).parent.mkdir(parents=True, exist_ok=True)
	Path(args.json).write_text(json.dumps(report, indent=1, default=str))


if __name__ == "__main__":
	main()
