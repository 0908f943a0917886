"""Consent history brought in from a CSV export, through the same rules as a desk action.

Pure Python on purpose: no ``import frappe``. The Frappe side (:mod:`opt_consent.history.adapter`)
opens the file, looks records up, writes, and commits per chunk; this module holds what needs no database:

- :func:`read_events`: stream the CSV (UTF-8, a BOM accepted), check its columns, validate each row into an
  :class:`Event` (normalised address, channel, action, the moment in the site's clock) or a refusal;
- :func:`fingerprint` / :func:`dedupe_key`: what makes a row "already imported" (its ``external_id``, else the
  SHA-256 of the normalised row);
- :func:`spill` / :func:`chunks`: memory bounded whatever the file size. Pass one writes every valid event to
  one of several spill files chosen by a hash of its address, so that all events of a record land in the
  same file; pass two reads one spill file at a time, groups by address, orders each group by event time
  (then line) and yields chunks of whole groups: a record's events are never split across chunks;
- :func:`plan_record`: replay one record's events through :func:`opt_consent.ledger.rules.engine.decide`, carrying
  its state and each channel's latest event from one event to the next.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import pickle
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import NamedTuple

from opt_consent.ledger.rules import engine
from opt_consent.ledger.rules.coverage import covers
from opt_consent.ledger.rules.purposes import Purposes
from opt_consent.model import utf8
from opt_consent.model.channels import CHANNELS, OPT_IN, OPT_OUT, RECORDS, TEXT_REAUTH
from opt_consent.model.messages import Refused, _

SOURCE_IMPORT = "Import"

# The columns of the file. Header names are matched without regard to case, spaces or dashes.
REQUIRED_COLUMNS = ("address", "channel", "action", "date", "time", "method", "operator")
OPTIONAL_COLUMNS = ("party", "phone_type", "external_id", "note", "purpose")
COLUMNS = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
# The party a ``party`` column names.
PARTY_TYPE = "Contact"

DATE_FORMATS = {"YYYY-MM-DD": "%Y-%m-%d", "MM/DD/YYYY": "%m/%d/%Y", "DD/MM/YYYY": "%d/%m/%Y"}
DEFAULT_DATE_FORMAT = "YYYY-MM-DD"

MAX_FIELD = 1000  # characters in one cell
MAX_EXTERNAL_ID = 140

_ACTIONS = {re.sub(r"[^a-z]", "", a.lower()): a for a in (OPT_IN, OPT_OUT, TEXT_REAUTH)}
_CHANNELS = {}
for _name, _spec in CHANNELS.items():
	for _alias in (_name, _spec.label):
		_CHANNELS[_alias.lower()] = _name
_AMPM_RE = re.compile(r"^\s*(\d{1,2}):(\d{2})(?::(\d{2}))?\s*([AaPp])\.?[Mm]\.?\s*$")


class FileRefused(Refused):
	"""The file as a whole cannot be read (encoding, malformed CSV, missing columns, too large): nothing is
	imported from it."""


class Event(NamedTuple):
	"""One valid row of the file: an action on a channel of the record of ``key``, at ``at`` (site time).
	A named tuple: millions are spilled to disk and read back, and tuples pickle fastest."""

	line: int
	doctype: str
	key: str  # the normalised address: the record's indexed key
	address: str  # as given
	channel: str
	action: str
	at: dt.datetime
	method: str  # as given (a mapping may name another Opt Method)
	operator: str | None
	party: str | None
	phone_type: str | None
	external_id: str | None
	note: str | None
	entered_tz: str
	dedupe: str  # the import ledger's key of this row
	purpose: str | None = None  # the Consent Purpose named (None: the default; last, so older spills read)


@dataclass(frozen=True)
class RowRefusal:
	"""A row that is not imported, with the rule's reason (an untranslated template and its arguments)."""

	line: int
	address: str
	channel: str
	action: str
	code: str
	message: str
	args: tuple = ()

	@property
	def args_(self) -> tuple:
		return self.args

	def text(self) -> str:
		return self.message.format(*self.args)


def refusal_of(line: int, raw: Mapping, refusal: Refused) -> RowRefusal:
	return RowRefusal(
		line,
		str(raw.get("address") or "")[:140],
		str(raw.get("channel") or "")[:40],
		str(raw.get("action") or "")[:40],
		refusal.code,
		refusal.message,
		tuple(refusal.args_),
	)


