"""Frappe adapter of the consent history import (:mod:`opt_consent.history.rules`).

An import reads a CSV in two passes and never holds more than one bucket's events in memory:

1. :func:`prepare`: stream the file, validate every row (refusals go to the read report), and spill the
   valid events to bucket files by a hash of their address (all events of a record in one bucket); a file
   that cannot be read (encoding, malformed CSV, missing columns, too large) stops here, before anything is
   written;
2. :func:`apply_bucket`, per bucket (buckets hold disjoint records, so each can go to another worker):
   group by record and order each group by event time, then per part of whole records:
   one query for the chunk's rows already imported (the ledger), one locking query per record doctype for
   the existing records, one for each channel's latest event, the engine's replay in Python, one insert of
   the new records, one UPDATE of the existing ones, one sealed insert of log rows
   (:func:`opt_consent.ledger.log.insert_log_rows`) and one insert of ledger rows; then ``commit`` (a
   background job's per-chunk commit). A dry run stops before the writes: it only reads.

A part is all or nothing and records its rows in the ledger in the same transaction, so an apply that
stops half way leaves whole parts; running the same file again skips what is in the ledger and goes on.
:func:`merge` adds up the counts and joins the refusal reports. :func:`run` takes the three steps in this
process (the command line, the benchmark); the desk's import spreads the buckets over the background
workers (:mod:`opt_consent.history_import`).
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field

import frappe
from frappe import _
from frappe.utils import get_system_timezone, getdate, now_datetime, nowdate

from opt_consent.contact.adapter import PARTY, PARTY_TYPE, new_record_template, reserve_names
from opt_consent.history import rules as hi
from opt_consent.jobs import runs
from opt_consent.ledger import log, settings
from opt_consent.ledger import site_purposes as purposes
from opt_consent.ledger.refusals import translate
from opt_consent.ledger.rules import business_days
from opt_consent.ledger.rules.engine import LastEvent, Method, event_datetime
from opt_consent.model.addresses import normalize_email, normalize_phone
from opt_consent.model.channels import (
	EMAIL,
	OPT_OUT,
	PHONE,
	RECORDS,
	TEXT,
	channels_of,
	derived_fields,
	initial_state,
)
from opt_consent.reauth import rules as reauth
from opt_consent.reauth import settings as reauth_settings

LEDGER = "Consent History Import Ledger"
# Refused rows kept in memory for the desk (the full list goes to the report file).
KEEP_REFUSED = 500
# Above this size a file is refused before it is read (site config ``opt_consent_import_max_mb``).
DEFAULT_MAX_MB = 1024


def max_bytes() -> int:
	return int(frappe.conf.get("opt_consent_import_max_mb") or DEFAULT_MAX_MB) << 20


@dataclass
class Options:
	dry_run: bool = True
	date_format: str = hi.DEFAULT_DATE_FORMAT
	time_zone: str | None = None
	mapping: dict[str, str] = field(default_factory=dict)
	import_name: str | None = None
	chunk_events: int = hi.CHUNK_EVENTS
	buckets: int | None = None  # default: by the file's size (:func:`opt_consent.history.rules.spill_count`)


@dataclass
class Result:
	rows: int = 0
	recorded: int = 0  # written, or (dry run) that would be
	refused: int = 0
	duplicates: int = 0
	new_records: int = 0
	chunks: int = 0
	kept: list[dict] = field(default_factory=list)  # the first KEEP_REFUSED refusals
	unknown_methods: dict[str, int] = field(default_factory=dict)
	report_path: str | None = None
	sample: list[dict] = field(default_factory=list)  # the first rows that would be recorded

	COUNTS = ("rows", "recorded", "refused", "duplicates", "new_records", "chunks")

	def as_dict(self) -> dict:
		return {**{key: getattr(self, key) for key in self.COUNTS}, "unknown_methods": self.unknown_methods}

	@classmethod
	def from_dict(cls, values: dict) -> Result:
		return cls(
			**{key: int(values.get(key) or 0) for key in cls.COUNTS},
			unknown_methods=dict(values.get("unknown_methods") or {}),
		)

	def add(self, other: Result) -> None:
		"""Add ``other``'s counts (a part's, a bucket's) to these."""
		for key in self.COUNTS:
			setattr(self, key, getattr(self, key) + getattr(other, key))
		for method, count in other.unknown_methods.items():
			self.unknown_methods[method] = self.unknown_methods.get(method, 0) + count


