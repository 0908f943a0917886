"""The benchmark at scale (``benchmark.py --log-rows 10000000``): 1,000,000 phones with 10 sealed log rows each.

Generation is set-based and fast: per phone the ten rows differ only in their record, its number, the day
texting consent was given and the previous row's hash, so each distinct row is serialised once by
:func:`opt_consent.ledger.rules.chain.serialise` (with stand-ins for the record, the subject and the previous hash)
and each row's hash is SHA-256 over that template with the real values spliced in. Every template is
checked against :func:`opt_consent.ledger.rules.chain.row_hash` before use, the sample records are verified by
:func:`opt_consent.ledger.rules.chain.verify` after loading, and the integrity measure verifies every row. Two
worker processes write tab-separated files of 50,000 phones each while the main process loads them with
``LOAD DATA LOCAL INFILE`` (in primary-key order, so every index of the table is appended to), one commit a
file. ``--keep`` keeps the set; ``--reuse`` measures a kept set again without generating it.

Texting consent is given on day ``i % 31`` before the set's day (its *anchor*: the day it was generated),
so 1/31 of the phones lapse on a daily run; a backlog is the run 15 days later (half of them lapsing).
Every measure is relative to the anchor, so a kept set measures alike on a later day.

Measures, each against its floor in the same run: the consent action, ``can_contact``, the form with 1,000
rows against one with 10, the daily lapse sweep, the backlog sweep, and the integrity verification of every
record (peak RSS of the process reported), then the query plans.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import multiprocessing
import os
import resource
import statistics
import tempfile
import time
from pathlib import Path

ROWS = 10  # log rows per phone: Call opt in / out in turn (9), then a Text opt in
SPREAD = 31  # texting consent given on one of the 31 days up to the anchor: 1/31 lapse on a daily run
BACKLOG_DAYS = 15  # the backlog run: 15 days after the anchor, 16 of the 31 days lapsed
PHONES_PER_FILE = 50_000
PERIOD, LEAD = 30, 5  # the benchmark's reauthorisation rules (benchmark.bench_rules)
TOKENS = (b"@@PARENT@@", b"@@SUBJECT@@", b"@@PREV@@")  # stand-ins no value contains
PHONE_COLUMNS = [
	"name", "creation", "modified", "owner", "modified_by", "docstatus", "idx", "phone", "phone_e164",
	"phone_type", "active", "do_not_call", "call_opt", "call_opt_in_date", "call_opt_in_method",
	"call_opt_out_date", "call_opt_out_method", "text_opt", "text_opt_in_date", "text_opt_in_method",
	"text_reauth_status", "text_reauth_due_on", "text_consent_lapses_on",
]  # fmt: skip
LOG_COLUMNS = [
	"name", "creation", "modified", "owner", "modified_by", "docstatus", "idx", "parent", "parenttype",
	"parentfield", "channel", "action", "event_date", "event_time", "entered_tz", "method", "recorded_by",
	"recorded_at", "source", "phone_type", "hash_scheme", "prev_hash", "row_hash",
]  # fmt: skip
SCHEME = 3


# ---------------------------------------------------------------- the rows


def evidence(r: int, base: dt.datetime, text_day: dt.date, now: dt.datetime, zone: str) -> dict:
	"""Row ``r`` (1..ROWS) of a phone: its evidence as stored."""
	if r < ROWS:
		channel, action = "Call", "Opt In" if r % 2 else "Opt Out"
		day, method = (base + dt.timedelta(days=r - 1)).date(), "Verbal"
	else:
		channel, action, day, method = "Text", "Opt In", text_day, "Written"
	return {
		"channel": channel,
		"action": action,
		"event_date": day,
		"event_time": dt.timedelta(hours=9),
		"entered_tz": zone,
		"method": method,
		"recorded_by": "Administrator",
		"recorded_at": now,
		"source": "API",
		"phone_type": "Cell",
	}


def template(row: dict) -> tuple[bytes, bytes, bytes, bytes]:
	"""The scheme's canonical bytes of ``row`` cut around the record, the subject and the previous hash."""
	from opt_consent.ledger.rules import chain

	whole = chain.serialise(
		SCHEME,
		chain.SCHEME_3_FIELDS,
		row,
		"Phone",
		TOKENS[0].decode(),
		TOKENS[2].decode(),
		TOKENS[1].decode(),
	)
	a, rest = whole.split(TOKENS[0])
	b, rest = rest.split(TOKENS[1])
	c, d = rest.split(TOKENS[2])
	return a, b, c, d


def tsv(value) -> str:
	if value is None:
		return "\\N"
	if isinstance(value, dt.timedelta):
		seconds = int(value.total_seconds())
		return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"
	return str(value)


