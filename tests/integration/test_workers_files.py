"""The history import and the Contact Scrub spread over real ``bench worker`` processes.

Both read a file: the coordinator (run here, in the test's process, as the job would) reads and checks the
whole file and writes its parts to the run's working folder (an import's buckets of records, a scrub's
parts of lines), then one chunk per part goes to the workers on the test queue ``opt_consent_test`` (see
:mod:`tests.integration.test_workers` for the workers themselves; ``made_runs`` is in conftest). Each test commits its data and removes
it.

- one worker and two workers end exactly as the single-process run on the same file: the same records,
  log rows, counts and refusal report (import); the same result file and counts (scrub); both workers took
  chunks;
- a worker killed (SIGKILL, by pid) in the middle of a chunk: after the run is resumed, the outcome is the
  single-process one, nothing lost and nothing doubled (an import's bucket goes on after its last committed
  part: no event is counted twice, none is a "duplicate");
- a chunk run a second time changes nothing; the same file applied again records nothing.
"""

import csv
import datetime as dt
import io
import json
import os
import subprocess
import sys

import frappe
import pytest
from frappe.utils import add_days, get_datetime, nowdate
from frappe.utils.background_jobs import get_job

from opt_consent.history import adapter as importer
from opt_consent.history import job as door
from opt_consent.jobs import rules as chunks
from opt_consent.jobs import runs
from opt_consent.model.channels import PHONE, channels_of
from opt_consent.scrub import adapter as scrub_job
from tests.integration.bench import SITE, SITES
from tests.integration.test_contact_scrub import new_scrub as scrub_with_list
from tests.integration.test_workers import (
	QUEUE,
	chunk_workers,
	kill_mid_chunk,
	resume_after_the_others,
	wait_completed,
	workers,
)
from tests.integration.test_workers import generate as generate_phones
from tests.integration.test_workers import remove_data as remove_phones

IMPORT_PREFIX = "+4477008"
ADDRESSES = int(os.environ.get("OPT_CONSENT_WORKER_ADDRESSES", 1500))
BUCKETS, PART_EVENTS = 4, 120
SCRUB_PHONES, SCRUB_PART = 3000, 500
COLUMNS = ["address", "channel", "action", "date", "time", "method", "operator", "phone_type"]


# The import ----------------------------------------------------------------------------------------------


def history_csv() -> bytes:
	"""Consent history for ``ADDRESSES`` numbers: calls and texts authorised, some texts withdrawn, some
	rows refused on reading (a bad number, a bad time) and some on replay (a method the site does not have, an
	opt in older than the record's withdrawal). The same file every time."""
	day = lambda n: add_days(nowdate(), -n)  # noqa: E731
	rows = []
	for i in range(ADDRESSES):
		number = f"{IMPORT_PREFIX}{i:05d}"
		rows.append([number, "Call", "Opt In", day(40), "09:00", "Verbal", "jsmith", "Cell"])
		rows.append([number, "Text", "Opt In", day(35), "09:05", "Written", "jsmith", "Cell"])
		if i % 3 == 0:
			rows.append([number, "Text", "Opt Out", day(10), "14:00", "Text Reply", "system", "Cell"])
		if i % 7 == 0:
			rows.append([number, "Call", "Opt Out", day(5), "11:00", "No Such Method", "ivr", "Cell"])
		if i % 11 == 0:
			rows.append([number, "Call", "Opt In", day(3), "25:00", "Verbal", "ivr", "Cell"])
		if i % 50 == 0:
			rows.append([f"not-a-number-{i}", "Call", "Opt In", day(3), "10:00", "Verbal", "ivr", ""])
	out = io.StringIO()
	writer = csv.writer(out)
	writer.writerow(COLUMNS)
	writer.writerows(rows)
	return out.getvalue().encode()