class ImportFileError(frappe.ValidationError):
	"""The file as a whole cannot be imported (nothing was written)."""


def file_refused(refusal: hi.Refused):
	frappe.throw(translate(refusal), exc=ImportFileError, title=_("File not imported"))


# ---------------------------------------------------------------- the run


def run(
	path: str,
	options: Options,
	progress: Callable[[int, str], None] | None = None,
	commit: Callable[[], None] | None = None,
) -> Result:
	"""Import (or with ``options.dry_run`` only assess) the CSV at ``path`` in this process: :func:`prepare`,
	then :func:`apply_bucket` on every bucket, then :func:`merge`: the same steps the background workers
	take one bucket each (:mod:`opt_consent.history_import`)."""
	progress = progress or (lambda percent, text: None)
	with tempfile.TemporaryDirectory(prefix="opt-consent-import-") as folder:
		try:
			prepared = prepare(path, options, folder, progress)
			totals = []
			for n, bucket in enumerate(prepared.buckets):
				total = Result()

				def part_done(_part_no: int, part: Result, total=total) -> None:
					total.add(part)
					if commit and not options.dry_run:
						commit()

				apply_bucket(folder, bucket, prepared.context, 0, part_done, commit)
				totals.append(total.as_dict())
				progress(10 + int(90 * (n + 1) / len(prepared.buckets)), _("Replaying the events"))
		except Exception:
			if not options.dry_run:
				frappe.db.rollback()
			raise
		return merge(folder, prepared.as_dict(), totals, prepared.buckets)


@dataclass
class Prepared:
	"""The first pass's outcome: the rows read and refused, and the buckets of valid events (in ``folder``)."""

	context: Context
	buckets: list[int]
	rows: int
	refused: int
	unknown_methods: dict[str, int]

	def as_dict(self) -> dict:
		"""What the coordinator keeps of the first pass (the context is rebuilt by each chunk)."""
		return {key: getattr(self, key) for key in ("rows", "refused", "unknown_methods", "buckets")}


def prepare(path: str, options: Options, folder: str, progress: Callable[[int, str], None]) -> Prepared:
	"""Pass one: every row validated, the refused written to ``folder``'s read report, the valid events
	spilled to ``folder``'s bucket files by a hash of their address (all events of a record in one bucket,
	so buckets can be applied in any order, by any worker). A file that cannot be read stops here, before
	anything is written. Writes nothing to the database."""
	size = os.path.getsize(path)
	if size > max_bytes():
		file_refused(
			hi.FileRefused(
				"too_large",
				hi._("The file is {0} MB; the limit is {1} MB (site config opt_consent_import_max_mb)."),
				size >> 20,
				max_bytes() >> 20,
			)
		)
	result = Result()
	context = Context.make(options)
	os.makedirs(folder, exist_ok=True)
	report = Report(read_report_path(folder), result, header=False)
	buckets = options.buckets or hi.spill_count(size)
	files = [open(spill_path(folder, i), "wb") for i in range(buckets)]
	try:
		read_pass(path, size, context, files, report, result, progress)
	finally:
		for spill_file in files:
			spill_file.close()
		report.close()
	kept = []
	for i in range(buckets):
		if os.path.getsize(spill_path(folder, i)):
			kept.append(i)
		else:
			os.unlink(spill_path(folder, i))
	return Prepared(context, kept, result.rows, result.refused, result.unknown_methods)


def spill_path(folder: str, bucket: int) -> str:
	return os.path.join(folder, f"spill-{bucket}.bin")