class Plan:
	"""Everything a worker needs to write any phone's rows: per row and text day, the template and the
	fixed part of the line. Pure data, so it crosses to the worker processes."""

	def __init__(self, anchor: dt.date, now: dt.datetime, zone: str, policy):
		from opt_consent.ledger.rules import chain, engine
		from opt_consent.reauth import rules as reauth

		self.anchor = anchor
		base = now - dt.timedelta(days=400)
		rules = reauth.Rules.make(PERIOD, LEAD, [])
		yesterday = anchor - dt.timedelta(days=1)
		self.rows: list[list[tuple]] = []  # [offset][r - 1] = (template, the line's fixed middle)
		self.phones: list[str] = []  # [offset] = the phone line's fixed tail
		stamp = tsv(now)
		for offset in range(SPREAD):
			text_day = anchor - dt.timedelta(days=offset)
			rows = [evidence(r, base, text_day, now, zone) for r in range(1, ROWS + 1)]
			variants = []
			for r, row in enumerate(rows, 1):
				parts = template(row)
				# the template must give what the chain gives, whatever the values spliced in
				for parent, subject, prev in (("BENCH-0000000", "+447400000000", ""), ("P", "S", "f" * 64)):
					spliced = hashlib.sha256(
						parts[0]
						+ parent.encode()
						+ parts[1]
						+ subject.encode()
						+ parts[2]
						+ prev.encode()
						+ parts[3]
					).hexdigest()
					assert spliced == chain.row_hash(row, "Phone", parent, prev, SCHEME, subject), "template"
				middle = "\t".join(
					tsv(row[c]) if c in row else {"parenttype": "Phone", "parentfield": "opt_logs"}[c]
					for c in LOG_COLUMNS[8:20]
				)
				variants.append((parts, f"\t{r}\t", f"\t{middle}\t{SCHEME}\t"))
			self.rows.append(variants)
			# the record as the consent actions leave it: its fields are what replaying its log gives
			state = engine.replay("Phone", rows, policy)
			assessed = reauth.assess(rules, 1, text_day, "Written", yesterday)
			self.phones.append(
				"\t".join(
					tsv(v)
					for v in (
						"Cell",
						1,
						0,
						state["call_opt"],
						state["call_opt_in_date"],
						state["call_opt_in_method"],
						state["call_opt_out_date"],
						state["call_opt_out_method"],
						state["text_opt"],
						state["text_opt_in_date"],
						state["text_opt_in_method"],
						assessed.status,
						assessed.due_from,
						assessed.lapses_on,
					)
				)
			)
		self.head = f"\t{stamp}\t{stamp}\tAdministrator\tAdministrator\t0"


def number(i: int) -> str:
	return f"+447400{i:06d}" if i < 1_000_000 else f"+447500{i - 1_000_000:06d}"


def write_files(job: tuple) -> tuple[str, str, int]:
	"""A worker: the phone and log files of phones ``first`` .. ``last - 1``."""
	plan, first, last, directory, prefix = job
	sha = hashlib.sha256
	phones_path = os.path.join(directory, f"phones-{first:08d}.tsv")
	log_path = os.path.join(directory, f"log-{first:08d}.tsv")
	head = plan.head
	with open(phones_path, "w") as phones, open(log_path, "w") as log:
		plines, llines = [], []
		for i in range(first, last):
			offset = i % SPREAD
			parent = f"{prefix}{i:07d}"
			subject = number(i)
			pb, sb = parent.encode(), subject.encode()
			plines.append(f"{parent}{head}\t0\t{subject}\t{subject}\t{plan.phones[offset]}\n")
			prev = ""
			for r, (parts, idx, middle) in enumerate(plan.rows[offset], 1):
				current = sha(parts[0] + pb + parts[1] + sb + parts[2] + prev.encode() + parts[3]).hexdigest()
				llines.append(f"{parent}-{r:02d}{head}{idx}{parent}{middle}{prev}\t{current}\n")
				prev = current
		phones.write("".join(plines))
		log.write("".join(llines))
	return phones_path, log_path, (last - first) * ROWS


# ---------------------------------------------------------------- generating, reusing, removing


def loader():
	"""A connection of its own that may send local files (``LOAD DATA LOCAL``), keys checked at the end."""
	import frappe
	import pymysql

	# the site's own connection settings, for pymysql whichever driver the site uses
	settings = {k: v for k, v in frappe.db.get_connection_settings().items() if k != "conv"}
	settings["local_infile"] = True
	conn = pymysql.connect(**settings)
	with conn.cursor() as cursor:
		cursor.execute("set session unique_checks = 0")
		cursor.execute("set session foreign_key_checks = 0")
	return conn


def load(conn, path: str, table: str, columns: list[str]) -> None:
	with conn.cursor() as cursor:
		cursor.execute(
			f"load data local infile %s into table `{table}` character set utf8mb4 fields terminated by '\\t' "
			f"escaped by '\\\\' lines terminated by '\\n' ({', '.join(f'`{c}`' for c in columns)})",
			(path,),
		)
	conn.commit()
	os.unlink(path)


def generate(bm, count: int) -> dict:
	"""``count`` phones with ``ROWS`` sealed rows each, and the big phone; committed. Returns the data line."""
	import frappe
	from frappe.utils import get_system_timezone, now_datetime

	from opt_consent.ledger.settings import get_policy
	from opt_consent.reauth import lapse

	started = time.perf_counter()
	now = now_datetime().replace(microsecond=0)
	plan = Plan(lapse.today(), now, get_system_timezone(), get_policy())
	directory = tempfile.mkdtemp(prefix="opt-bench-scale-")
	jobs = [
		(plan, first, min(first + PHONES_PER_FILE, count), directory, bm.PREFIX)
		for first in range(0, count, PHONES_PER_FILE)
	]
	conn = loader()
	written = 0
	try:
		with multiprocessing.get_context("fork").Pool(2) as pool:
			for phones_path, log_path, rows in pool.imap(write_files, jobs):
				load(conn, phones_path, "tabPhone", PHONE_COLUMNS)
				load(conn, log_path, "tabOpt Log", LOG_COLUMNS)
				written += rows
				print(f"  {written:,} log rows loaded, {time.perf_counter() - started:.0f} s", flush=True)
	finally:
		conn.close()
		for leftover in Path(directory).glob("*.tsv"):
			leftover.unlink()
		os.rmdir(directory)
	generate_big(bm, now)
	frappe.db.commit()
	check_sample(bm, count)
	data = {
		"phones": count,
		"rows": written + bm.BIG_ROWS,
		"text_consent_spread_days": SPREAD,
		"seconds": time.perf_counter() - started,
		"anchor": str(plan.anchor),
		"load": loadavg(),
	}
	Path(frappe.get_site_path("private", MARKER)).write_text(json.dumps(data))
	return data