def event_refusal(event: Event, refusal: Refused) -> RowRefusal:
	"""The refusal of a valid row's event (the engine's, or its Contact missing), as the report keeps it."""
	return refusal_of(
		event.line, {"address": event.address, "channel": event.channel, "action": event.action}, refusal
	)


# ---------------------------------------------------------------- reading


def header_key(name: str | None) -> str:
	"""``"Phone Type"``, ``"phone-type"`` and ``"PHONE_TYPE"`` all name ``phone_type``."""
	return re.sub(r"[\s\-]+", "_", (name or "").strip().lower())


def text_stream(binary, max_bytes: int | None = None) -> io.TextIOBase:
	"""The file as text: UTF-8, with or without a byte order mark. The bytes are checked as they are read:
	the first one that is not UTF-8 is refused with its line and byte offset (:class:`FileRefused`).

	``max_bytes`` refuses a stream that turns out larger than the limit as soon as it passes it, without
	reading the rest (the caller checks a file's size before opening it; this covers streams of no size).
	"""
	return io.TextIOWrapper(
		io.BufferedReader(_Limited(binary, max_bytes), 1 << 16), encoding="utf-8-sig", newline=""
	)


class _Limited(io.RawIOBase):
	"""A binary stream that refuses to be read past ``max_bytes``, and refuses its first byte that is not
	UTF-8 with the line that holds it (not the line the block it is read in starts on)."""

	def __init__(self, binary, max_bytes: int | None):
		self.binary = binary
		self.max_bytes = max_bytes
		self.count = 0
		self.utf8 = utf8.Checker()

	def readable(self) -> bool:
		return True

	def readinto(self, buffer) -> int:
		data = self.binary.read(len(buffer))
		self.count += len(data)
		if self.max_bytes is not None and self.count > self.max_bytes:
			raise FileRefused(
				"too_large", _("The file is larger than the limit of {0} MB."), self.max_bytes // (1 << 20)
			)
		bad = self.utf8.feed(data, final=not data)
		if bad:
			raise not_utf8(bad)
		buffer[: len(data)] = data
		return len(data)


def not_utf8(bad: utf8.BadByte) -> FileRefused:
	message = _(
		"The file is not UTF-8 text: line {0} holds its first byte that is not (at byte offset {1}). "
		"Save it as CSV UTF-8 (a byte order mark is fine) and upload it again."
	)
	return utf8.refusal(FileRefused, "encoding", bad, message)


def read_rows(binary, max_bytes: int | None = None) -> Iterator[tuple[int, dict]]:
	"""``(line, row)`` for every data row, keys as :func:`header_key` names them; :class:`FileRefused` for a
	file that cannot be read: not UTF-8, malformed CSV, no header, a required column missing."""
	reader = csv.reader(text_stream(binary, max_bytes), strict=True)
	try:
		header = next(reader, None)
		if not header or not any(cell.strip() for cell in header):
			raise FileRefused("empty", _("The file is empty: it needs a header row and at least one row."))
		columns = [header_key(cell) for cell in header]
		missing = [c for c in REQUIRED_COLUMNS if c not in columns]
		if missing:
			raise FileRefused(
				"missing_columns",
				_("The file lacks the column(s) {0}. Its header must name: {1}."),
				", ".join(missing),
				", ".join(REQUIRED_COLUMNS),
			)
		width = len(columns)
		for cells in reader:
			line = reader.line_num
			if not cells or all(not c.strip() for c in cells):
				continue
			if len(cells) != width:
				yield (
					line,
					{
						"__width__": len(cells),
						"__expected__": width,
						**dict(zip(columns, cells, strict=False)),
					},
				)
				continue
			yield line, dict(zip(columns, cells, strict=True))
	except csv.Error as error:
		raise FileRefused(
			"malformed", _("The file is not valid CSV near line {0}: {1}."), reader.line_num, str(error)[:200]
		) from None


# ---------------------------------------------------------------- one row