def remove_imported() -> None:
	frappe.db.rollback()
	names = frappe.get_all("Phone", filters={"phone_e164": ["like", f"{IMPORT_PREFIX}%"]}, pluck="name")
	for start in range(0, len(names), 1000):
		batch = tuple(names[start : start + 1000])
		frappe.db.sql(
			"""delete ledger from `tabConsent History Import Ledger` ledger join `tabOpt Log` log
			on log.name = ledger.log_row where log.parenttype = 'Phone' and log.parent in %s""",
			(batch,),
		)
		frappe.db.sql("delete from `tabOpt Log` where parenttype = 'Phone' and parent in %s", (batch,))
		frappe.db.sql("delete from `tabPhone` where name in %s", (batch,))
	for name in frappe.get_all(door.DOCTYPE, filters={"name": ["in", IMPORTS]}, pluck="name"):
		frappe.db.delete(importer.LEDGER, {"history_import": name})
		for file in frappe.get_all("File", filters={"attached_to_name": name}, pluck="name"):
			frappe.delete_doc("File", file, force=True, ignore_permissions=True)
		frappe.db.delete(door.DOCTYPE, {"name": name})
	frappe.db.commit()


IMPORTS: list[str] = []


def new_import(content: bytes) -> str:
	file = frappe.get_doc(
		{"doctype": "File", "file_name": "history.csv", "is_private": 1, "content": content}
	).insert(ignore_permissions=True)
	doc = frappe.get_doc({"doctype": door.DOCTYPE, "import_file": file.file_url}).insert()
	IMPORTS.append(doc.name)
	frappe.db.commit()
	return doc.name


def imported_state() -> dict:
	"""What the import decides, per number: the record's consent fields and its log rows, in order."""
	fields = ["phone_e164", "active", "do_not_call", "text_reauth_status", "text_consent_lapses_on"]
	for channel in channels_of(PHONE):
		fields += list(channel.owned_fields)
	records = {
		row.phone_e164: tuple(row[f] for f in fields[1:])
		for row in frappe.get_all(
			"Phone", filters={"phone_e164": ["like", f"{IMPORT_PREFIX}%"]}, fields=list(dict.fromkeys(fields))
		)
	}
	log = {}
	for row in frappe.db.sql(
		"""select phone.phone_e164, log.idx, log.channel, log.action, log.event_date, log.event_time,
		log.method, log.operator, log.source, log.honour_by
		from `tabOpt Log` log join `tabPhone` phone on phone.name = log.parent and log.parenttype = 'Phone'
		where phone.phone_e164 like %s order by phone.phone_e164, log.idx""",
		f"{IMPORT_PREFIX}%",
	):
		log.setdefault(row[0], []).append(tuple(row[1:]))
	return {"records": records, "log": log}


def report_text(path: str | None) -> str:
	with open(path, encoding="utf-8") as handle:
		return handle.read()


def attached_report(doc) -> str:
	file = frappe.get_doc("File", {"file_url": doc.report_file, "attached_to_name": doc.name})
	return report_text(file.get_full_path())


SUMMARY = ("total_rows", "recorded", "refused_count", "duplicates", "new_records")


@pytest.fixture(scope="module")
def single_import(site):
	"""The single-process import of the file (in a transaction, rolled back) and its outcome."""
	remove_imported()
	content = history_csv()
	path = os.path.join(frappe.get_site_path("private", "files"), "opt-consent-worker-history.csv")
	with open(path, "wb") as out:
		out.write(content)
	try:
		result = importer.run(
			path, importer.Options(dry_run=False, buckets=BUCKETS, chunk_events=PART_EVENTS)
		)
		state = imported_state()
	finally:
		frappe.db.rollback()
		os.unlink(path)
	report = report_text(result.report_path)
	os.unlink(result.report_path)
	assert result.recorded > 2 * ADDRESSES and result.refused > ADDRESSES // 10
	assert len(state["records"]) == ADDRESSES
	summary = (result.rows, result.recorded, result.refused, result.duplicates, result.new_records)
	yield {"content": content, "state": state, "report": report, "summary": summary}
	remove_imported()


def apply_on_workers(made_runs: list, name: str) -> str:
	run = door.run_job(name, door.APPLY, queue_name=QUEUE, buckets=BUCKETS, chunk_events=PART_EVENTS)
	assert run, frappe.db.get_value(door.DOCTYPE, name, "error_message")
	made_runs.append(run)
	return run