def read_report_path(folder: str) -> str:
	return os.path.join(folder, "refused-read.csv")


def part_report_path(folder: str, bucket: int, part: int) -> str:
	return os.path.join(folder, f"refused-{bucket}-{part}.csv")


def apply_bucket(
	folder: str,
	bucket: int,
	context: Context,
	first_part: int,
	part_done: Callable[[int, Result], None],
	commit: Callable[[], None] | None = None,
	attempts: int = 5,
) -> None:
	"""Pass two for one bucket: its events grouped by record and ordered, then per part of about
	``chunk_events`` events (whole records): :func:`apply_chunk`, its refusals to the part's report file,
	and ``part_done(part_no, counts)``, which commits the part when applying (a part is all or nothing and
	records its rows in the ledger in the same transaction). Parts before ``first_part`` were committed by an
	earlier attempt and are skipped. A part chosen as a deadlock victim (another worker's part, a person's
	action on one of its records) is rolled back by the database and replayed after a pause
	(:func:`opt_consent.jobs.runs.retry_deadlocks`), up to ``attempts`` tries.

	With ``commit`` (a job's), each part first reserves the names of the records it will create in a
	transaction of its own (:func:`reserve_part_names`), so that the part's transaction does not hold the
	naming series' row: parts on several workers then queue on it only for that short reservation."""
	with open(spill_path(folder, bucket), "rb") as spill_file:
		events = hi.load_spill(spill_file)

	def apply_part(part_no: int, groups: list[list[hi.Event]]) -> None:
		final = part_report_path(folder, bucket, part_no)
		part = Result(chunks=1)
		report = Report(final + ".tmp", part, header=False)
		try:
			if commit and not context.options.dry_run:
				reserve_part_names(groups, context)
				commit()
			apply_chunk(groups, context, report, part)
			report.close()
			os.replace(final + ".tmp", final)
			part_done(part_no, part)
		except Exception:
			report.close()
			raise

	tries = 1 if context.options.dry_run else attempts
	for part_no, groups in enumerate(hi.chunks(hi.order(events), context.options.chunk_events)):
		if part_no >= first_part:
			runs.retry_deadlocks(functools.partial(apply_part, part_no, groups), tries)
	del events


class _Unreported:
	"""A report that keeps nothing (the reservation's look at the targets refuses nothing)."""

	def add(self, refusal) -> None:
		pass


def reserve_part_names(groups: list[list[hi.Event]], context: Context) -> None:
	"""Names for the records the part will create, reserved now: its targets found as the replay finds them,
	with a plain (not locking) read of the existing records. A record someone creates meanwhile leaves a
	name unused (a gap in the series, as a deleted record does); a target the read missed gets a name in the
	part's own transaction, as before."""
	wanted = {}
	for doctype in RECORDS:
		mine = [g for g in groups if g and g[0].doctype == doctype]
		if not mine:
			continue
		found = existing_records(doctype, sorted({g[0].key for g in mine}), lock=False)
		contacts = existing_contacts({e.party for g in mine for e in g if e.party})
		new = sum(1 for target in targets_of(doctype, mine, found, contacts, _Unreported()) if not target.row)
		if new:
			wanted[doctype] = new
	context.reserved = reserve_names(wanted) if wanted else {}