@dataclass
class RowReader:
	"""Validates rows into :class:`Event`; holds what stays the same for a whole file."""

	normalize: Callable[[str, str], str]  # (doctype, address) -> key, or Refused
	site_zone: str
	entered_zone: str | None = None
	date_format: str = DEFAULT_DATE_FORMAT
	phone_types: tuple[str, ...] = ()
	_keys: dict = field(default_factory=dict)

	def __post_init__(self):
		if self.date_format not in DATE_FORMATS:
			raise FileRefused(
				"bad_format", _("{0} is not a date format this import reads."), self.date_format
			)

	def key_of(self, doctype: str, address: str) -> str:
		"""The normalised address (cached: a file holds many events of each address)."""
		cached = self._keys.get((doctype, address))
		if cached is None:
			try:
				cached = self.normalize(doctype, address)
			except Refused as refusal:
				cached = refusal
			if len(self._keys) > 200_000:
				self._keys.clear()
			self._keys[(doctype, address)] = cached
		if isinstance(cached, Refused):
			raise cached
		return cached

	def event(self, line: int, raw: Mapping) -> Event:
		"""The row as an :class:`Event`, or :class:`Refused` with the reason."""
		check_shape(raw)
		channel, action = channel_of(raw), action_of(raw)
		doctype = CHANNELS[channel].doctype
		address = clean(raw.get("address"))
		key = self.key_of(doctype, address)
		date = self.parse_date(clean(raw.get("date")))
		time = parse_time(clean(raw.get("time")))
		date, time = engine.to_site_time(date, time, self.entered_zone, self.site_zone)
		operator = engine.check_operator(clean(raw.get("operator")) or None)
		note = engine.check_note(clean(raw.get("note")) or None)
		party = name_in(raw, "party", "bad_party", _("{0} is not a Contact name."))
		phone_type = self.phone_type_of(doctype, raw)
		external_id = external_id_of(raw)
		method = clean(raw.get("method"))
		purpose = name_in(raw, "purpose", "bad_purpose", _("{0} is not the name of a Consent Purpose."))
		at = dt.datetime.combine(date, time)
		values = (doctype, key, channel, action, at.isoformat(), method, operator or "", party or "")
		if purpose:  # a row naming no purpose keeps the fingerprint it had before purposes existed
			values += (purpose,)
		return Event(
			line=line,
			doctype=doctype,
			key=key,
			address=address,
			channel=channel,
			dedupe=dedupe_key(external_id, fingerprint(values)),
			action=action,
			at=at,
			method=method,
			operator=operator,
			purpose=purpose,
			entered_tz=self.entered_zone or self.site_zone,
			party=party,
			phone_type=phone_type,
			external_id=external_id,
			note=note,
		)

	def phone_type_of(self, doctype: str, raw: Mapping) -> str | None:
		"""The row's phone type as the Phone doctype spells it (ignored on an email row), or :class:`Refused`."""
		phone_type = clean(raw.get("phone_type")) or None
		if not phone_type or doctype != RECORDS["Phone"].doctype:
			return None
		matched = {t.lower(): t for t in self.phone_types}.get(phone_type.lower())
		if matched is None:
			raise Refused(
				"bad_phone_type",
				_("{0} is not a phone type. Use one of: {1}."),
				phone_type[:40],
				", ".join(self.phone_types),
			)
		return matched

	def parse_date(self, value: str) -> dt.date:
		if not value:
			raise Refused("missing_date", _("Date is required."))
		try:
			if self.date_format == DEFAULT_DATE_FORMAT and len(value) == 10:
				return dt.date.fromisoformat(value)  # the common case, without strptime's cost
			return dt.datetime.strptime(value, DATE_FORMATS[self.date_format]).date()
		except ValueError:
			raise Refused(
				"bad_date", _("{0} is not a valid date in the format {1}."), value[:40], self.date_format
			) from None


def check_shape(raw: Mapping) -> None:
	"""Refuse a row with another number of fields than the header, or a field longer than :data:`MAX_FIELD`."""
	if "__width__" in raw:
		raise Refused(
			"bad_width",
			_("The row has {0} fields; the header has {1}."),
			raw["__width__"],
			raw["__expected__"],
		)
	for name, value in raw.items():
		if value is not None and len(value) > MAX_FIELD:
			raise Refused("long_field", _("{0} is longer than {1} characters."), name, MAX_FIELD)


def channel_of(raw: Mapping) -> str:
	"""The channel the row names (by name or label, without regard to case), or :class:`Refused`."""
	channel = _CHANNELS.get(clean(raw.get("channel")).lower())
	if channel is None:
		raise Refused(
			"bad_channel",
			_("{0} is not a channel. Use one of: {1}."),
			clean(raw.get("channel"))[:40] or _("(empty)"),
			", ".join(CHANNELS),
		)
	return channel