def check_import(name: str, expected: dict) -> None:
	doc = frappe.get_doc(door.DOCTYPE, name)
	assert doc.status == "Applied", doc.error_message
	assert tuple(doc.get(f) for f in SUMMARY) == expected["summary"]
	assert imported_state() == expected["state"]
	assert attached_report(doc) == expected["report"]


def test_an_import_on_one_and_two_workers_ends_as_the_single_process_run(single_import, made_runs):
	for count in (1, 2):
		remove_imported()
		name = new_import(single_import["content"])
		with workers(count):
			run = apply_on_workers(made_runs, name)
			progress = wait_completed(run)
			assert progress.chunks_total == BUCKETS
			assert len(chunk_workers(run)) == count  # every worker took buckets
		check_import(name, single_import)
		assert not os.path.exists(runs.work_dir(run))  # the working files went with the run's end
	# a Done chunk run again does nothing; the same file applied again records nothing
	before = imported_state()
	for no in frappe.get_all(runs.CHUNK, filters={"parent": run}, pluck="chunk_no"):
		assert door.run_chunk(run, no) == 0
	with workers(2):
		again = apply_on_workers(made_runs, name)
		wait_completed(again)
	doc = frappe.get_doc(door.DOCTYPE, name)
	assert (doc.recorded, doc.duplicates) == (0, single_import["summary"][1])
	assert imported_state() == before


def test_an_import_worker_killed_mid_bucket_loses_nothing_and_doubles_nothing(single_import, made_runs):
	remove_imported()
	name = new_import(single_import["content"])
	with workers(2) as pool:
		run = apply_on_workers(made_runs, name)

		def between_parts():
			for chunk in frappe.get_all(
				runs.CHUNK,
				filters={"parent": run, "status": runs.QUEUED, "parts_done": [">", 0]},
				fields=["chunk_no", "job_id"],
			):
				yield chunk.chunk_no, chunk.job_id

		victim = kill_mid_chunk(pool, between_parts, "bucket between two parts", pause=0.005)
		frappe.db.rollback()
		killed = frappe.db.get_value(
			runs.CHUNK, {"parent": run, "chunk_no": victim}, ["status", "parts_done"], as_dict=True
		)
		assert killed.status == runs.QUEUED and killed.parts_done > 0  # some parts committed, not Done
		assert frappe.db.get_value(door.DOCTYPE, name, "status") == "Applying"
		resume_after_the_others(run)
	check_import(name, single_import)  # duplicates 0: the bucket went on after its last committed part


# The scrub -----------------------------------------------------------------------------------------------

SCRUBS: list[str] = []