def merge(folder: str, prepared: dict, totals: list[dict], buckets: list[int]) -> Result:
	"""The import's outcome from the first pass's counts and each bucket's: the counts added up, and every
	refused row in one report (the first pass's in file order, then each bucket's parts in order), of which
	the first :data:`KEEP_REFUSED` are kept for the desk. Reads only ``folder``'s files."""
	result = Result(
		rows=prepared["rows"], refused=prepared["refused"], unknown_methods=dict(prepared["unknown_methods"])
	)
	for total in totals:
		result.add(Result.from_dict(total))
	parts = [read_report_path(folder)]
	for bucket in buckets:
		part_no = 0
		while os.path.exists(part_report_path(folder, bucket, part_no)):
			parts.append(part_report_path(folder, bucket, part_no))
			part_no += 1
	if not result.refused:
		return result
	handle, kept_path = tempfile.mkstemp(prefix="opt-consent-refused-", suffix=".csv")
	os.close(handle)
	with open(kept_path, "w", newline="", encoding="utf-8") as out:
		writer = csv.writer(out)
		writer.writerow(report_header())
		for part in parts:
			with open(part, newline="", encoding="utf-8") as source:
				for line, address, channel, action, reason, code in csv.reader(source):
					writer.writerow([line, address, channel, action, reason])
					if len(result.kept) < KEEP_REFUSED:
						result.kept.append(
							{
								"line": int(line),
								"address": address,
								"channel": channel,
								"action": action,
								"code": code,
								"reason": reason,
							}
						)
	result.report_path = kept_path
	return result


def read_pass(path, size, context, files, report, result, progress) -> None:
	"""Pass one: every row validated; the valid events spilled by address, the refused to the report."""
	reader = context.reader
	with open(path, "rb") as binary:
		rows = hi.read_rows(binary, max_bytes())

		def events():
			for line, raw in rows:
				result.rows += 1
				try:
					yield reader.event(line, raw)
				except hi.Refused as refusal:
					report.add(hi.refusal_of(line, raw, refusal))
				if result.rows % 50_000 == 0:
					progress(int(10 * binary.tell() / max(size, 1)), _("Reading the file"))

		try:
			hi.spill(events(), files)
		except hi.FileRefused as refusal:
			file_refused(refusal)


def report_header() -> list[str]:
	return [_("Line"), _("Address"), _("Channel"), _("Action"), _("Reason")]


class Report:
	"""Refused rows, streamed to a CSV file (with the refusal's code, for :func:`merge`); counted on
	``result``, the first :data:`KEEP_REFUSED` kept on it."""

	def __init__(self, path: str, result: Result, header: bool = False):
		self.path = path
		self.result = result
		self.file = open(path, "w", newline="", encoding="utf-8")
		self.writer = csv.writer(self.file)
		if header:
			self.writer.writerow(report_header())

	def add(self, refusal: hi.RowRefusal) -> None:
		self.result.refused += 1
		reason = translate(refusal)
		if refusal.code == "unknown_method":
			raw = str(refusal.args[0]) if refusal.args else ""
			self.result.unknown_methods[raw] = self.result.unknown_methods.get(raw, 0) + 1
		self.writer.writerow(
			[refusal.line, refusal.address, refusal.channel, refusal.action, reason, refusal.code]
		)
		if len(self.result.kept) < KEEP_REFUSED:
			self.result.kept.append(
				{
					"line": refusal.line,
					"address": refusal.address,
					"channel": refusal.channel,
					"action": refusal.action,
					"code": refusal.code,
					"reason": reason,
				}
			)

	def close(self) -> None:
		if not self.file.closed:
			self.file.close()


# ---------------------------------------------------------------- what stays the same for a run


@dataclass
class Context:
	options: Options
	reader: hi.RowReader
	methods: dict[str, Method]
	policy: object
	purposes: object  # opt_consent.ledger.rules.purposes.Purposes
	rules: reauth.Rules
	now: dt.datetime
	today: dt.date
	user: str
	honour_by: Callable[[dt.date], dt.date]
	default_types: dict[str, str]
	reserved: dict[str, list[str]] = field(default_factory=dict)  # names reserved for a part's new records

	@classmethod
	def make(cls, options: Options) -> Context:
		reader = row_reader(options)
		methods = opt_methods(options.mapping)
		honour_by = honour_by_counter()
		return cls(
			options=options,
			reader=reader,
			methods=methods,
			policy=settings.get_policy(),
			purposes=purposes.get_purposes(),
			rules=reauth_settings.get_rules(),
			now=now_datetime(),
			today=getdate(nowdate()),
			user=frappe.session.user,
			honour_by=honour_by,
			default_types={
				doctype: frappe.get_meta(doctype).get_field(record.type_field).default or None
				for doctype, record in RECORDS.items()
			},
		)

	def replay(self) -> hi.Replay:
		"""What every record of the file is replayed with (:func:`opt_consent.history.rules.plan_record`)."""
		return hi.Replay(self.methods, self.options.mapping, self.now, self.policy, self.purposes)


