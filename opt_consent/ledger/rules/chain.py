"""Tamper evidence for the consent log: each row's hash covers its evidence and the previous row's hash.

Pure Python on purpose: no ``import frappe``. The Frappe side (:mod:`opt_consent.ledger.integrity`) reads rows
and calls :func:`seal` when it writes them and :func:`verify` when it checks them.

A row is sealed under a numbered *scheme*, stored on the row (``hash_scheme``). Scheme 1 is SHA-256 over a
canonical JSON serialisation of the row's evidence fields, the record it belongs to and the previous row's
hash; scheme 2 adds the record's normalised address (the *subject*), the row's phone type and the time
zone its date and time were entered in; scheme 3 adds the original operator as given and the consent
wording (the version's name and the hash of its text); scheme 4 adds the Consent Purpose the row was
recorded for and the scope of a revocation (its purpose, or every purpose). A later scheme is added to :data:`SCHEMES` next to it; rows sealed under an older scheme keep
verifying under that scheme, so a chain can hold rows of several schemes.

Values are canonicalised so that the forms the database returns (``date``, ``timedelta`` for a Time column,
``datetime``) and the forms JSON carries (strings) hash identically.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from opt_consent.ledger.rules.engine import Policy, parse_time, replay
from opt_consent.model.channels import owned_fields
from opt_consent.model.evidence import DATE as _DATE
from opt_consent.model.evidence import DATETIME as _DATETIME
from opt_consent.model.evidence import EVIDENCE
from opt_consent.model.evidence import TEXT as _TEXT
from opt_consent.model.evidence import TIME as _TIME
from opt_consent.model.messages import Refused, _

# The scheme new rows are sealed with.
CURRENT_SCHEME = 4

# The evidence fields each scheme covers, in order. Frozen: a stored chain depends on them, so an existing
# scheme's list never changes (the known-answer tests pin them); a new field means a new scheme.
SCHEME_1_FIELDS: tuple[str, ...] = (
	"channel",
	"action",
	"event_date",
	"event_time",
	"method",
	"recorded_by",
	"recorded_at",
	"source",
	"note",
	"message_id",
	"honour_by",
)
# Scheme 2 adds what the record is about (its normalised address, the "subject", read from the record)
# and the row's phone type and entry time zone.
SCHEME_2_FIELDS: tuple[str, ...] = (*SCHEME_1_FIELDS, "entered_tz", "phone_type")
# Scheme 3 adds the original operator as given (apart from ``recorded_by``, who entered the row) and the
# consent wording the consent was given under: its version's name and the hash of its text.
SCHEME_3_FIELDS: tuple[str, ...] = (*SCHEME_2_FIELDS, "operator", "wording", "wording_hash")
# Scheme 4 adds the Consent Purpose the row was recorded for and what a revocation covers (its scope).
SCHEME_4_FIELDS: tuple[str, ...] = (*SCHEME_3_FIELDS, "purpose", "scope")


class Unreadable(ValueError):
	"""A stored value that cannot be read as its field's type (itself a sign of tampering)."""


def _get(row, fieldname: str):
	if isinstance(row, dict):  # a dict or a frappe._dict, the common case: no abstract base class check
		return row.get(fieldname)
	return row.get(fieldname) if isinstance(row, Mapping) or hasattr(row, "get") else getattr(row, fieldname)


def _set(row, fieldname: str, value) -> None:
	if isinstance(row, dict):
		row[fieldname] = value
	else:
		setattr(row, fieldname, value)


