"""Benchmark opt_consent against Frappe's own floor, on a real site. A command, not a test.

Generates its own data with set-based inserts (100k phones with 10 log rows each by default), measures each
operation and a floor in the same run, interleaved, prints medians, spreads and ratios, and removes the data.

    cd ~/frappe-bench/sites && ../env/bin/python /path/to/opt_consent/scripts/benchmark.py \
        [--site opt.localhost] [--phones 100000] [--million] [--samples 200] [--json out.json]

``--contacts 10000`` measures instead the Contact import: the same Contact inserts (a mobile, a landline and
an email each, as Data Import inserts them) with the app's Contact hook active and disabled, interleaved.

``--import-events 1000000`` measures instead the consent history import: a generated CSV of N events over
N/10 phones imported through the rules (sealed, ledger, per-chunk commits), against a raw multi-row INSERT
of the same phones and log rows in the same run (floor, import, floor; the floor's median).

``--purposes`` measures instead a site with history upgraded to consent purposes (scripts/bench_purposes.py):
``--phones`` phones (100,000) with 10 sealed log rows each written as before purposes, ``bench migrate`` run
as a subprocess (its time, peak memory and rows rewritten), the integrity verification, then a second purpose
and the consent action, ``can_contact``, the scrub and the daily lapse sweep for it against their floors.
"""

import argparse
import datetime as dt
import json
import os
import platform
import random
import statistics
import sys
import time
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from opt_consent.reauth import rules as reauth  # noqa: E402  (pure: no Frappe)

PREFIX = "BENCH-"
ROWS_PER_PHONE = 10
BIG_ROWS = 1000


def parse_args():
	parser = argparse.ArgumentParser(
		description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
	)
	parser.add_argument("--site", default=None)
	parser.add_argument("--phones", type=int, default=100_000)
	parser.add_argument("--million", action="store_true", help="1,000,000 phones")
	parser.add_argument("--samples", type=int, default=200)
	parser.add_argument("--sweeps", type=int, default=4, help="runs of the lapse sweep and of its floor")
	parser.add_argument(
		"--rows",
		type=int,
		default=10,
		help="log rows per phone (even; default 10): Call in / out, then a Text opt in",
	)
	parser.add_argument(
		"--spread-days",
		type=int,
		default=60,
		help="texting consent given uniformly over the last N days (30-day period: 60 lapses half, 31 is a daily run)",
	)
	parser.add_argument(
		"--contacts",
		type=int,
		default=0,
		help="only the Contact import measure: N Contacts, half with the consent sync, half without",
	)
	parser.add_argument(
		"--import-events",
		type=int,
		default=0,
		help="only the history import measure: N events over N/10 phones vs a raw bulk insert of the same rows",
	)
	parser.add_argument(
		"--scrub",
		type=int,
		default=0,
		help="only the scrub measure: contact_control.scrub of N numbers vs one indexed join (scripts/benchmark_scrub.py)",
	)
	parser.add_argument("--scrub-samples", type=int, default=5, help="scrubs of the N numbers, and floors")
	parser.add_argument(
		"--inbound",
		type=int,
		default=0,
		help="only the inbound door's measures: classifying the corpus N times, and N replies through the door vs inserting the Inbound Text alone (scripts/bench_inbound.py)",
	)
	parser.add_argument(
		"--file-workers",
		default="",
		help="with --import-events or --scrub: also the desk's run on each of these numbers of `bench worker`s "
		"(e.g. 1,2) against the same work in one process (scripts/bench_files.py)",
	)
	parser.add_argument(
		"--log-rows",
		type=int,
		default=0,
		help="only the scale measures (scripts/bench_scale.py): N/10 phones with 10 sealed log rows each",
	)
	parser.add_argument(
		"--purposes",
		action="store_true",
		help="only the purposes measures (scripts/bench_purposes.py): --phones phones with 10 sealed rows each as "
		"before purposes, the upgrade by `bench migrate`, then two purposes measured",
	)
	parser.add_argument("--reuse", action="store_true", help="with --log-rows: measure a set kept by --keep")
	parser.add_argument(
		"--workers",
		default="1,2",
		help="with --log-rows: the backlog as the chunked run on each of these numbers of `bench worker`s",
	)
	parser.add_argument(
		"--chunk",
		type=int,
		default=50_000,
		help="with --log-rows: lapsing phones per chunk of the chunked run",
	)
	parser.add_argument("--json", default=str(REPO / "artifacts" / "benchmark.json"))
	parser.add_argument("--keep", action="store_true", help="keep the generated data")
	parser.add_argument("--doc", default=None, help="also write the report as Markdown here")
	parser.add_argument("--render", default=None, help="only write --doc from this earlier run's --json")
	return parser.parse_args()


def connect(site: str | None):
	import frappe

	sites = os.getcwd()
	if site is None:
		from tests.integration.bench import default_site

		site = default_site()
	frappe.init(site=site, sites_path=sites)
	frappe.connect()
	frappe.set_user("Administrator")
	return site


# ---------------------------------------------------------------- measuring


def clock(fn) -> float:
	start = time.perf_counter()
	fn()
	return time.perf_counter() - start


def summary(samples: list[float]) -> dict:
	ordered = sorted(samples)
	q = statistics.quantiles(ordered, n=10) if len(ordered) > 1 else ordered
	return {
		"median_ms": statistics.median(ordered) * 1000,
		"p10_ms": q[0] * 1000,
		"p90_ms": q[-1] * 1000,
		"n": len(ordered),
	}