def row_reader(options: Options) -> hi.RowReader:
	"""The file's row reader: addresses normalised as the site does, the site's phone types, the options'
	date format and time zone (a date format or zone it cannot read refuses the file)."""
	region = settings.default_region()
	site_zone = get_system_timezone()

	def normalize(doctype: str, address: str) -> str:
		return normalize_phone(address, region) if doctype == PHONE else normalize_email(address)

	phone_types = tuple(
		t for t in (frappe.get_meta(PHONE).get_field("phone_type").options or "").split("\n") if t
	)
	try:
		reader = hi.RowReader(
			normalize=normalize,
			site_zone=site_zone,
			entered_zone=options.time_zone or None,
			date_format=options.date_format or hi.DEFAULT_DATE_FORMAT,
			phone_types=phone_types,
		)
		if options.time_zone:
			from opt_consent.ledger.rules.engine import to_site_time

			to_site_time("2000-01-01", "00:00", options.time_zone, site_zone)
	except hi.Refused as refusal:
		file_refused(refusal)
	return reader


def opt_methods(mapping: dict[str, str]) -> dict[str, Method]:
	"""The site's Opt Methods by name; a method mapping that names another refuses the file."""
	methods = {
		row.name: Method(
			row.name, bool(row.enabled), bool(row.for_opt_in), bool(row.for_opt_out), bool(row.written)
		)
		for row in frappe.get_all(
			"Opt Method", fields=["name", "enabled", "for_opt_in", "for_opt_out", "written"]
		)
	}
	unknown = [target for target in mapping.values() if target and target not in methods]
	if unknown:
		frappe.throw(
			_("The method mapping names {0}, which is not an Opt Method.").format(unknown[0]),
			exc=ImportFileError,
			title=_("File not imported"),
		)
	return methods


def honour_by_counter() -> Callable[[dt.date], dt.date]:
	"""The honour-by date of a revocation on a date: the site's revocation days in business days (each date
	counted once a run)."""
	holidays, weekend = settings.holiday_calendar()
	days = settings.revocation_days()
	deadlines: dict[dt.date, dt.date] = {}

	def honour_by(revoked: dt.date) -> dt.date:
		if revoked not in deadlines:
			deadlines[revoked] = business_days.add_business_days(revoked, days, holidays, weekend)
		return deadlines[revoked]

	return honour_by


# ---------------------------------------------------------------- one chunk


def apply_chunk(groups: list[list[hi.Event]], context: Context, report: Report, result: Result) -> None:
	"""Replay one chunk of whole records; write it unless this is a dry run (see the module's description)."""
	write = not context.options.dry_run
	groups = drop_imported(groups, result)
	for doctype in RECORDS:
		mine = [g for g in groups if g and g[0].doctype == doctype]
		if mine:
			apply_doctype(doctype, mine, context, report, result, write)


def drop_imported(groups: list[list[hi.Event]], result: Result) -> list[list[hi.Event]]:
	"""Leave out the rows the ledger holds (imported by an earlier run) and repeats within the file."""
	keys = list({e.dedupe for g in groups for e in g})
	done = set()
	for start in range(0, len(keys), 5000):
		done.update(
			frappe.get_all(LEDGER, filters={"name": ["in", keys[start : start + 5000]]}, pluck="name")
		)
	kept = []
	for group in groups:
		fresh = []
		for event in group:
			if event.dedupe in done:
				result.duplicates += 1
				continue
			done.add(event.dedupe)
			fresh.append(event)
		kept.append(fresh)
	return kept