# The kept set's generation (time, load), in the site's private folder, for the report of a later --reuse.
MARKER = "bench_scale_set.json"


def generate_big(bm, now: dt.datetime) -> None:
	"""One phone with ``BIG_ROWS`` sealed rows (Call opt in / out in turn), for the form payload."""
	from frappe.utils import get_system_timezone

	from opt_consent.ledger.log import insert_rows
	from opt_consent.ledger.rules import chain, engine
	from opt_consent.ledger.settings import get_policy

	big, subject = f"{bm.PREFIX}BIG", "+447399000001"
	base = now - dt.timedelta(days=400)
	zone = get_system_timezone()
	rows = []
	for r in range(1, bm.BIG_ROWS + 1):
		at = base + dt.timedelta(hours=r)
		rows.append(
			{
				"name": f"{big}-{r:04d}", "creation": now, "modified": now, "owner": "Administrator",
				"modified_by": "Administrator", "docstatus": 0, "idx": r, "parent": big, "parenttype": "Phone",
				"parentfield": "opt_logs", "channel": "Call", "action": "Opt In" if r % 2 else "Opt Out",
				"event_date": at.date(), "event_time": dt.timedelta(seconds=at.hour * 3600), "entered_tz": zone,
				"method": "Verbal", "recorded_by": "Administrator", "recorded_at": now, "source": "API",
				"phone_type": "Cell",
			}
		)  # fmt: skip
	chain.seal(rows, "Phone", big, "", SCHEME, subject)
	state = engine.replay("Phone", rows, get_policy())
	phone = dict(zip(PHONE_COLUMNS, [big, now, now, "Administrator", "Administrator", 0, 0, subject, subject,
		"Cell", 1, 0, *(None,) * 11], strict=True))  # fmt: skip
	phone.update({k: state[k] for k in state if k in phone and k not in ("active", "do_not_call")})
	insert_rows("Phone", PHONE_COLUMNS, [[phone[c] for c in PHONE_COLUMNS]])
	columns = list(rows[0])
	insert_rows("Opt Log", columns, ([row[c] for c in columns] for row in rows))