def compare(name: str, goal: float, ours: list[float], floor: list[float], note: str = "") -> dict:
	result = {"name": name, "goal": goal, "ours": summary(ours), "floor": summary(floor), "note": note}
	result["ratio"] = result["ours"]["median_ms"] / result["floor"]["median_ms"]
	result["met"] = result["ratio"] <= goal
	return result


def interleaved(samples: int, ours, floor, after=None) -> tuple[list[float], list[float]]:
	"""Alternate the two measurements so that drift on the machine affects both alike."""
	a, b = [], []
	for i in range(samples):
		for fn, out in ((ours, a), (floor, b)) if i % 2 == 0 else ((floor, b), (ours, a)):
			out.append(clock(lambda fn=fn, i=i: fn(i)))
			if after:
				after()
	return a, b


# ---------------------------------------------------------------- data


def number(i: int) -> str:
	"""Distinct valid UK mobile numbers, out of the range the tests use."""
	return f"+447400{i:06d}" if i < 1_000_000 else f"+447500{i - 1_000_000:06d}"


PHONE_FIELDS = [
	"name", "creation", "modified", "owner", "modified_by", "docstatus", "idx", "phone", "phone_e164",
	"phone_type", "active", "do_not_call", "call_opt", "call_opt_in_date", "call_opt_in_method",
	"call_opt_out_date", "call_opt_out_method", "text_opt", "text_opt_in_date", "text_opt_in_method",
	"text_reauth_status", "text_reauth_due_on", "text_consent_lapses_on",
]  # fmt: skip
LOG_FIELDS = [
	"name", "creation", "modified", "owner", "modified_by", "docstatus", "idx", "parent", "parenttype",
	"parentfield", "channel", "action", "event_date", "event_time", "method", "recorded_by",
	"recorded_at", "source",
]  # fmt: skip


def generate(count: int, text_period_days: int = 30, spread_days: int = 60) -> dict:
	"""Phones with 10 rows each: Call opt in / out alternating, then a Text opt in; set-based inserts."""
	import frappe
	from frappe.utils import now_datetime

	now = now_datetime().replace(microsecond=0)
	base = now - dt.timedelta(days=400)
	rng = random.Random(7)
	text_days = [(now - dt.timedelta(days=rng.randint(0, spread_days))).date() for _ in range(count)]
	started = time.perf_counter()
	rules = bench_rules(text_period_days)
	frappe.db.bulk_insert("Phone", PHONE_FIELDS, phone_rows(text_days, rules, now, base), chunk_size=5_000)
	frappe.db.bulk_insert("Opt Log", LOG_FIELDS, log_rows(text_days, now, base), chunk_size=10_000)
	generate_big(now, base)
	frappe.db.commit()  # the data set must outlive each measurement's rollback
	return {
		"phones": count,
		"rows": count * ROWS_PER_PHONE + BIG_ROWS,
		"text_consent_spread_days": spread_days,
		"seconds": time.perf_counter() - started,
	}


def phone_rows(text_days: list, rules, now: dt.datetime, base: dt.datetime):
	"""One Cell phone per text day, with the reauthorisation fields as the consent actions store them
	(assessed as of yesterday's run)."""
	yesterday = (now - dt.timedelta(days=1)).date()
	for i, text_day in enumerate(text_days):
		state = reauth.assess(rules, 1, text_day, "Written", yesterday)
		yield (
			f"{PREFIX}{i:07d}", now, now, "Administrator", "Administrator", 0, 0, number(i), number(i), "Cell",
			1, 0, 1, (base + dt.timedelta(days=8)).date(), "Verbal", (base + dt.timedelta(days=7)).date(),
			"Verbal", 1, text_day, "Written", state.status, state.due_from, state.lapses_on,
		)  # fmt: skip


def log_rows(text_days: list, now: dt.datetime, base: dt.datetime):
	"""Each phone's rows: Call opt in / out alternating, then the Text opt in of its text day."""
	for i, text_day in enumerate(text_days):
		parent = f"{PREFIX}{i:07d}"
		for r in range(1, ROWS_PER_PHONE):
			at = base + dt.timedelta(days=r - 1)
			yield (
				f"{parent}-{r:02d}", now, now, "Administrator", "Administrator", 0, r, parent, "Phone",
				"opt_logs", "Call", "Opt In" if r % 2 else "Opt Out", at.date(), dt.timedelta(hours=9),
				"Verbal", "Administrator", now, "API",
			)  # fmt: skip
		yield (
			f"{parent}-{ROWS_PER_PHONE:02d}", now, now, "Administrator", "Administrator", 0, ROWS_PER_PHONE,
			parent, "Phone", "opt_logs", "Text", "Opt In", text_day, dt.timedelta(hours=9),
			"Written", "Administrator", now, "API",
		)  # fmt: skip


def generate_big(now: dt.datetime, base: dt.datetime) -> None:
	"""One phone with ``BIG_ROWS`` rows, for the form payload."""
	import frappe

	big = f"{PREFIX}BIG"
	frappe.db.bulk_insert(
		"Phone",
		PHONE_FIELDS,
		[(big, now, now, "Administrator", "Administrator", 0, 0, "+447399000001", "+447399000001", "Cell", 1,
		  0, 1 if BIG_ROWS % 2 else 0, base.date(), "Verbal", base.date(), "Verbal", 0, None, None, None, None,
		  None)],
	)  # fmt: skip
	frappe.db.bulk_insert(
		"Opt Log",
		LOG_FIELDS,
		(
			(f"{big}-{r:04d}", now, now, "Administrator", "Administrator", 0, r, big, "Phone", "opt_logs",
			 "Call", "Opt In" if r % 2 else "Opt Out", (base + dt.timedelta(hours=r)).date(),
			 dt.timedelta(seconds=(r * 3600) % 86400), "Verbal", "Administrator", now, "API")
			for r in range(1, BIG_ROWS + 1)
		),
	)  # fmt: skip