def existing_records(doctype: str, keys: list[str], lock: bool) -> dict[str, list[dict]]:
	"""The records of ``keys`` (oldest first), with their consent state: one query, locking when writing."""
	record = RECORDS[doctype]
	fields = ["name", "creation", record.key_field, record.type_field, PARTY_TYPE, PARTY, "active"]
	fields += [record.block_field]
	for channel in channels_of(doctype):
		fields += list(channel.owned_fields)
	if doctype == PHONE:
		fields += list(derived_fields(doctype))
	table = frappe.qb.DocType(doctype)
	query = (
		frappe.qb.from_(table)
		.select(*[table[f] for f in dict.fromkeys(fields)])
		.where(table[record.key_field].isin(keys))
		.orderby(table.creation)
		.orderby(table.name)
	)
	found: dict[str, list[dict]] = {}
	for row in (query.for_update() if lock else query).run(as_dict=True):
		found.setdefault(row[record.key_field], []).append(row)
	return found


def latest_events(doctype: str, names: list[str]) -> dict[str, dict[str, LastEvent]]:
	"""Each record's latest logged event per channel, in one query."""
	rows = log.latest_per_channel(doctype, names)
	found: dict[str, dict[str, LastEvent]] = {}
	for row in rows:
		found.setdefault(row.parent, {})[row.channel] = LastEvent(
			event_datetime(row.event_date, row.event_time), row.action
		)
	return found


def existing_contacts(parties: set[str]) -> set[str]:
	if not parties:
		return set()
	return set(frappe.get_all(hi.PARTY_TYPE, filters={"name": ["in", list(parties)]}, pluck="name"))


@dataclass
class Target:
	"""The record a set of events goes to: an existing one (its row) or one to create."""

	doctype: str
	key: str
	address: str
	party: str | None
	row: dict | None
	events: list[hi.Event] = field(default_factory=list)
	name: str | None = None
	phone_type: str | None = None


def targets_of(doctype: str, groups, found: dict[str, list[dict]], contacts: set[str], report: Report):
	"""Each group's events by the record they go to. With a party: that Contact's record of the address
	(made if missing; the Contact must exist). Without: the address's record with no party, else its oldest
	record, else a new record with no party."""
	targets: dict[tuple, Target] = {}
	for group in groups:
		for event in group:
			rows = found.get(event.key, [])
			if event.party:
				if event.party not in contacts:
					report.add(
						hi.event_refusal(
							event, hi.Refused("no_party", hi._("Contact {0} does not exist."), event.party)
						)
					)
					continue
				row = next(
					(r for r in rows if r[PARTY_TYPE] == hi.PARTY_TYPE and r[PARTY] == event.party), None
				)
				ident = ("row", row["name"]) if row else ("new", event.key, event.party)
			else:
				row = next((r for r in rows if not r[PARTY]), rows[0] if rows else None)
				ident = ("row", row["name"]) if row else ("new", event.key, None)
			target = targets.get(ident)
			if target is None:
				target = targets[ident] = Target(
					doctype, event.key, event.address, event.party if not row else None, row
				)
			target.events.append(event)
	for target in targets.values():
		target.events.sort(key=lambda e: (e.at, e.line))
	return list(targets.values())


def apply_doctype(doctype, groups, context: Context, report: Report, result: Result, write: bool) -> None:
	"""Replay one record doctype's groups of a chunk and count the outcome; then, unless this is a dry run
	or nothing was accepted, write it: the new records named and inserted, the existing ones updated, the
	sealed log rows and their ledger rows, and (Email) Frappe's Email Unsubscribe kept in step."""
	keys = sorted({g[0].key for g in groups if g})
	if not keys:
		return
	planned = plan_targets(doctype, keys, groups, context, report, write)
	new = [target for target, _plan in planned if not target.row]
	count_planned(planned, len(new), result)
	if not write or not planned:
		return
	if new:
		name_new_records(doctype, new, context)
	create_records(doctype, [(t, p) for t, p in planned if not t.row], context)
	update_records(doctype, [(t, p) for t, p in planned if t.row], context)
	write_log_rows(doctype, planned, context)
	if doctype == EMAIL:
		from opt_consent.gate import mail_sync

		for address in sorted({t.key for t, _p in planned}):
			mail_sync.sync(address)