def canonical(kind: str, value) -> str:
	"""One text form of ``value`` whether it comes from the database or from JSON. Empty is ``""``."""
	if value is None or value == "":
		return ""
	# the forms the database returns, first and without the general path's conversions (same text)
	form = type(value)
	if form is str and kind == _TEXT:
		return value
	if form is dt.date and kind == _DATE:
		return value.isoformat()
	if form is dt.datetime and kind == _DATETIME and value.tzinfo is None:
		return value.strftime("%Y-%m-%d %H:%M:%S.%f")
	if form is dt.timedelta and kind == _TIME:
		micro = (value.days * 86400 + value.seconds) * 1_000_000 + value.microseconds
		if 0 <= micro < 86400 * 1_000_000:  # else the general path refuses it
			seconds, micro = divmod(micro, 1_000_000)
			return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}.{micro:06d}"
	if kind == _TEXT:
		return str(value)
	if kind == _DATE:
		if isinstance(value, dt.datetime):
			return value.date().isoformat()
		if isinstance(value, dt.date):
			return value.isoformat()
		try:
			return dt.date.fromisoformat(str(value).strip()[:10]).isoformat()
		except ValueError:
			raise Unreadable(value) from None
	if kind == _TIME:
		return _time(value).strftime("%H:%M:%S.%f")
	if kind == _DATETIME:
		if isinstance(value, dt.datetime):
			at = value
		elif isinstance(value, dt.date):
			at = dt.datetime.combine(value, dt.time())
		else:
			try:
				at = dt.datetime.fromisoformat(str(value).strip())
			except ValueError:
				raise Unreadable(value) from None
		return at.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")
	raise ValueError(kind)


def _time(value) -> dt.time:
	"""A time from any form a row may hold it in (the engine's parser, plus datetimes)."""
	if isinstance(value, dt.datetime):
		return value.time()
	try:
		return parse_time(value if isinstance(value, dt.time | dt.timedelta) else str(value))
	except Refused:
		raise Unreadable(value) from None