def remove() -> None:
	import frappe

	log = frappe.qb.DocType("Opt Log")
	phone = frappe.qb.DocType("Phone")
	frappe.qb.from_(log).delete().where(log.parent.like(f"{PREFIX}%")).where(log.parenttype == "Phone").run()
	frappe.qb.from_(phone).delete().where(phone.name.like(f"{PREFIX}%")).run()
	frappe.db.commit()


# ---------------------------------------------------------------- benchmarks


@contextmanager
def bare_frappe_save():
	"""The floor: Frappe's own get_doc / append / save, with this app's controller hooks switched off."""
	from opt_consent.ledger.records import ConsentRecord

	saved = ConsentRecord.validate
	ConsentRecord.validate = lambda self: None
	try:
		yield
	finally:
		ConsentRecord.validate = saved


def bench_action(samples: int, count: int) -> dict:
	import frappe
	from frappe.utils import now_datetime

	from opt_consent.ledger.consent import ActionRequest, record_action

	names = [f"{PREFIX}{random.Random(i).randrange(count):07d}" for i in range(samples)]
	at = now_datetime() - dt.timedelta(minutes=1)

	def ours(i):
		record_action(ActionRequest("Phone", names[i], "Opt Out", "Call", at.date(), at.time(), "Verbal"))

	def floor(i):
		with bare_frappe_save():
			doc = frappe.get_doc("Phone", names[i], for_update=True)
			doc.call_opt, doc.call_opt_out_date, doc.call_opt_out_method = 0, at.date(), "Verbal"
			doc.active, doc.do_not_call = 0, 1
			doc.append(
				"opt_logs",
				{
					"channel": "Call",
					"action": "Opt Out",
					"event_date": at.date(),
					"event_time": at.time(),
					"method": "Verbal",
					"recorded_by": "Administrator",
					"recorded_at": now_datetime(),
					"source": "API",
				},
			)
			doc.flags.consent_action = True
			doc.save()

	a, b = interleaved(samples, ours, floor, after=frappe.db.rollback)
	return compare("consent action (opt out, Python API) vs bare doc.save() with one row appended", 1.3, a, b)


CONTACT_PREFIX = f"{PREFIX}C"
CONTACT_BATCH = 250


def contact_doc(i: int) -> dict:
	"""Contact ``i`` as a Data Import row makes it: a primary mobile, a primary landline, an email."""
	return {
		"doctype": "Contact",
		"first_name": f"{CONTACT_PREFIX}{i:07d}",
		"phone_nos": [
			{"phone": f"+447800{i:06d}", "is_primary_mobile_no": 1},
			{"phone": f"+442030{i:06d}", "is_primary_phone": 1},
		],
		"email_ids": [{"email_id": f"bench-contact-{i}@example.com", "is_primary": 1}],
	}


@contextmanager
def contact_sync_disabled():
	"""The floor: the same Contact inserts with the app's Contact hook (``on_contact_update``) a no-op."""
	from opt_consent.contact import adapter as contact

	saved = contact.on_contact_update
	contact.on_contact_update = lambda doc, method=None: None
	try:
		yield
	finally:
		contact.on_contact_update = saved