def plan_targets(
	doctype: str, keys: list[str], groups, context: Context, report: Report, write: bool
) -> list[tuple[Target, hi.Plan]]:
	"""Each target's replay, its refusals to ``report``; the targets with an accepted event and their plans.
	The existing records are read locking when writing, with each channel's latest logged event."""
	found = existing_records(doctype, keys, lock=write)
	contacts = existing_contacts({e.party for g in groups for e in g if e.party})
	targets = targets_of(doctype, groups, found, contacts, report)
	last = latest_events(doctype, [t.row["name"] for t in targets if t.row])
	replay = context.replay()
	planned = []
	for target in targets:
		state = start_state(doctype, target, context)
		plan = hi.plan_record(
			doctype,
			state,
			last.get(target.name, {}) if target.row else {},
			target.phone_type if doctype == PHONE else None,
			target.events,
			replay,
			others=other_purposes(doctype, target, context),
		)
		for event, refusal in plan.refused:
			report.add(hi.event_refusal(event, refusal))
		if plan.accepted:
			planned.append((target, plan))
	return planned


def start_state(doctype: str, target: Target, context: Context) -> dict:
	"""The record's state before the replay: an existing record's row (and its name and phone type on the
	target), or a new record's initial state (its phone type: its first event's that names one, else the
	field's default)."""
	if target.row:
		target.phone_type = target.row.get(RECORDS[doctype].type_field)
		target.name = target.row["name"]
		return {k: v for k, v in target.row.items()}
	typed = next((e.phone_type for e in target.events if e.phone_type), None)
	target.phone_type = typed or context.default_types.get(doctype)
	return initial_state(doctype)


def count_planned(planned: list[tuple[Target, hi.Plan]], new: int, result: Result) -> None:
	"""The events recorded (a dry run: that would be), the new records, and the first 20 rows as a sample."""
	result.recorded += sum(len(plan.accepted) for _t, plan in planned)
	result.new_records += new
	if len(result.sample) < 20:
		for _target, plan in planned:
			for event, _outcome in plan.accepted[: 20 - len(result.sample)]:
				result.sample.append({"line": event.line, "address": event.address, "action": event.action})


def name_new_records(doctype: str, new: list[Target], context: Context) -> None:
	"""Names for the new records: the part's reserved ones (:func:`reserve_part_names`) first."""
	pool = context.reserved.get(doctype) or []
	names, context.reserved[doctype] = pool[: len(new)], pool[len(new) :]
	if len(names) < len(new):  # none reserved for this part, or a target the reservation missed
		names += reserve_names({doctype: len(new) - len(names)}).get(doctype) or []
	for i, target in enumerate(new):
		target.name = names[i] if i < len(names) else None


def write_log_rows(doctype: str, planned: list[tuple[Target, hi.Plan]], context: Context) -> None:
	"""The accepted events' log rows, sealed, in one insert, and their ledger rows in another."""
	rows = []
	for target, plan in planned:
		for event, outcome in plan.accepted:
			rows.append((target.name, evidence(event, outcome, target, context)))
	written = log.insert_log_rows(doctype, rows, {t.name: t.key for t, _p in planned}, now=context.now)
	now, user, name = context.now, context.user, context.options.import_name
	flat = [event for _target, plan in planned for event, _o in plan.accepted]
	log.insert_rows(
		LEDGER,
		[
			"name",
			"creation",
			"modified",
			"owner",
			"modified_by",
			"docstatus",
			"idx",
			"history_import",
			"log_row",
		],
		# in key order: neighbouring keys go to neighbouring index pages
		sorted(
			(event.dedupe, now, now, user, user, 0, 0, name, row["name"])
			for event, row in zip(flat, written, strict=True)
		),
	)