def serialise(
	scheme: int, fields: tuple[str, ...], row, doctype: str, name: str, prev_hash: str, subject=None
):
	"""The bytes a scheme hashes: a JSON array, so no value can spill into the next field."""
	values = [["scheme", scheme], ["parenttype", str(doctype)], ["parent", str(name)]]
	if scheme >= 2:
		values.append(["subject", str(subject or "")])
	values += [[field, canonical(EVIDENCE[field], _get(row, field))] for field in fields]
	values.append(["prev_hash", prev_hash or ""])
	return json.dumps(values, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def hash_v1(row, doctype: str, name: str, prev_hash: str, subject=None) -> str:
	"""Scheme 1: the row's evidence and its record's name; not what the record is about."""
	return hashlib.sha256(serialise(1, SCHEME_1_FIELDS, row, doctype, name, prev_hash)).hexdigest()


def hash_v2(row, doctype: str, name: str, prev_hash: str, subject=None) -> str:
	"""Scheme 2: scheme 1 plus the record's normalised address, the row's phone type and entry zone."""
	return hashlib.sha256(serialise(2, SCHEME_2_FIELDS, row, doctype, name, prev_hash, subject)).hexdigest()


def hash_v3(row, doctype: str, name: str, prev_hash: str, subject=None) -> str:
	"""Scheme 3: scheme 2 plus the original operator and the consent wording (name and text hash)."""
	return hashlib.sha256(serialise(3, SCHEME_3_FIELDS, row, doctype, name, prev_hash, subject)).hexdigest()


def hash_v4(row, doctype: str, name: str, prev_hash: str, subject=None) -> str:
	"""Scheme 4: scheme 3 plus the row's Consent Purpose and its revocation scope."""
	return hashlib.sha256(serialise(4, SCHEME_4_FIELDS, row, doctype, name, prev_hash, subject)).hexdigest()


# Every scheme ever used, by number. Add new schemes here; never change or remove an old one.
SCHEMES: dict[int, Callable[..., str]] = {1: hash_v1, 2: hash_v2, 3: hash_v3, 4: hash_v4}


def row_hash(row, doctype: str, name: str, prev_hash: str, scheme: int = CURRENT_SCHEME, subject=None) -> str:
	"""The hash of ``row`` of record ``doctype`` ``name`` (about ``subject``, its normalised address)
	chained to ``prev_hash`` under ``scheme``."""
	return SCHEMES[scheme](row, doctype, name, prev_hash or "", subject)


def seal(
	rows: Iterable,
	doctype: str,
	name: str,
	prev_hash: str | None = "",
	scheme: int = CURRENT_SCHEME,
	subject: str | None = None,
) -> str:
	"""Set ``hash_scheme``, ``prev_hash`` and ``row_hash`` on ``rows`` (new rows of one record, in order).

	``prev_hash`` is the ``row_hash`` of the record's last row already stored ("" when there is none).
	Call it after every evidence field of the rows is final. Returns the hash of the last row sealed, to
	chain the next batch to. Works on dicts and on Frappe child documents alike.
	"""
	prev = prev_hash or ""
	for row in rows:
		current = row_hash(row, doctype, name, prev, scheme, subject)
		_set(row, "hash_scheme", scheme)
		_set(row, "prev_hash", prev)
		_set(row, "row_hash", current)
		prev = current
	return prev


@dataclass(frozen=True)
class Break:
	"""The first row of a record's log where the chain does not hold."""

	idx: int | None  # the row's position as stored (None: the log as a whole)
	row: str | None  # the row's name
	code: str
	message: str  # untranslated template; ``args`` fill it
	args: tuple = ()

	def text(self) -> str:
		return self.message.format(*self.args)


def verify(rows: Sequence, doctype: str, name: str, subject: str | None = None) -> Break | None:
	"""Walk ``rows`` (one record's log, in stored ``idx`` order) and return the first break, or None.

	Detected: an edited evidence field or hash (the row's hash no longer matches), a deleted, inserted or
	reordered row (the row does not chain to the row before it, or positions are not 1, 2, 3 ...), a row
	moved from another record (the record is part of the hash), a record whose address was changed under
	rows of scheme 2 (``subject`` is part of their hash), an unknown scheme and a row never sealed.
	"""
	prev = ""
	for position, row in enumerate(rows, 1):
		broken = check_row(row, position, prev, doctype, name, subject)
		if broken is not None:
			return broken
		prev = _get(row, "row_hash") or ""
	return None


def check_row(row, position: int, prev: str, doctype: str, name: str, subject: str | None) -> Break | None:
	"""The break at one row, given its position in the log and the hash of the row before it."""
	idx = _int(_get(row, "idx"))
	row_name = _get(row, "name")
	scheme = _int(_get(row, "hash_scheme"))
	stored_hash = _get(row, "row_hash") or ""
	if not scheme and not stored_hash:
		message = _("Row {0} carries no hash: it was not written by a consent action.")
		return Break(idx, row_name, "unsealed", message, (idx,))
	if scheme not in SCHEMES:
		message = _("Row {0} claims hash scheme {1}, which does not exist.")
		return Break(idx, row_name, "unknown_scheme", message, (idx, scheme))
	if idx != position:
		message = _("Row {0} is found at position {1} of the log: rows were deleted or reordered.")
		return Break(idx, row_name, "position", message, (idx, position))
	if (_get(row, "prev_hash") or "") != prev:
		message = _("Row {0} does not follow the row before it: a row was deleted, inserted or reordered.")
		return Break(idx, row_name, "link", message, (idx,))
	try:
		expected = row_hash(row, doctype, name, prev, scheme, subject)
	except Unreadable:
		expected = None
	if expected != stored_hash:
		message = _("Row {0} was changed after it was recorded: its content no longer matches its hash.")
		return Break(idx, row_name, "edited", message, (idx,))
	return None


def _int(value) -> int:
	try:
		return int(value or 0)
	except (TypeError, ValueError):
		return -1


def verify_state(doctype: str, record: Mapping, rows: Sequence, policy: Policy | None = None) -> Break | None:
	"""A break when the record's consent fields differ from what replaying its log gives.

	The chain cannot tell that its last rows were deleted; the record's fields can, because every action
	that changes them is logged. Only the fields the consent actions own are compared.
	"""
	try:
		replayed = replay(doctype, rows, policy or Policy())
	except (Refused, KeyError, ValueError):
		return Break(None, None, "state", _("The log cannot be replayed: a row holds an unreadable value."))
	for field in owned_fields(doctype):
		kind = _DATE if field.endswith("_date") else _TEXT
		want, have = replayed.get(field), record.get(field)
		if field.endswith("_opt"):
			want, have = _int(want), _int(have)
		else:
			want, have = canonical(kind, want), canonical(kind, have)
		if want != have:
			return Break(
				None,
				None,
				"state",
				_("{0} is {1} but the log gives {2}: log rows were deleted or the field was edited."),
				(field, have if have != "" else _("empty"), want if want != "" else _("empty")),
			)
	return None