def bench_contacts(count: int) -> list[dict]:
	"""Insert ``count`` Contacts in batches of ``CONTACT_BATCH``, alternating hook active / disabled.

	Each sample is the time per Contact of one batch. Two measures: as Data Import runs (its flag set, a
	commit after every Contact), and the inserts alone (one commit per batch), where the sync weighs most.
	The records the sync creates stay while the run goes on, so its lookups run against a growing table.
	"""
	import frappe

	pairs = max(1, count // (2 * CONTACT_BATCH))  # batches with the sync = batches without
	results = []
	start = 0
	measures = (("as Data Import: commit per Contact", True), ("inserts only: commit per batch", False))
	for label, commit_each in measures:
		ours, floor = [], []

		def run(first: int, commit_each=commit_each) -> float:
			began = time.perf_counter()
			for i in range(first, first + CONTACT_BATCH):
				frappe.get_doc(contact_doc(i)).insert()
				if commit_each:
					frappe.db.commit()
			frappe.db.commit()
			return (time.perf_counter() - began) / CONTACT_BATCH

		frappe.flags.in_import = True
		try:
			# warm up both paths (caches, the first series row) before measuring
			run(start)
			with contact_sync_disabled():
				run(start + CONTACT_BATCH)
			start += 2 * CONTACT_BATCH
			for k in range(2 * pairs):
				if (k % 2 == 0) == (k // 2 % 2 == 0):  # with, without, without, with, ... (ABBA)
					ours.append(run(start))
				else:
					with contact_sync_disabled():
						floor.append(run(start))
				start += CONTACT_BATCH
		finally:
			frappe.flags.in_import = False
		made = frappe.db.count(
			"Phone", {"link_doctype": "Contact", "link_name": ["like", f"{CONTACT_PREFIX}%"]}
		)
		result = compare(
			f"Contact insert ({label}; mobile, landline, email) with the consent sync vs without",
			1.5,
			ours,
			floor,
			note=f"{len(ours) * CONTACT_BATCH} Contacts with the sync, {len(floor) * CONTACT_BATCH} without; "
			f"per-Contact time of batches of {CONTACT_BATCH}; {made} Phone records created by the sync so far",
		)
		results.append(result)
		print_result(result)
	return results


def remove_contacts() -> None:
	"""The benchmark's Contacts, their table rows and the records the sync made for them."""
	import frappe

	like = f"{CONTACT_PREFIX}%"
	for doctype in ("Phone", "Email"):
		table = frappe.qb.DocType(doctype)
		frappe.qb.from_(table).delete().where(table.link_doctype == "Contact").where(
			table.link_name.like(like)
		).run()
	for child in ("Contact Phone", "Contact Email"):
		table = frappe.qb.DocType(child)
		frappe.qb.from_(table).delete().where(table.parent.like(like)).run()
	contact = frappe.qb.DocType("Contact")
	frappe.qb.from_(contact).delete().where(contact.name.like(like)).run()
	frappe.db.commit()


IMPORT_EVENTS_PER_PHONE = 10


def import_number(i: int) -> str:
	"""The history import's phones: valid UK mobiles of their own range (+44 7700 ...)."""
	return f"+447700{i:06d}"


def import_events(events: int):
	"""``(i, r, channel, action, at, method)`` of the generated history: per phone, Call opt in / out in turn,
	the last two a Text opt in and a Text Reauth; the file lists them in time order (event r of every phone,
	then event r + 1), so that each record's events are spread over the whole file."""
	phones = max(1, events // IMPORT_EVENTS_PER_PHONE)
	base = dt.datetime.now().replace(microsecond=0) - dt.timedelta(days=900)
	for r in range(IMPORT_EVENTS_PER_PHONE):
		for i in range(phones):
			at = base + dt.timedelta(days=r * 60, minutes=i % 1440)
			if r == IMPORT_EVENTS_PER_PHONE - 2:
				channel, action = "Text", "Opt In"
			elif r == IMPORT_EVENTS_PER_PHONE - 1:
				channel, action = "Text", "Text Reauth"
			else:
				channel, action = "Call", "Opt In" if r % 2 == 0 else "Opt Out"
			yield i, r, channel, action, at, "Verbal" if channel == "Call" else "Written"


def write_import_csv(events: int, path: Path) -> int:
	import csv

	count = 0
	with open(path, "w", newline="", encoding="utf-8") as out:
		writer = csv.writer(out)
		writer.writerow(["address", "channel", "action", "date", "time", "method", "operator", "phone_type"])
		for i, _r, channel, action, at, method in import_events(events):
			writer.writerow(
				[import_number(i), channel, action, at.date().isoformat(), at.strftime("%H:%M:%S"), method,
				 f"agent{i % 50}", "Cell"]
			)  # fmt: skip
			count += 1
	return count


def import_floor(events: int) -> float:
	"""The floor: the same phones and log rows (every column the import writes, hashes stood in) inserted
	with the same multi-row INSERTs the import uses (``ledger.log.insert_rows``, 2,000 rows a statement),
	committed; then removed."""
	import frappe
	from frappe.utils import get_system_timezone, now_datetime

	from opt_consent.ledger.log import insert_rows

	now = now_datetime()
	zone = get_system_timezone()
	phones = max(1, events // IMPORT_EVENTS_PER_PHONE)
	started = time.perf_counter()
	insert_rows(
		"Phone",
		["name", "creation", "modified", "owner", "modified_by", "docstatus", "idx", "phone", "phone_e164",
		 "phone_type", "active", "do_not_call", "call_opt", "text_opt"],
		((f"{PREFIX}I{i:07d}", now, now, "Administrator", "Administrator", 0, 0, import_number(i),
		  import_number(i), "Cell", 1, 0, 0, 1) for i in range(phones)),
	)  # fmt: skip
	columns = [
		"name", "creation", "modified", "owner", "modified_by", "docstatus", "idx", "parent", "parenttype",
		"parentfield", "channel", "action", "event_date", "event_time", "method", "recorded_by", "recorded_at",
		"source", "note", "message_id", "entered_tz", "operator", "phone_type", "honour_by", "hash_scheme",
		"prev_hash", "row_hash",
	]  # fmt: skip
	insert_rows(
		"Opt Log",
		columns,
		((f"{PREFIX}I{i:07d}-{r:02d}", now, now, "Administrator", "Administrator", 0, r + 1,
		  f"{PREFIX}I{i:07d}", "Phone", "opt_logs", channel, action, at.date(), at.time(), method,
		  "Administrator", now, "Import", None, None, zone, f"agent{i % 50}", "Cell",
		  at.date() if action == "Opt Out" else None, 3, "0" * 64, "0" * 64)
		 for i, r, channel, action, at, method in import_events(events)),
	)  # fmt: skip
	frappe.db.commit()
	seconds = time.perf_counter() - started
	remove_imported()
	return seconds


def remove_imported() -> None:
	"""The history import's phones, their log rows and ledger rows, and the floor's."""
	import frappe

	like = "+447700%"
	frappe.db.sql(
		"""delete ledger from `tabConsent History Import Ledger` ledger
		join `tabOpt Log` log on log.name = ledger.log_row
		join `tabPhone` phone on phone.name = log.parent
		where log.parenttype = 'Phone' and phone.phone_e164 like %s""",
		(like,),
	)
	frappe.db.sql(
		"""delete log from `tabOpt Log` log join `tabPhone` phone on phone.name = log.parent
		where log.parenttype = 'Phone' and phone.phone_e164 like %s""",
		(like,),
	)
	frappe.db.sql("delete from `tabPhone` where phone_e164 like %s", (like,))
	frappe.db.commit()


def bench_history_import(events: int, report: dict, workers: str = "") -> list[dict]:
	"""Floor, import, floor: the import of N events against the median of the two floors; then, with
	``workers`` (e.g. "1,2"), the desk's run of the same file on that many workers against this one."""
	import tempfile

	import frappe

	from opt_consent.history import adapter as importer
	from opt_consent.history import rules as pure

	remove_imported()
	directory = Path(tempfile.mkdtemp(prefix="opt-bench-import-"))
	path = directory / "history.csv"
	written = write_import_csv(events, path)
	report["data_import"] = {"events": written, "phones": max(1, events // IMPORT_EVENTS_PER_PHONE),
							 "file_mb": round(path.stat().st_size / (1 << 20), 1)}  # fmt: skip
	print(f"generated {written} events, {path.stat().st_size >> 20} MB", flush=True)
	floors = [import_floor(events)]
	print(f"floor: {floors[-1]:.1f} s", flush=True)
	import resource

	rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
	started = time.perf_counter()
	result = importer.run(str(path), importer.Options(dry_run=False), None, frappe.db.commit)
	ours = time.perf_counter() - started
	rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
	print(f"import: {ours:.1f} s; {result.as_dict()}", flush=True)
	# the imported logs verify like any other: a sample of records
	from opt_consent.ledger.rules.chain import verify

	phone = frappe.qb.DocType("Phone")
	sample = (
		frappe.qb.from_(phone).select(phone.name, phone.phone_e164).where(phone.phone_e164.like("+447700%"))
		.limit(200)
	).run()  # fmt: skip
	broken = 0
	for name, subject in sample:
		rows = frappe.get_all(
			"Opt Log", filters={"parent": name, "parenttype": "Phone"}, fields=["*"], order_by="idx"
		)
		broken += verify(rows, "Phone", name, subject) is not None
	remove_imported()
	floors.append(import_floor(events))
	print(f"floor: {floors[-1]:.1f} s", flush=True)
	on_workers = []
	if workers:
		import bench_files  # scripts/, next to this file

		on_workers = bench_files.bench_import_workers(
			sys.modules[__name__], path, ours, result.recorded, workers, report
		)
	path.unlink()
	directory.rmdir()
	floor = statistics.median(floors)
	result_line = {
		"name": f"history import of {written:,} events over {report['data_import']['phones']:,} phones "
		"vs raw bulk INSERT of the same phones and log rows",
		"goal": 3.0,
		"ours": summary([ours]),
		"floor": summary(floors),
		"ratio": ours / floor,
		"met": ours / floor <= 3.0,
		"note": f"recorded {result.recorded:,}, refused {result.refused:,}, {result.chunks} chunks of "
		f"<= {pure.CHUNK_EVENTS:,} events, one commit each; peak RSS grew {(rss_after - rss_before) / 1024:.0f} MB "
		f"during the import (ru_maxrss; the file is {report['data_import']['file_mb']} MB); "
		f"{len(sample) - broken} of {len(sample)} sampled records verify",
	}
	print_result(result_line)
	for line in on_workers:
		print_result(line)
	return [result_line, *on_workers]


def bench_rules(period_days: int = 30) -> "reauth.Rules":
	"""The benchmark's reauthorisation rules: texting consent lasts 30 days, due 5 days before."""
	return reauth.Rules.make(period_days, 5, [])


def bench_can_contact(samples: int, count: int) -> dict:
	import frappe

	from opt_consent.gate.adapter import can_contact

	rng = random.Random(11)
	numbers = [number(rng.randrange(count)) for _ in range(samples)]

	def ours(i):
		can_contact("Call", numbers[i])

	def floor(i):
		frappe.db.get_value("Phone", {"phone_e164": numbers[i]}, "name")

	a, b = interleaved(samples, ours, floor)
	return compare("can_contact (Python API) vs one indexed frappe.db.get_value on phone_e164", 1.5, a, b)


def raw_lapse(on: dt.date, idx: int, scheme: int) -> None:
	"""The raw SQL floor of a lapse sweep: the names of the phones lapsing on ``on`` (30-day period), one
	UPDATE, and the same rows the job writes (same columns) bulk-inserted at ``idx``, with a fixed stand-in for
	the hashes. No rules, no locks, no sealing."""
	import frappe
	from frappe.utils import now_datetime

	from opt_consent.reauth import lapse

	where = "text_opt = 1 and text_opt_in_date <= %(cutoff)s"
	values = {"cutoff": on - dt.timedelta(days=30)}
	names = frappe.db.sql(f"select name from `tabPhone` where {where}", values, pluck=True)
	frappe.db.sql(f"update `tabPhone` set text_opt = 0 where {where}", values)
	now = now_datetime()
	fields = lapse.lapsed_log(on, now, "Cell")
	meta = {"creation": now, "modified": now, "modified_by": "Administrator", "owner": "Administrator",
		"docstatus": 0, "idx": idx, "parenttype": "Phone", "parentfield": "opt_logs", "hash_scheme": scheme,
		"prev_hash": "0" * 64, "row_hash": "0" * 64}  # fmt: skip
	frappe.db.bulk_insert(
		"Opt Log",
		[*fields, *meta, "name", "parent"],
		([*fields.values(), *meta.values(), frappe.generate_hash(length=10), name] for name in names),
		chunk_size=10_000,
	)


def bench_sweep(samples: int, count: int) -> dict:
	"""The daily lapse job over every phone vs a raw set-based UPDATE plus bulk insert of the same rows."""
	import frappe

	from opt_consent.reauth import lapse

	on = lapse.today()
	rules = bench_rules()
	lapsed_counts = []
	original_rules = lapse.get_rules
	lapse.get_rules = lambda: rules

	def ours(i):
		lapsed_counts.append(lapse.run(on))

	def floor(i):
		raw_lapse(on, idx=ROWS_PER_PHONE + 1, scheme=2)

	try:
		a, b = interleaved(samples, ours, floor, after=frappe.db.rollback)
	finally:
		lapse.get_rules = original_rules
	return compare(
		f"lapse sweep over {count} phones vs raw UPDATE + bulk insert of the same rows",
		3.0,
		a,
		b,
		note=f"phones lapsed per run: {lapsed_counts[0]}; sweep median {statistics.median(a):.1f} s",
	)


def bench_form_payload(samples: int) -> dict:
	"""The desk opening a record: ``frappe.desk.form.load.getdoc`` and the response body the web server sends
	(``frappe.utils.response.as_json``: compact JSON), for the phone with the long history and one with 10 rows."""
	import frappe
	from frappe.desk.form.load import getdoc
	from frappe.utils.response import as_json

	small = f"{PREFIX}0000000"
	big = f"{PREFIX}BIG"
	sizes = {}

	def load(name):
		frappe.local.response = frappe._dict({"docs": []})
		getdoc("Phone", name)
		sizes[name] = len(as_json().get_data())

	a, b = interleaved(samples, lambda i: load(big), lambda i: load(small), after=frappe.db.rollback)
	return compare(
		f"form payload, phone with {BIG_ROWS} log rows vs {ROWS_PER_PHONE}",
		2.0,
		a,
		b,
		note=f"bytes: {sizes[big]} vs {sizes[small]}",
	)


def explain(count: int) -> list[dict]:
	"""EXPLAIN of the app's hot queries, built as the app builds them."""
	import frappe
	from frappe.query_builder.functions import Count

	from opt_consent.reauth import lapse

	phone = frappe.qb.DocType("Phone")
	log = frappe.qb.DocType("Opt Log")
	email = frappe.qb.DocType("Email")
	queries = {
		"can_contact: Phone by normalised number": frappe.qb.from_(phone)
		.select(phone.name, phone.call_opt, phone.do_not_call, phone.active)
		.where(phone.phone_e164 == number(count // 2)),
		"can_contact: Email by normalised address": frappe.qb.from_(email)
		.select(email.name, email.email_opt)
		.where(email.email_normalized == "someone@example.com"),
		"lapse job: candidates (lapse date come, Text Opt on), a later batch": frappe.qb.from_(phone)
		.select(phone.text_consent_lapses_on, phone.name)
		.where(phone.text_opt == 1)
		.where(phone.text_consent_lapses_on <= lapse.today())
		.where(
			(phone.text_consent_lapses_on > lapse.today() - dt.timedelta(days=2))
			| ((phone.text_consent_lapses_on == lapse.today() - dt.timedelta(days=2)) & (phone.name > PREFIX))
		)
		.orderby(phone.text_consent_lapses_on)
		.orderby(phone.name)
		.limit(500),
		"lapse job: newly due phones": frappe.qb.from_(phone)
		.select(phone.name)
		.where(phone.text_reauth_due_on <= lapse.today())
		.where(phone.text_reauth_status == "OK")
		.where(phone.text_opt == 1),
		"consent action: latest event of a channel": frappe.qb.from_(log)
		.select(log.event_date, log.event_time, log.action)
		.where(log.parent == f"{PREFIX}0000001")
		.where(log.parenttype == "Phone")
		.where(log.channel == "Call")
		.orderby(log.event_date, order=frappe.qb.desc)
		.limit(1),
		"form: newest log rows of a record": frappe.qb.from_(log)
		.select("*")
		.where(log.parent == f"{PREFIX}BIG")
		.where(log.parenttype == "Phone")
		.where(log.parentfield == "opt_logs")
		.orderby(log.idx, order=frappe.qb.desc)
		.limit(50),
		"form: count of a record's log rows": frappe.qb.from_(log)
		.select(Count("*"))
		.where(log.parent == f"{PREFIX}BIG")
		.where(log.parenttype == "Phone")
		.where(log.parentfield == "opt_logs"),
	}
	plans = []
	for label, query in queries.items():
		rows = frappe.db.sql(f"EXPLAIN {query.get_sql()}", as_dict=True)  # a benchmark script, not app code
		plans.append(
			{
				"query": label,
				"plan": [
					{k: row.get(k) for k in ("table", "type", "possible_keys", "key", "rows", "Extra")}
					for row in rows
				],
			}
		)
	return plans


def main() -> None:
	args = parse_args()
	if args.log_rows:
		import bench_scale  # scripts/bench_scale.py, next to this file

		return bench_scale.main(args, sys.modules[__name__])
	if args.purposes:
		import bench_purposes  # scripts/bench_purposes.py, next to this file

		return bench_purposes.main(args, sys.modules[__name__])
	if args.render:
		report = json.loads(Path(args.render).read_text())
		Path(args.doc).write_text(markdown(report, report.get("arguments", "")))
		print(f"written {args.doc} from {args.render}")
		return
	count = 1_000_000 if args.million else args.phones
	global ROWS_PER_PHONE
	if args.rows < 2 or args.rows % 2:
		raise SystemExit("--rows must be an even number, at least 2")
	ROWS_PER_PHONE = args.rows
	site = connect(args.site)
	import frappe

	remove()  # leftovers of an interrupted run
	results = []
	report = {
		"site": site,
		"machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
		"frappe": frappe.__version__,
		"mariadb": frappe.db.sql("select version()")[0][0],
		"when": time.strftime("%Y-%m-%d %H:%M:%S"),
		"arguments": " ".join(sys.argv[1:]),
	}
	if args.scrub:
		import benchmark_scrub

		more = None
		if args.file_workers:
			import bench_files

			def more(numbers):
				return bench_files.bench_scrub_workers(
					sys.modules[__name__], numbers, args.file_workers, report
				)

		results += benchmark_scrub.bench_scrub(
			args.scrub, args.scrub_samples, report, compare, interleaved, more
		)
		for result in results:
			print_result(result)
		finish(report, results, args)
		return
	if args.inbound:
		import bench_inbound

		reading = bench_inbound.bench_classify(max(args.inbound // 50, 3))
		report["classify"] = reading
		print(
			"classify one reply: median {:.4f} ms, p99 {:.4f} ms over {} ({})".format(
				reading["median_ms"], reading["p99_ms"], reading["n"], "met" if reading["met"] else "MISSED"
			)
		)
		try:
			results += bench_inbound.bench_door(args.inbound, compare, interleaved)
		finally:
			frappe.db.rollback()
		for result in results:
			print_result(result)
		finish(report, results, args)
		return
	if args.import_events:
		try:
			results += bench_history_import(args.import_events, report, args.file_workers)
		finally:
			frappe.db.rollback()
			remove_imported()
		finish(report, results, args)
		return
	if args.contacts:
		remove_contacts()
		try:
			results += bench_contacts(args.contacts)
		finally:
			frappe.db.rollback()
			if not args.keep:
				remove_contacts()
		finish(report, results, args)
		return
	try:
		report["data"] = generate(count, spread_days=args.spread_days)
		print(f"generated {report['data']['phones']} phones, {report['data']['rows']} log rows "
			  f"in {report['data']['seconds']:.1f} s", flush=True)  # fmt: skip
		for bench in (
			lambda: bench_action(args.samples, count),
			lambda: bench_can_contact(args.samples * 5, count),
			lambda: bench_form_payload(args.samples),
			lambda: bench_sweep(args.sweeps, count),
		):
			result = bench()
			results.append(result)
			print_result(result)
		report["explain"] = explain(count)
		for plan in report["explain"]:
			steps = "; ".join(
				f"{p['table']}: key {p['key']} ({p['type']}, ~{p['rows']} rows)" for p in plan["plan"]
			)
			print(f"EXPLAIN {plan['query']}: {steps}")
	finally:
		frappe.db.rollback()
		if not args.keep:
			remove()
	finish(report, results, args)


def finish(report: dict, results: list, args) -> None:
	import frappe

	report["results"] = results
	Path(args.json).parent.mkdir(parents=True, exist_ok=True)
	Path(args.json).write_text(json.dumps(report, indent=1, default=str))
	print(f"\nwritten {args.json}")
	if args.doc:
		Path(args.doc).write_text(markdown(report, report["arguments"]))
		print(f"written {args.doc}")
	frappe.destroy()


CHANGES = [
	"## What was changed to get there",
	"",
	"- A Phone or Email loads only its newest 50 log rows (`ledger.log.LOG_WINDOW`) instead of the whole child",
	"  table, and a save never rewrites the rows it did not load (form payload: from 11x to under 2x at 1,000 rows).",
	"- A consent action reads the previous row's hash and the channel's latest event from the rows it loaded",
	"  (the table is asked only when the loaded rows hold none of the channel).",
	"- `can_contact` looks an address already in stored form (E.164, lower-case email) up before parsing it,",
	"  reads it with one plain indexed query when the user has no row restrictions (`frappe.get_list` otherwise),",
	"  selects only the channel's fields and reads the log only for a channel that is off (from 4x to under 1.5x).",
	"- The lapse job writes one UPDATE per consent period (not per lapse date) per batch, reads each record's",
	"  last row with two indexed reads instead of all its rows (from 6x to under 3x at 100k), and pages its",
	"  candidates by keyset, so a later batch never walks again over what earlier batches lapsed: along the",
	"  lapse-date index on a daily run (at 1M phones: from 91 s to the figure in docs/benchmarks/2026-11-26-lapse-1m-phones.md), in",
	"  primary-key order on a backlog (over a fifth of the texting phones lapsing: contiguous batches).",
	"- Composite indexes: `(text_opt, text_consent_lapses_on)` and `(text_reauth_status, text_reauth_due_on)` on",
	"  Phone for the lapse job, `(parent, parenttype, parentfield, idx)` and `(parent, channel, event_date,",
	"  event_time)` on Opt Log for the form's newest rows, their count and a record's last row (from the index",
	"  alone), and for a channel's latest event.",
]


CONTACT_CHANGES = [
	"## How the Contact sync stays set-based",
	"",
	"- One indexed query (`party_index` on `(link_doctype, link_name)`) reads a Contact's existing Phone and",
	"  Email records; each address is normalised once.",
	"- The missing records' names are reserved from Frappe's own series counter in two statements and the",
	"  records are written with one INSERT per doctype, with the defaults `frappe.new_doc` would set.",
	"- *As Data Import* commits after every Contact, as Frappe's Data Import does; *inserts only* commits per",
	"  batch. Both interleave batches of 250 Contacts with the sync active and disabled.",
]


IMPORT_NOTES = [
	"## How the import stays set-based",
	"",
	"- Pass one streams the file and spills each valid event to one of several temporary files by a hash of",
	"  its address; pass two reads one spill file at a time (memory bounded by a spill file, whatever the file",
	"  size), groups by record and orders each record's events by time.",
	"- Per chunk of whole records: one ledger read, one locking read of the existing records, one read of each",
	"  channel's latest event, the engine's replay in Python, one INSERT of new records, one UPDATE of existing",
	"  ones, one sealed INSERT of log rows (`ledger.log.insert_log_rows`), one INSERT of ledger rows, a commit.",
	"- The floor is a raw multi-row INSERT of the same phones and log rows (stand-in hashes, no ledger), committed,",
	"  measured before and after the import in the same run; its median is the divisor.",
]


def data_line(report: dict) -> str:
	if "data_scrub" in report:
		import benchmark_scrub

		return benchmark_scrub.data_line(report)
	if "classify" in report:
		import bench_inbound

		return bench_inbound.data_line(report)
	if "data_import" in report:
		d = report["data_import"]
		return (
			f"- data: a generated CSV of {d['events']:,} events over {d['phones']:,} phones ({d['file_mb']} MB), "
			"listed in time order (each record's events spread over the file); removed afterwards"
		)
	if "data" not in report:  # a --contacts run: Frappe's own Contact inserts, with and without the sync
		return "- data: the Contacts each measure inserts (a mobile, a landline, an email each), removed afterwards"
	data = report["data"]
	return (
		f"- data: {data['phones']:,} phones, {data['rows']:,} log rows, texting consent given over the last "
		f"{data.get('text_consent_spread_days', 60)} days with a 30-day period (generated set-based in "
		f"{data['seconds']:.0f} s, removed afterwards)"
	)


def markdown(report: dict, arguments: str) -> str:
	"""The figures of one run as docs/PERFORMANCE.md (the prose around them is in the template below)."""
	lines = [
		"# Performance"
		if "data" in report
		else "# Performance: Contact Control scrub"
		if "data_scrub" in report
		else "# Performance: consent history import"
		if "data_import" in report
		else "# Performance: the inbound door"
		if "classify" in report
		else "# Performance: Contact import",
		"",
		"Generated by `scripts/benchmark.py` (do not edit by hand: run it again). Each figure is a median of",
		"samples taken interleaved with its floor in the same run, on the same data; p10 / p90 give the spread.",
		"",
		f"- run: `{arguments or '(defaults)'}`, {report['when']}",
		f"- machine: {report['machine']}; MariaDB {report['mariadb']}; Frappe {report['frappe']}",
		data_line(report),
		"",
		"| measure | ours: median (p10 – p90) | floor: median (p10 – p90) | ratio | goal |",
		"| --- | --- | --- | --- | --- |",
	]
	for r in report["results"]:
		o, f = r["ours"], r["floor"]
		lines.append(
			f"| {r['name']} | {o['median_ms']:.2f} ms ({o['p10_ms']:.2f} – {o['p90_ms']:.2f}) | "
			f"{f['median_ms']:.2f} ms ({f['p10_ms']:.2f} – {f['p90_ms']:.2f}) | **{r['ratio']:.2f}x** | "
			f"<= {r['goal']}x {'met' if r['met'] else '**missed**'} |"
		)
	notes = [f"- {r['name']}: {r['note']}" for r in report["results"] if r["note"]]
	if notes:
		lines += ["", *notes]
	missed = [r for r in report["results"] if not r["met"]]
	lines += ["", "## Goals missed", ""]
	lines += [
		f"- {r['name']}: {r['ratio']:.2f}x against <= {r['goal']}x, missed by {(r['ratio'] / r['goal'] - 1) * 100:.0f}%."
		for r in missed
	] or ["- None of the ratios in this run."]
	sweep = next((r for r in report["results"] if r["name"].startswith("lapse sweep")), None)
	if sweep:
		phones = report["data"]["phones"]
		seconds = sweep["ours"]["median_ms"] / 1000
		if phones >= 1_000_000:
			verdict = "met" if seconds < 60 else "**missed**"
			lines.append(f"- 1,000,000 phones in under 60 s: {seconds:.1f} s in this run ({verdict}).")
		else:
			lines.append(
				f"- 1,000,000 phones in under 60 s: not measured in this run ({phones:,} phones, {seconds:.1f} s, "
				f"half of them lapsing). Scaled linearly that is about {seconds * 1_000_000 / phones:.0f} s; "
				f"the floor alone scales to about {sweep['floor']['median_ms'] / 1000 * 1_000_000 / phones:.0f} s. "
				"Run with `--million` to measure it; docs/benchmarks/2026-11-26-lapse-1m-phones.md is such a run (a daily run's share)."
			)
	if "import_workers" in report or "scrub_workers" in report:
		import bench_files  # scripts/, next to this file

		lines += ["", *bench_files.section(report)]
	if "data_scrub" in report:
		import benchmark_scrub

		return "\n".join([*lines, "", *benchmark_scrub.section(report)]) + "\n"
	if "classify" in report:
		import bench_inbound

		return "\n".join([*lines, "", *bench_inbound.section(report)]) + "\n"
	lines += [
		"",
		*(CHANGES if "data" in report else IMPORT_NOTES if "data_import" in report else CONTACT_CHANGES),
	]
	if not report.get("explain"):
		return "\n".join(lines) + "\n"
	lines += ["", "## Query plans (EXPLAIN, on the generated data)", ""]
	for plan in report.get("explain", []):
		steps = "; ".join(
			f"`{p['table']}` key `{p['key']}` ({p['type']}, ~{p['rows']} rows{', ' + p['Extra'] if p['Extra'] else ''})"
			for p in plan["plan"]
		)
		lines.append(f"- {plan['query']}: {steps}")
	return "\n".join(lines) + "\n"


def print_result(result: dict) -> None:
	ours, floor = result["ours"], result["floor"]
	print(
		f"\n{result['name']}\n"
		f"  ours   median {ours['median_ms']:.3f} ms (p10 {ours['p10_ms']:.3f}, p90 {ours['p90_ms']:.3f}, n={ours['n']})\n"
		f"  floor  median {floor['median_ms']:.3f} ms (p10 {floor['p10_ms']:.3f}, p90 {floor['p90_ms']:.3f})\n"
		f"  ratio  {result['ratio']:.2f}x  (goal <= {result['goal']}x: {'met' if result['met'] else 'MISSED'})"
		+ (f"\n  {result['note']}" if result["note"] else ""),
		flush=True,
	)


if __name__ == "__main__":
	main()