def action_of(raw: Mapping) -> str:
	"""The consent action the row names (letters only, without regard to case), or :class:`Refused`."""
	action = _ACTIONS.get(re.sub(r"[^a-z]", "", clean(raw.get("action")).lower()))
	if action is None:
		raise Refused(
			"bad_action",
			_("{0} is not a consent action. Use one of: {1}."),
			clean(raw.get("action"))[:40] or _("(empty)"),
			", ".join(_ACTIONS.values()),
		)
	return action


def name_in(raw: Mapping, column: str, code: str, message: str) -> str | None:
	"""The document name in ``column`` (None when empty), or :class:`Refused` with ``code`` and ``message``
	for one longer than 140 characters or holding markup."""
	name = clean(raw.get(column)) or None
	if name and (len(name) > 140 or engine._MARKUP_RE.search(name)):
		raise Refused(code, message, name[:140])
	return name


def external_id_of(raw: Mapping) -> str | None:
	external_id = clean(raw.get("external_id")) or None
	if external_id and len(external_id) > MAX_EXTERNAL_ID:
		raise Refused("bad_external_id", _("External ID is longer than {0} characters."), MAX_EXTERNAL_ID)
	return external_id


def clean(value) -> str:
	return (value or "").strip() if isinstance(value, str) else ""


def parse_time(value: str) -> dt.time:
	"""``HH:MM``, ``HH:MM:SS`` (24-hour) or ``h:MM[:SS] AM/PM``."""
	match = _AMPM_RE.match(value or "")
	if match:
		hour, minute, second, half = match.groups()
		hour = int(hour)
		if not 1 <= hour <= 12:
			raise Refused("bad_time", _("{0} is not a valid time. Use HH:MM or HH:MM:SS."), value[:40])
		hour = hour % 12 + (12 if half.lower() == "p" else 0)
		value = f"{hour}:{minute}:{second or '00'}"
	return engine.parse_time(value)


# ---------------------------------------------------------------- what makes a row "already imported"


def fingerprint(values: Iterable) -> str:
	"""SHA-256 of the normalised row: record doctype and key, channel, action, the moment (site time), the
	method as given, the operator and the party. The same event exported twice has the same fingerprint."""
	payload = json.dumps([str(v) for v in values], ensure_ascii=False, separators=(",", ":"))
	return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def dedupe_key(external_id: str | None, row_fingerprint: str) -> str:
	"""The ledger's key: the row's ``external_id`` when the export gives one, else its fingerprint."""
	if external_id:
		return "x-" + hashlib.sha256(external_id.encode("utf-8")).hexdigest()
	return "r-" + row_fingerprint


# ---------------------------------------------------------------- grouping, bounded memory

# Spill files are sized so that one fits in memory comfortably: about this many bytes of CSV each.
SPILL_TARGET_BYTES = 2 << 20
CHUNK_EVENTS = 10_000  # events per chunk (whole records; a record with more events is a chunk of its own)