def other_purposes(doctype: str, target, context: Context) -> dict[str, dict[str, str | None]]:
	"""Per channel of an existing record, the latest action covering each other purpose (read only on a
	site with several purposes; a new record has none)."""
	site = context.purposes
	if not target.row or not site.several:
		return {}
	channels = {event.channel for event in target.events}
	return {channel: purposes.others(doctype, target.row["name"], channel, site) for channel in channels}


def evidence(event: hi.Event, outcome, target: Target, context: Context) -> dict:
	"""The log row of an accepted event: the engine's entry, who imported it and the original operator."""
	return {
		**outcome.log,
		"recorded_by": context.user,
		"recorded_at": context.now,
		"source": hi.SOURCE_IMPORT,
		"note": event.note,
		"message_id": None,
		"entered_tz": event.entered_tz,
		"operator": event.operator,
		"phone_type": target.phone_type if target.doctype == PHONE else None,
		"honour_by": context.honour_by(outcome.event_at.date()) if event.action == OPT_OUT else None,
	}


def final_fields(doctype: str, target: Target, plan, context: Context) -> dict:
	"""The record's consent fields after the replay, and (Phone) its texting reauthorisation fields."""
	record = RECORDS[doctype]
	keep = ["active", record.block_field]
	for channel in channels_of(doctype):
		keep += list(channel.owned_fields)
	values = {f: plan.state.get(f) for f in keep}
	if doctype == PHONE and any(e.channel == TEXT for e, _o in plan.accepted):
		assessed = reauth.assess(
			context.rules,
			values.get("text_opt"),
			getdate(values["text_opt_in_date"]) if values.get("text_opt_in_date") else None,
			values.get("text_opt_in_method"),
			context.today,
		)
		values.update(
			{
				"text_reauth_status": assessed.status,
				"text_reauth_due_on": assessed.due_from,
				"text_consent_lapses_on": assessed.lapses_on,
			}
		)
	return values


def create_records(doctype: str, planned, context: Context) -> None:
	"""The new records, with their end state, in one insert (named from Frappe's series, as a Contact's)."""
	if not planned:
		return
	from frappe.model.naming import set_new_name

	record = RECORDS[doctype]
	rows = []
	for target, plan in planned:
		row = {
			**new_record_template(doctype),
			"owner": context.user,
			"modified_by": context.user,
			"creation": context.now,
			"modified": context.now,
			record.address_field: target.address,
			record.key_field: target.key,
			record.type_field: target.phone_type,
			**final_fields(doctype, target, plan, context),
		}
		if target.party:
			row[PARTY_TYPE], row[PARTY] = hi.PARTY_TYPE, target.party
		if not target.name:
			doc = frappe.get_doc({"doctype": doctype, **row})
			set_new_name(doc)
			target.name = doc.name
		row["name"] = target.name
		rows.append(row)
	columns = list(dict.fromkeys(c for row in rows for c in row))
	log.insert_rows(doctype, columns, ([row.get(c) for c in columns] for row in rows))


def update_records(doctype: str, planned, context: Context) -> None:
	"""The existing records' new consent fields in one UPDATE (a CASE per column, by name)."""
	if not planned:
		return
	values = {target.name: final_fields(doctype, target, plan, context) for target, plan in planned}
	columns = list(dict.fromkeys(c for v in values.values() for c in v))
	names = list(values)
	sets, params = [], []
	for column in columns:
		cases = []
		for name in names:
			if column in values[name]:
				cases.append("when %s then %s")
				params += [name, values[name][column]]
		sets.append(f"`{column}` = case `name` {' '.join(cases)} else `{column}` end")
	sets += ["`modified` = %s", "`modified_by` = %s"]
	params += [context.now, context.user, tuple(names)]
	frappe.db.sql(f"update `tab{doctype}` set {', '.join(sets)} where `name` in %s", params)