def scrub_list() -> bytes:
	"""The generated texting phones, numbers no one has, a few that are not numbers, and repeats."""
	numbers = [f"+4477009{i:05d}" for i in range(SCRUB_PHONES)]
	numbers += [f"+4477006{i:05d}" for i in range(SCRUB_PHONES // 6)]
	numbers += [f"no number {i}" for i in range(20)] + numbers[:50]
	return ("phone\n" + "\n".join(numbers) + "\n").encode()


def new_scrub(content: bytes, at: dt.datetime) -> str:
	doc = scrub_with_list(content, channel="Text", at=at)
	SCRUBS.append(doc.name)
	frappe.db.commit()
	return doc.name


def scrub_outcome(name: str) -> dict:
	frappe.db.rollback()
	doc = frappe.get_doc(scrub_job.DOCTYPE, name)
	assert doc.status == scrub_job.DONE, doc.error
	file = frappe.get_doc("File", {"file_url": doc.result_file, "attached_to_name": name})
	return {
		"counts": (doc.total, doc.processed, doc.allowed_count, doc.reason_counts),
		"result": report_text(file.get_full_path()),
	}


@pytest.fixture(scope="module")
def single_scrub(site):
	"""The single-process scrub of the list (its chunks run here, one after the other) and its outcome."""
	generate_phones(SCRUB_PHONES)
	content = scrub_list()
	at = get_datetime(f"{nowdate()} 12:00:00")
	name = new_scrub(content, at)
	scrub_job.run(name, "Administrator", inline=True, part_size=SCRUB_PART)
	outcome = scrub_outcome(name)
	assert outcome["counts"][0] == outcome["counts"][1] == content.count(b"\n") - 1
	assert 0 < outcome["counts"][2] < outcome["counts"][0]
	yield {"content": content, "at": at, **outcome}
	frappe.db.rollback()
	for scrub in SCRUBS:
		for file in frappe.get_all("File", filters={"attached_to_name": scrub}, pluck="name"):
			frappe.delete_doc("File", file, force=True, ignore_permissions=True)
		frappe.db.delete(scrub_job.DOCTYPE, {"name": scrub})
	frappe.db.commit()
	remove_phones()


def scrub_on_workers(made_runs: list, name: str) -> str:
	run = scrub_job.run(name, "Administrator", queue_name=QUEUE, part_size=SCRUB_PART)
	assert run, frappe.db.get_value(scrub_job.DOCTYPE, name, "error")
	made_runs.append(run)
	return run


def test_a_scrub_on_one_and_two_workers_ends_as_the_single_process_run(single_scrub, made_runs):
	parts = -(-single_scrub["counts"][0] // SCRUB_PART)
	for count in (1, 2):
		name = new_scrub(single_scrub["content"], single_scrub["at"])
		with workers(count):
			run = scrub_on_workers(made_runs, name)
			progress = wait_completed(run)
			assert progress.chunks_total == parts
			assert len(chunk_workers(run)) == count
		outcome = scrub_outcome(name)
		assert outcome == {"counts": single_scrub["counts"], "result": single_scrub["result"]}
	for no in range(parts):  # a Done part run again adds nothing
		assert scrub_job.run_chunk(run, no) == 0
	assert scrub_outcome(name) == outcome


def test_a_scrub_worker_killed_mid_part_loses_nothing_and_doubles_nothing(single_scrub, made_runs):
	name = new_scrub(single_scrub["content"], single_scrub["at"])
	with workers(2) as pool:
		run = scrub_on_workers(made_runs, name)

		def answering():
			for no in range(runs.progress_of(run).chunks_total or 0):
				job_id = chunks.job_id(run, no)
				if (job := get_job(job_id)) and job.get_status() == "started":
					yield no, job_id

		victim = kill_mid_chunk(pool, answering, "part being answered", pause=0.005)
		frappe.db.rollback()
		assert frappe.db.get_value(runs.CHUNK, {"parent": run, "chunk_no": victim}, "status") == runs.QUEUED
		resume_after_the_others(run)
	assert scrub_outcome(name) == {"counts": single_scrub["counts"], "result": single_scrub["result"]}


def test_the_last_part_counts_the_parts_committed_after_its_transaction_began(single_scrub):
	"""The chunk that completes a run adds up the others' counts with a locking read: a plain read would
	see its own transaction's snapshot, taken before a part another worker committed meanwhile."""
	name = new_scrub(single_scrub["content"][:2000], single_scrub["at"])  # a few dozen numbers
	run = scrub_job.run(name, "Administrator", queue_name=QUEUE, part_size=10)
	for no in range(runs.progress_of(run).chunks_total):
		if job := get_job(chunks.job_id(run, no)):
			job.delete()  # no worker here: the parts are run below, in the order wanted
	last = runs.progress_of(run).chunks_total - 1
	try:
		frappe.db.rollback()
		# this transaction's snapshot: no part committed yet
		assert frappe.db.count(runs.CHUNK, {"parent": run, "status": runs.DONE}) == 0
		for no in range(last):  # every other part, committed by another process meanwhile
			done = subprocess.run(
				[sys.executable, "-m", "frappe.utils.bench_helper", "frappe", "--site", SITE, "execute",
				 "opt_consent.scrub.adapter.run_chunk", "--kwargs", json.dumps({"run": run, "chunk_no": no})],
				cwd=SITES, capture_output=True, text=True, timeout=120,
			)  # fmt: skip
			assert done.returncode == 0, done.stderr[-2000:]
		assert scrub_job.run_chunk(run, last) > 0  # in the old snapshot's transaction: the join
		doc = frappe.get_doc(scrub_job.DOCTYPE, name)
		assert doc.status == scrub_job.DONE
		counted = sum(row["count"] for row in json.loads(doc.reason_counts))
		assert counted == doc.total == doc.processed
	finally:
		frappe.db.rollback()
		runs.discard(run)
		frappe.db.commit()