def spill_count(file_bytes: int) -> int:
	return max(1, min(4096, -(-file_bytes // SPILL_TARGET_BYTES)))


def bucket_of(key: str, buckets: int) -> int:
	"""Which spill file the events of ``key`` go to: stable across runs and processes."""
	return int.from_bytes(hashlib.blake2b(key.encode("utf-8"), digest_size=4).digest(), "big") % buckets


def spill(events: Iterable[Event], files: list) -> int:
	"""Write each event to the spill file of its address (binary files, opened by the caller)."""
	count = 0
	for event in events:
		pickle.dump(event, files[bucket_of(event.key, len(files))], protocol=pickle.HIGHEST_PROTOCOL)
		count += 1
	return count


def load_spill(file) -> list[Event]:
	"""Every event of one spill file (the caller rewinds it). The file is this import's own temporary file."""
	events = []
	while True:
		try:
			events.append(pickle.load(file))
		except EOFError:
			return events


def order(events: Iterable[Event]) -> list[list[Event]]:
	"""The events grouped by record address, each group in event order (moment, then line in the file),
	groups in address order."""
	groups: dict[tuple[str, str], list[Event]] = {}
	for event in events:
		groups.setdefault((event.doctype, event.key), []).append(event)
	return [sorted(groups[k], key=lambda e: (e.at, e.line)) for k in sorted(groups)]


def chunks(groups: Iterable[list[Event]], size: int = CHUNK_EVENTS) -> Iterator[list[list[Event]]]:
	"""Whole groups, about ``size`` events a chunk; a record's events never straddle two chunks."""
	chunk, count = [], 0
	for group in groups:
		if chunk and count + len(group) > size:
			yield chunk
			chunk, count = [], 0
		chunk.append(group)
		count += len(group)
	if chunk:
		yield chunk


# ---------------------------------------------------------------- replay


@dataclass
class Plan:
	"""What one record's events do: the accepted events with their outcomes, the refused, the end state."""

	accepted: list[tuple[Event, engine.Outcome]] = field(default_factory=list)
	refused: list[tuple[Event, Refused]] = field(default_factory=list)
	state: dict = field(default_factory=dict)


def resolve_method(raw: str, mapping: Mapping[str, str], methods: Mapping[str, engine.Method]) -> str:
	"""The Opt Method a row's method names: the user's mapping first, then the exact name, then the name
	without regard to case. Unknown names stay as given (the engine refuses them)."""
	if mapping.get(raw):
		return mapping[raw]
	if raw in methods:
		return raw
	folded = {name.lower(): name for name in methods}
	return folded.get(raw.lower(), raw)


def request_of(
	doctype: str, event: Event, method: str, methods: Mapping[str, engine.Method]
) -> engine.Request:
	"""What one event asks of the engine: its action on its channel at its moment, by the Opt Method
	``method`` resolves to (as found among ``methods``), for its purpose."""
	return engine.Request(
		doctype,
		event.action,
		event.channel,
		event.at.date(),
		event.at.time(),
		method or None,
		methods.get(method),
		purpose=event.purpose,
	)


@dataclass(frozen=True)
class Replay:
	"""What every record of one file is replayed with: the site's Opt Methods, the user's method mapping, the
	moment of the import, the admin's policy and (None: as before purposes) the site's Consent Purposes."""

	methods: Mapping[str, engine.Method]
	mapping: Mapping[str, str]
	now: dt.datetime
	policy: engine.Policy | None = None
	purposes: Purposes | None = None


def plan_record(
	doctype: str,
	state: Mapping,
	last: Mapping[str, engine.LastEvent],
	phone_type: str | None,
	events: Iterable[Event],
	replay: Replay,
	others: Mapping[str, Mapping[str, str | None]] | None = None,
) -> Plan:
	"""Replay ``events`` (one record's, in event order) through the engine, as desk actions one after the
	other: each accepted event changes the state and becomes the channel's latest event for the next.

	With ``replay.purposes`` each event is recorded for its purpose (the default when it names none);
	``others`` holds, per channel, the latest action covering each other purpose before the file (None:
	never)."""
	methods, now, purposes = replay.methods, replay.now, replay.purposes
	policy = replay.policy or engine.Policy()
	plan = Plan(state=dict(state))
	last = dict(last)
	others = {channel: dict(values) for channel, values in (others or {}).items()}
	for event in events:
		method = resolve_method(event.method, replay.mapping, methods)
		try:
			outcome = engine.decide(
				request_of(doctype, event, method, methods),
				engine.Context(
					plan.state,
					now=now,
					last=last.get(event.channel),
					phone_type=phone_type,
					policy=policy,
					purposes=purposes,
					others=others_of(others, purposes, event.channel),
				),
			)
		except Refused as refusal:
			plan.refused.append((event, refusal))
			continue
		plan.state.update(outcome.changes)
		last[event.channel] = engine.LastEvent(outcome.event_at, event.action)
		note_covered(others, purposes, event, outcome)
		plan.accepted.append((event, outcome))
	return plan


def note_covered(others: dict, purposes: Purposes | None, event: Event, outcome: engine.Outcome) -> None:
	"""An accepted event becomes the latest action of each other purpose of its channel that its row covers."""
	if purposes is not None:
		for name in others_of(others, purposes, event.channel):
			if covers(outcome.log, name, purposes.default):
				others[event.channel][name] = event.action


def others_of(others: dict, purposes: Purposes | None, channel: str) -> dict[str, str | None]:
	"""The latest action covering each non-default purpose of ``channel`` (kept up to date by the replay)."""
	if purposes is None:
		return {}
	known = others.setdefault(channel, {})
	for name in purposes.of_channel(channel):
		if name != purposes.default:
			known.setdefault(name, None)
	return known


def is_revocation(action: str) -> bool:
	return action == OPT_OUT


def is_grant(action: str) -> bool:
	return action in (OPT_IN, TEXT_REAUTH)