def check_sample(bm, count: int) -> None:
	"""The first, a middle and the last phone (and the big one) verify as the app verifies them."""
	from opt_consent.ledger.integrity import verify_record

	for name in {f"{bm.PREFIX}{i:07d}" for i in (0, 1, count // 2, count - 1)} | {f"{bm.PREFIX}BIG"}:
		verdict = verify_record("Phone", name)
		assert verdict["ok"] and verdict["rows"] in (ROWS, bm.BIG_ROWS), verdict


def present(bm, count: int) -> dict | None:
	"""The data line of a kept set of ``count`` phones, or None when there is none (or another size)."""
	import frappe

	first = frappe.db.get_value("Phone", f"{bm.PREFIX}0000000", "text_opt_in_date")
	if not first or frappe.db.count("Phone", {"name": ["like", f"{bm.PREFIX}%"]}) != count + 1:
		return None
	if not frappe.db.exists("Opt Log", f"{bm.PREFIX}{count - 1:07d}-{ROWS:02d}"):
		return None
	marker = Path(frappe.get_site_path("private", MARKER))
	made = json.loads(marker.read_text()) if marker.exists() else {}
	return {
		"phones": count,
		"rows": count * ROWS + bm.BIG_ROWS,
		"text_consent_spread_days": SPREAD,
		"seconds": 0.0,
		"anchor": str(first),
		"reused": True,
		"generated_seconds": made.get("seconds"),
		"generated_load": made.get("load"),
	}


def remove(bm, count: int) -> None:
	"""Delete the set by ranges of records (one commit each), then any leftovers."""
	import frappe

	step = 20_000
	for first in range(0, max(count, 1), step):
		low, high = f"{bm.PREFIX}{first:07d}", f"{bm.PREFIX}{first + step:07d}"
		frappe.db.sql(
			"delete from `tabOpt Log` where parenttype = 'Phone' and parent >= %s and parent < %s",
			(low, high),
		)
		frappe.db.sql("delete from `tabPhone` where name >= %s and name < %s", (low, high))
		frappe.db.commit()
	bm.remove()


# ---------------------------------------------------------------- measures


def regoal(result: dict, goal: float, name: str | None = None) -> dict:
	"""An existing measure held to this scale's goal."""
	result.update(goal=goal, met=result["ratio"] <= goal)
	if name:
		result["name"] = name
	return result


def sweep_floor(bm, on: dt.date) -> None:
	"""The raw SQL floor of a sweep (``benchmark.raw_lapse``), writing each phone's row after its ten."""
	bm.raw_lapse(on, idx=ROWS + 1, scheme=SCHEME)


def set_statuses(bm, on: dt.date) -> None:
	"""Store the reauthorisation status of every phone of the set as a run on ``on`` would leave it
	(the dates do not depend on the day): the set as of another day. One UPDATE, committed."""
	import frappe

	from opt_consent.reauth import rules as reauth

	frappe.db.sql(
		"""update `tabPhone` set text_reauth_status = case
			when text_consent_lapses_on <= %(on)s then %(lapsed)s
			when text_reauth_due_on <= %(on)s then %(due)s else %(ok)s end
		where name like %(like)s and text_opt = 1 and text_consent_lapses_on is not null""",
		{"on": on, "lapsed": reauth.LAPSED, "due": reauth.DUE, "ok": reauth.OK, "like": f"{bm.PREFIX}%"},
	)
	frappe.db.commit()


def bench_sweep(bm, samples: int, count: int, on: dt.date, label: str, goal: float) -> dict:
	"""``lapse.run`` on ``on`` over the whole table against :func:`sweep_floor`, interleaved, rolled back."""
	import frappe

	from opt_consent.reauth import lapse

	rules = bm.bench_rules(PERIOD)
	lapsed_counts = []
	original = lapse.get_rules
	lapse.get_rules = lambda: rules
	try:
		a, b = bm.interleaved(
			samples,
			lambda i: lapsed_counts.append(lapse.run(on)),
			lambda i: sweep_floor(bm, on),
			after=frappe.db.rollback,
		)
	finally:
		lapse.get_rules = original
	return bm.compare(
		f"{label} over {count:,} phones vs raw UPDATE + bulk insert of the same rows",
		goal,
		a,
		b,
		note=f"phones lapsed per run: {lapsed_counts[0]:,}; sweep median {statistics.median(a):.1f} s, "
		f"floor median {statistics.median(b):.1f} s",
	)


def rss_mb() -> float:
	"""The process's peak resident set so far (VmHWM), in MB."""
	for line in Path("/proc/self/status").read_text().splitlines():
		if line.startswith("VmHWM:"):
			return int(line.split()[1]) / 1024
	return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def reset_peak_rss() -> bool:
	"""Reset VmHWM to the current RSS (Linux: write 5 to /proc/self/clear_refs), so a peak is the measure's."""
	try:
		Path("/proc/self/clear_refs").write_text("5")
		return True
	except OSError:
		return False


def integrity_floor(chunk: int = 500) -> tuple[int, int]:
	"""The floor of the verification: the same keyset pages of records and their rows read in the same order
	with plain SQL, and SHA-256 over each row's canonical bytes (:func:`chain.serialise`), with none of the
	app's checks (position, link, hash comparison, replay of the record's fields). Returns (records, rows)."""
	import frappe

	from opt_consent.ledger.integrity import ROW_FIELDS, record_fields
	from opt_consent.ledger.rules import chain

	fields = record_fields("Phone")
	record_sql = f"select {', '.join(f'`{f}`' for f in fields)} from `tabPhone` where name > %s order by name limit {chunk}"
	row_columns = ", ".join(f"`{f}`" for f in ["parent", *ROW_FIELDS])
	schemes = {1: chain.SCHEME_1_FIELDS, 2: chain.SCHEME_2_FIELDS, 3: chain.SCHEME_3_FIELDS}
	records = rows_read = 0
	position = ""
	sha = hashlib.sha256
	while page := frappe.db.sql(record_sql, (position,), as_dict=True):
		position = page[-1].name
		subjects = {r.name: r.phone_e164 for r in page}
		rows = frappe.db.sql(
			f"select {row_columns} from `tabOpt Log` where parenttype = 'Phone' and parent in %s "
			"order by parent asc, idx asc, creation asc",
			(tuple(subjects),),
			as_dict=True,
		)
		for row in rows:
			scheme = row.hash_scheme
			sha(
				chain.serialise(
					scheme, schemes[scheme], row, "Phone", row.parent, row.prev_hash, subjects[row.parent]
				)
			).hexdigest()
		records += len(page)
		rows_read += len(rows)
	return records, rows_read


def bench_integrity(bm, samples: int) -> dict:
	"""``integrity.verify_all`` over every Phone against :func:`integrity_floor`, interleaved; peak RSS."""
	from opt_consent.ledger import integrity

	outcome = {}
	peaks = []

	def ours(i):
		resettable = reset_peak_rss()
		before = rss_mb()
		records = rows = broken = 0
		for verdict in integrity.verify_all(("Phone",)):
			records += 1
			rows += verdict["rows"]
			broken += not verdict["ok"]
		peaks.append((rss_mb(), before, resettable))
		outcome.update(records=records, rows=rows, broken=broken)

	def floor(i):
		outcome["floor"] = integrity_floor()

	a, b = bm.interleaved(samples, ours, floor)
	peak, before, resettable = max(peaks)
	result = bm.compare(
		f"integrity verification of every Phone ({outcome['records']:,} records, {outcome['rows']:,} rows) "
		"vs the same keyset-paged reads + SHA-256 of each row's canonical bytes",
		3.0,
		a,
		b,
		note=f"{outcome['broken']} records broken; peak RSS of the process during the verification {peak:.0f} MB "
		f"(VmHWM{', reset before it' if resettable else ', the whole run'}; {before:.0f} MB when it began); "
		f"verification median {statistics.median(a):.0f} s, floor median {statistics.median(b):.0f} s "
		f"({outcome['floor'][1]:,} rows hashed)",
	)
	result.update(peak_rss_mb=round(peak), rss_before_mb=round(before), broken=outcome["broken"])
	return result


# ---------------------------------------------------------------- the backlog on workers


def cpu_seconds(pid: int) -> float:
	"""CPU time of a process and of its children it has reaped (a worker's work horses), from /proc."""
	after_name = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
	return sum(int(x) for x in after_name[11:15]) / os.sysconf("SC_CLK_TCK")  # utime stime cutime cstime


def database_pid() -> int | None:
	"""The local MariaDB server's process (its CPU time is part of what a run costs), if it is visible."""
	for proc in Path("/proc").iterdir():
		try:
			if proc.name.isdigit() and (proc / "comm").read_text().strip() in ("mariadbd", "mysqld"):
				return int(proc.name)
		except OSError:
			continue
	return None


def undo_lapse(bm) -> None:
	"""The set back as before a committed lapse: its Lapsed rows (each phone's row after its ten) removed and
	Text Opt on again. Committed."""
	import frappe

	from opt_consent.reauth import rules as reauth

	frappe.db.sql(
		"""delete from `tabOpt Log` where parent like %(like)s and parenttype = 'Phone' and parentfield = 'opt_logs'
		and idx > %(rows)s and action = 'Lapsed'""",
		{"like": f"{bm.PREFIX}%", "rows": ROWS},
	)
	frappe.db.sql(
		"update `tabPhone` set text_opt = 1 where name like %(like)s and text_opt = 0 and text_reauth_status = %(lapsed)s",
		{"like": f"{bm.PREFIX}%", "lapsed": reauth.LAPSED},
	)
	frappe.db.commit()


def lapsed_rows(bm) -> tuple[int, int]:
	"""(phones with a Lapsed row, the most Lapsed rows any phone has) in the set."""
	import frappe

	return tuple(
		frappe.db.sql(
			"""select count(*), coalesce(max(n), 0) from (select parent, count(*) n from `tabOpt Log`
			where parent like %(like)s and parenttype = 'Phone' and parentfield = 'opt_logs' and idx > %(rows)s
			and action = 'Lapsed' group by parent) t""",
			{"like": f"{bm.PREFIX}%", "rows": ROWS},
		)[0]
	)


def due_phones(bm, on: dt.date) -> int:
	"""The phones of the set a lapse on ``on`` must lapse, counted independently of the job."""
	import frappe

	return frappe.db.sql(
		"select count(*) from `tabPhone` where name like %s and text_opt = 1 and text_opt_in_date <= %s",
		(f"{bm.PREFIX}%", on - dt.timedelta(days=PERIOD)),
	)[0][0]


def run_on_workers(count: int, on: dt.date, chunk: int, deadline_s: float = 4 * 3600) -> dict:
	"""The lapse on ``on`` as the site runs it (``runs.start_lapse``: heal, mark due, plan, enqueue), on
	``count`` fresh ``bench worker`` processes (:func:`timed_on_workers`)."""
	import frappe
	from bench_workers import QUEUE  # scripts/, next to this file

	from opt_consent.jobs import runs

	figure = timed_on_workers(
		count,
		lambda: runs.start_lapse(on=on, size=chunk, queue_name=QUEUE),
		lambda run: frappe.db.get_value(runs.RUN, run, "status") == runs.COMPLETED,
		deadline_s,
	)
	figure["chunks"] = frappe.db.count(runs.CHUNK, {"parent": figure["run"]})
	return figure


def timed_on_workers(count: int, start, finished, deadline_s: float = 4 * 3600) -> dict:
	"""``start()`` (the coordinator, here) with its chunks on ``count`` fresh workers; polled until
	``finished(run)``. Returns the seconds and the CPU seconds spent."""
	import frappe
	from bench_workers import start_workers, stop_workers  # scripts/, next to this file

	os.environ.setdefault("SITE", frappe.local.site)
	processes = start_workers(count)
	try:
		db = database_pid()
		before = {"workers": sum(cpu_seconds(p.pid) for p in processes), "database": cpu_seconds(db) if db else 0.0,
			"coordinator": time.process_time()}  # fmt: skip
		load = loadavg()
		started = time.perf_counter()
		run = start()
		while True:
			frappe.db.rollback()
			if finished(run):
				break
			if time.perf_counter() - started > deadline_s:
				raise RuntimeError(f"run {run} did not complete in {deadline_s:.0f} s")
			time.sleep(0.2)
		seconds = time.perf_counter() - started
		return {
			"workers": count,
			"seconds": seconds,
			"run": run,
			"cpu_s": {
				"workers": sum(cpu_seconds(p.pid) for p in processes) - before["workers"],
				"database": (cpu_seconds(db) - before["database"]) if db else None,
				"coordinator": time.process_time() - before["coordinator"],
			},
			"load_before": load,
			"load_after": loadavg(),
		}
	finally:
		stop_workers(processes)


def bench_backlog_workers(bm, args, count: int, on: dt.date, anchor: dt.date) -> tuple[dict, dict]:
	"""The backlog (half of the phones lapsing) as the chunked run on 1, 2, ... workers, committed and undone
	after each, against the raw SQL floor of the same sweep (rolled back). The settings' rules are the
	benchmark's for the run (the workers read them) and are put back after. Returns the ratio of the first
	configuration to the floor, and the figures of every configuration."""
	import frappe

	from opt_consent.reauth import lapse

	configurations = [int(k) for k in args.workers.split(",")]
	os.environ.setdefault("SITE", frappe.local.site)
	fields = ["text_reauth_days", "reauth_reminder_days"]
	before = frappe.db.get_value("Opt Consent Settings", None, fields, as_dict=True)
	frappe.db.set_single_value(
		"Opt Consent Settings", {"text_reauth_days": PERIOD, "reauth_reminder_days": LEAD}
	)
	frappe.clear_document_cache("Opt Consent Settings", "Opt Consent Settings")
	frappe.db.commit()
	assert lapse.get_rules() == bm.bench_rules(
		PERIOD
	), "the settings hold method periods: not the benchmark's rules"
	due = due_phones(bm, on)
	figures = []
	try:
		for workers in configurations:
			set_statuses(bm, on - dt.timedelta(days=1))
			figure = run_on_workers(workers, on, args.chunk)
			phones, most = lapsed_rows(bm)
			assert (phones, most) == (due, 1), (workers, phones, most, due)  # each due phone lapsed once
			figure["lapsed"] = phones
			figures.append(figure)
			print(json.dumps(figure, default=str), flush=True)
			undo_lapse(bm)
		set_statuses(bm, on - dt.timedelta(days=1))
		floor_s = bm.clock(lambda: sweep_floor(bm, on))
		frappe.db.rollback()
	finally:
		frappe.db.rollback()
		undo_lapse(bm)
		frappe.db.set_single_value("Opt Consent Settings", dict(before))
		frappe.clear_document_cache("Opt Consent Settings", "Opt Consent Settings")
		frappe.db.commit()
		set_statuses(bm, anchor - dt.timedelta(days=1))
	first = figures[0]
	result = bm.compare(
		f"backlog lapse sweep over {count:,} phones as the chunked run on {first['workers']} `bench worker` "
		"vs raw UPDATE + bulk insert of the same rows",
		2.0,
		[first["seconds"]],
		[floor_s],
		note=f"phones lapsed per run: {due:,} (each once, checked); run {first['seconds']:.1f} s including its heal, "
		f"mark-due and planning; floor {floor_s:.1f} s",
	)
	return result, {"due": due, "chunk": args.chunk, "floor_s": floor_s, "runs": figures}


# ---------------------------------------------------------------- the run


def loadavg() -> str:
	return " / ".join(f"{x:.2f}" for x in os.getloadavg())


def main(args, bm) -> None:
	"""The run of ``--log-rows``: generate (or reuse) the set, measure, report as benchmark.py does."""
	import platform
	import sys

	if args.render:
		report = json.loads(Path(args.render).read_text())
		Path(args.doc).write_text(markdown(bm, report))
		print(f"written {args.doc} from {args.render}")
		return
	count = max(1, args.log_rows // ROWS)
	site = bm.connect(args.site)
	import frappe

	report = {
		"site": site,
		"machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
		"frappe": frappe.__version__,
		"mariadb": frappe.db.sql("select version()")[0][0],
		# the server's settings that bound a write-heavy sweep at this size (they are reported, not changed)
		"buffer_pool_mb": int(frappe.db.sql("select @@innodb_buffer_pool_size")[0][0]) // 2**20,
		"redo_log_mb": int(frappe.db.sql("select @@innodb_log_file_size")[0][0]) // 2**20,
		"when": time.strftime("%Y-%m-%d %H:%M:%S"),
		"arguments": " ".join(sys.argv[1:]),
		"load_start": loadavg(),
	}
	results = []
	data = present(bm, count) if args.reuse else None
	try:
		if data is None:
			if args.reuse:
				print("no kept set of this size: generating it", flush=True)
			remove(bm, count)
			data = generate(bm, count)
		report["data"] = data
		print(
			f"{'reused' if data.get('reused') else 'generated'} {data['phones']:,} phones, {data['rows']:,} log "
			f"rows in {data['seconds']:.1f} s (anchor {data['anchor']}); load {loadavg()}",
			flush=True,
		)
		anchor = dt.date.fromisoformat(data["anchor"])
		backlog_on = anchor + dt.timedelta(days=BACKLOG_DAYS)

		def backlog():
			result, report["workers"] = bench_backlog_workers(bm, args, count, backlog_on, anchor)
			return result

		measures = [
			lambda: regoal(bm.bench_action(args.samples, count), 1.2),
			lambda: regoal(bm.bench_can_contact(args.samples * 5, count), 1.3),
			lambda: regoal(bm.bench_form_payload(args.samples), 1.6),
			lambda: bench_sweep(bm, args.sweeps, count, anchor, "daily lapse sweep", 2.0),
			backlog,
			lambda: bench_integrity(bm, max(1, args.sweeps // 2)),  # the longest: last
		]
		for measure in measures:
			result = measure()
			results.append(result)
			bm.print_result(result)
			if result["name"].startswith("daily lapse sweep"):
				report["load_after_daily_sweep"] = loadavg()
				report["explain"] = bm.explain(count)
			report["load_end"] = loadavg()
			save(report, results, args)  # what is measured so far, should the run be cut short
	finally:
		frappe.db.rollback()
		if not args.keep:
			remove(bm, count)
	finish(bm, report, results, args)


# ---------------------------------------------------------------- the report

# What this scale adds to benchmark.CHANGES (the app's changes made to hold the ratios at 10M rows).
SCALE_CHANGES: list[str] = [
	"- At 10M log rows: `can_contact` reads the records with one plain query built once per doctype and",
	"  fields (`gate.adapter.records_query`) instead of building it through the query builder on every check",
	"  (1.24x to 1.27x of `frappe.db.get_value` before, at 100k and 1M phones; that call builds its query).",
	"- The chain canonicalises the values the database returns (text, date, datetime, a Time's timedelta)",
	"  without the general path's conversions, to the same text (`ledger.rules.chain.canonical`): sealing and the",
	"  verification of every row spend less per row. The benchmark's generator seals 10M rows with the",
	"  chain's own serialisation, one template per distinct row, checked against `chain.row_hash`.",
	"- The log's order index became `(parent, parenttype, parentfield, idx)` (a patch swaps it for `(parent, idx)`",
	"  in one ALTER): the form's row count and a record's last row are read from the index alone. The lapse's",
	"  locking reads of the last rows name that index and ask for 200 records at a time, so they never turn",
	"  into a scan that locks the whole log (which deadlocked two chunks of a run on a small table).",
]
# What the figures at this scale come from (the prose around them; the figures are the run's).
SCALE_NOTES = [
	"## Where the time goes at ten million rows",
	"",
	"- The sweeps write: every lapse inserts a sealed log row into a table of 10M rows with a random primary",
	"  key and four indexes led by the record's name, and updates its Phone. They are as fast as the server",
	"  can keep the Phone table and the log's indexes in memory: this run's InnoDB buffer pool and redo log",
	"  sizes are on the machine line above. With this machine's MariaDB as installed (a 128 MB buffer pool,",
	"  a 96 MB redo log) an earlier run of the same command, under a heavier load and before the log's order",
	"  index covered the record's type and table field, took 117 s for the daily sweep against 83 s for its",
	"  raw floor (1.41x): each insert read its index pages from disk. Both settings are dynamic in MariaDB",
	"  10.11 (`SET GLOBAL innodb_buffer_pool_size = 8589934592; SET GLOBAL innodb_log_file_size = 1073741824;`,",
	"  no restart), which is how they were raised for this run; a site of this size sets them in the",
	"  server's configuration.",
	"- The form of a record with a long history pays for its 50 newest rows (read, made into child documents,",
	"  encoded) against the 10 of the small record. Their count and the newest rows are read from the log's",
	"  `(parent, parenttype, parentfield, idx)` index alone; with the earlier `(parent, idx)` index the count",
	"  read each of the 1,000 rows (1.89x in the earlier run). The payload is measured as the web server",
	"  sends it (`frappe.utils.response.as_json`, compact JSON); earlier runs encoded it indented with sorted",
	"  keys (`frappe.as_json`), which costs more per row than the desk's response does.",
	"- The verification of every record reads each row once in keyset pages of 500 records and hashes it:",
	"  its memory is one page, whatever the table's size; most of its time is the driver decoding rows and the",
	"  canonical serialisation that the floor pays as well.",
	"",
]
# The measures of a complete run, by the start of their names.
MEASURES = (
	"consent action",
	"can_contact",
	"form payload",
	"daily lapse sweep",
	"integrity verification",
	"backlog lapse sweep over",
)


def save(report: dict, results: list, args) -> None:
	report["results"] = results
	Path(args.json).parent.mkdir(parents=True, exist_ok=True)
	Path(args.json).write_text(json.dumps(report, indent=1, default=str))


def finish(bm, report: dict, results: list, args) -> None:
	import frappe

	save(report, results, args)
	print(f"\nwritten {args.json}")
	if args.doc:
		Path(args.doc).write_text(markdown(bm, report))
		print(f"written {args.doc}")
	frappe.destroy()


def markdown(bm, report: dict) -> str:
	"""benchmark.markdown's report, with this scale's data line, load, absolute goals and changes."""
	saved = bm.CHANGES
	bm.CHANGES = [*saved, *SCALE_CHANGES]
	try:
		lines = bm.markdown(report, report["arguments"]).split("\n")
	finally:
		bm.CHANGES = saved
	data = report["data"]
	if data.get("reused"):
		made = f"kept from an earlier run with `--keep` and measured again with `--reuse`; generated on {data['anchor']}"
		if data.get("generated_seconds"):
			made += (
				f", set-based and sealed in {data['generated_seconds']:.0f} s (load average "
				f"{data.get('generated_load') or 'not recorded'} then)"
			)
	else:
		made = f"generated set-based and sealed in {data['seconds']:.0f} s, load average {data.get('load')}"
	made += "; every measure is relative to that day"
	for i, line in enumerate(lines):
		if line.startswith("- data:"):
			lines[i] = (
				f"- data: {data['phones']:,} phones with {ROWS} sealed log rows each and one with "
				f"{bm.BIG_ROWS:,}: {data['rows']:,} log rows; texting consent given on one of the last "
				f"{SPREAD} days (1/{SPREAD} lapse on a daily run; the backlog run is {BACKLOG_DAYS} days later, "
				f"half lapsing), a {PERIOD}-day period ({made})"
			)
	at = next(i for i, line in enumerate(lines) if line.startswith("- machine:")) + 1
	lines.insert(
		at,
		f"- load average (1 / 5 / 15 min): {report.get('load_start')} at the start, "
		f"{report.get('load_after_daily_sweep')} after the daily sweep, {report.get('load_end')} at the end "
		"(the machine is shared: ratios are taken against floors measured in the same run)",
	)
	extra = []
	daily = next((r for r in report["results"] if r["name"].startswith("daily lapse sweep")), None)
	if daily:
		seconds = daily["ours"]["median_ms"] / 1000
		extra.append(
			f"- daily lapse sweep of {data['phones']:,} phones in under 30 s: {seconds:.1f} s in this run "
			f"({'met' if seconds < 30 else '**missed**'}; load average {report.get('load_after_daily_sweep')} "
			"after it)."
		)
	integrity = next((r for r in report["results"] if "peak_rss_mb" in r), None)
	if integrity:
		peak = integrity["peak_rss_mb"]
		extra.append(
			f"- integrity verification in bounded memory, peak RSS under 500 MB: {peak} MB "
			f"({'met' if peak < 500 else '**missed**'}); {integrity['broken']} records broken."
		)
	missing = [m for m in MEASURES if not any(r["name"].startswith(m) for r in report["results"])]
	if missing:
		extra.append(
			f"- Not measured in this run (cut short for time): {', '.join(m.removesuffix(' over') for m in missing)}."
		)
	at = lines.index("## What was changed to get there") - 1
	lines[at:at] = extra
	at = lines.index("## What was changed to get there")
	lines[at:at] = [*SCALE_NOTES, *worker_lines(report)]
	if report.get("buffer_pool_mb") and report.get("redo_log_mb"):
		at = next(i for i, line in enumerate(lines) if line.startswith("- machine:"))
		lines[at] += (
			f"; InnoDB buffer pool {report['buffer_pool_mb']:,} MB, redo log {report['redo_log_mb']:,} MB"
		)
	return "\n".join(lines)


def worker_lines(report: dict) -> list[str]:
	"""The backlog on 1, 2, ... workers: times, CPU seconds by process, and how busy the cores were."""
	workers = report.get("workers")
	if not workers:
		return []
	runs = workers["runs"]
	cores = os.cpu_count() or 1
	one = runs[0]["seconds"]
	lines = [
		"## Worker scaling: the backlog as the chunked run",
		"",
		f"The backlog lapse ({workers['due']:,} phones lapsing, chunks of {workers['chunk']:,} lapsing phones) as "
		"the site runs it: `runs.start_lapse` heals the dates, marks the newly due and enqueues one job per chunk "
		"on Frappe's queue, consumed by fresh `bench worker` processes started for the run (timed from the "
		"start to the run's completion, worker start-up excluded). Each run is committed, checked (every due "
		"phone has exactly one Lapsed row) and undone before the next. CPU seconds are read from /proc for "
		"the workers (with the work horses they fork per job), the MariaDB server and the coordinator.",
		"",
		f"| workers | time | vs {runs[0]['workers']} | CPU s: workers | CPU s: MariaDB | CPU s: coordinator "
		f"| cores busy (of {cores}) | chunks | load average before; after |",
		"| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
	]
	for run in runs:
		cpu = run["cpu_s"]
		total = cpu["workers"] + (cpu["database"] or 0) + cpu["coordinator"]
		database = "not visible" if cpu["database"] is None else f"{cpu['database']:.0f}"
		lines.append(
			f"| {run['workers']} | {run['seconds']:.1f} s | {run['seconds'] / one:.2f}x | {cpu['workers']:.0f} | "
			f"{database} | {cpu['coordinator']:.0f} | {total / run['seconds']:.2f} | {run['chunks']} | "
			f"{run['load_before']}; {run['load_after']} |"
		)
	lines += ["", *scaling_reading(runs, cores), ""]
	return lines


def scaling_reading(runs: list[dict], cores: int) -> list[str]:
	"""What limits the scaling, read off the figures (not asserted beforehand)."""
	if len(runs) < 2:
		return []
	one, last = runs[0], runs[-1]
	busy = [
		(r["cpu_s"]["workers"] + (r["cpu_s"]["database"] or 0) + r["cpu_s"]["coordinator"]) / r["seconds"]
		for r in runs
	]
	speedup = one["seconds"] / last["seconds"]
	reading = (
		f"- {last['workers']} workers take {last['seconds'] / one['seconds']:.2f}x the time of {one['workers']} "
		f"(a speed-up of {speedup:.2f}x). With {one['workers']} worker the processes kept {busy[0]:.2f} of the "
		f"{cores} cores busy; with {last['workers']}, {busy[-1]:.2f}."
	)
	lines = [reading]
	if busy[-1] > 0.85 * cores:
		lines.append(
			f"- The cores are the limit: with {last['workers']} workers the workers and MariaDB together use "
			f"nearly all {cores} cores, so more workers on this machine cannot go faster; workers on other "
			"machines (pointed at the same site, database and Redis) add cores, until MariaDB's own CPU and "
			"its log writes are the limit."
		)
	else:
		lines.append(
			f"- The cores are not all busy ({busy[-1]:.2f} of {cores}): the rest of the time the processes wait on "
			"the database's disk and locks (two chunks meet only at their common edge) and on the run's serial "
			"start (heal, mark due, plan), which no number of workers shortens."
		)
	return lines
