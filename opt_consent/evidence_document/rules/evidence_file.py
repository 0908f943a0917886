"""The evidence file (the *JSON twin* of an evidence document) and its offline verification.

A consent record's evidence is exported as one JSON document (see ``docs/VERIFY-EVIDENCE.md``) that
carries everything its log's hash chain covers: the record's doctype and name, its normalised address
(the *subject* of scheme 2 and later), and every log row with its evidence fields, ``hash_scheme``,
``prev_hash`` and ``row_hash``. :func:`verify` recomputes the chain from the file alone with
:mod:`opt_consent.ledger.rules.chain`, so a third party needs this package's pure core and Python, not Frappe::

    python -m opt_consent.evidence_document.rules.evidence_file verify evidence.json

Pure Python: no ``import frappe``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import zipfile
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

from opt_consent.ledger.rules import chain
from opt_consent.model.evidence import EVIDENCE, EVIDENCE_FIELDS, SEAL_FIELDS
from opt_consent.model.messages import _

# What a file says it is; a later incompatible layout gets a new number.
FORMAT = "opt_consent.evidence"
FORMAT_VERSION = 1

# What every row of the file carries besides its evidence fields.
ROW_KEYS: tuple[str, ...] = ("name", "idx", *SEAL_FIELDS)


def dumps(document: Mapping) -> bytes:
	"""The file's bytes: UTF-8 JSON, keys sorted, one-space indent. Its SHA-256 is the one the export logs."""
	return (json.dumps(document, ensure_ascii=False, sort_keys=True, indent=1) + "\n").encode("utf-8")


def sha256(data: bytes) -> str:
	return hashlib.sha256(data).hexdigest()


def scheme_fields(scheme: int) -> tuple[str, ...]:
	"""The evidence fields a scheme hashes, as :mod:`opt_consent.ledger.rules.chain` freezes them."""
	return tuple(getattr(chain, f"SCHEME_{scheme}_FIELDS", None) or ())


def schemes() -> dict[str, list[str]]:
	"""Every scheme this verifier knows with the fields it covers (written into the file for readers)."""
	return {str(n): list(scheme_fields(n)) for n in sorted(chain.SCHEMES)}


def file_row(row: Mapping) -> dict:
	"""A stored log row as the file carries it: bookkeeping, seal, and every evidence field in the
	canonical text form the chain hashes (a date ``YYYY-MM-DD``, a time ``HH:MM:SS.ffffff``, empty ``""``).
	A field the row does not have (an older database) is left out, so the verifier says it is missing."""
	out = {
		"name": row.get("name"),
		"idx": int(row.get("idx") or 0),
		"hash_scheme": int(row.get("hash_scheme") or 0),
		"prev_hash": row.get("prev_hash") or "",
		"row_hash": row.get("row_hash") or "",
	}
	for fieldname in EVIDENCE_FIELDS:
		if fieldname in row:
			try:
				out[fieldname] = chain.canonical(EVIDENCE[fieldname], row.get(fieldname))
			except chain.Unreadable:
				out[fieldname] = str(row.get(fieldname))
	return out


@dataclass
class Verdict:
	"""The outcome of verifying a file: ``ok``, or the first broken row and why."""

	ok: bool
	rows: int = 0
	head_hash: str = ""
	code: str = ""
	idx: int | None = None
	row: str | None = None
	message: str = ""
	notes: list[str] = field(default_factory=list)

	def as_dict(self) -> dict:
		return asdict(self)


def _broken(code: str, message: str, *args, idx=None, row=None, rows: int = 0) -> Verdict:
	return Verdict(False, rows=rows, code=code, idx=idx, row=row, message=message.format(*args))


def load(source) -> dict:
	"""The file's document from a path, bytes, text or an already parsed dict."""
	if isinstance(source, Mapping):
		return dict(source)
	if isinstance(source, bytes | bytearray):
		return json.loads(bytes(source).decode("utf-8"))
	path = Path(source)
	return json.loads(path.read_text(encoding="utf-8"))


def verify(source) -> Verdict:
	"""Recompute the log's hash chain of an evidence file from the file alone.

	``source``: the parsed document, or a path to the file. Checks, in order: the file's layout; that
	every row carries every field its scheme hashes; the chain (:func:`opt_consent.ledger.rules.chain.verify`:
	each row's hash recomputed, each row linked to the one before, positions 1, 2, 3 ...); that the file's
	row count and head hash match its rows. The first problem found is returned.
	"""
	try:
		document = load(source)
	except (OSError, ValueError) as error:
		return _broken("unreadable", _("The file cannot be read as JSON: {0}"), error)
	broken = _layout_broken(document)
	if broken is not None:
		return broken
	sealed, rows = document["chain"], document["log"]
	broken = _fields_broken(rows) or _chain_broken(sealed, rows) or _totals_broken(sealed, rows)
	if broken is not None:
		return broken
	verdict = Verdict(True, rows=len(rows), head_hash=rows[-1]["row_hash"] if rows else "")
	verdict.notes.extend(_wording_notes(document, rows))
	return verdict


def _layout_broken(document) -> Verdict | None:
	"""The file's layout: an evidence file of this version, with a chain naming its record and a log."""
	if not isinstance(document, Mapping) or document.get("format") != FORMAT:
		return _broken("format", _("This is not an opt_consent evidence file."))
	if document.get("format_version") != FORMAT_VERSION:
		return _broken(
			"format",
			_("Evidence file version {0} is not known to this verifier (it reads version {1})."),
			document.get("format_version"),
			FORMAT_VERSION,
		)
	sealed = document.get("chain")
	rows = document.get("log")
	if not isinstance(sealed, Mapping) or not isinstance(rows, list):
		return _broken("format", _("The file has no chain or no log."))
	for key in ("parenttype", "parent", "subject"):
		if not isinstance(sealed.get(key), str):
			return _broken("missing", _("The chain's {0} is missing."), key)
	return None


def _fields_broken(rows: list) -> Verdict | None:
	"""Every row an object carrying every field its scheme hashes."""
	for position, row in enumerate(rows, 1):
		if not isinstance(row, Mapping):
			return _broken("format", _("Row {0} is not an object."), position, idx=position, rows=len(rows))
		scheme = row.get("hash_scheme")
		needed = [*ROW_KEYS, *(scheme_fields(scheme) if isinstance(scheme, int) else ())]
		missing = [key for key in needed if key not in row]
		if missing:
			return _broken(
				"missing",
				_("Row {0} lacks {1}: the file is incomplete or was altered."),
				row.get("idx", position),
				", ".join(missing),
				idx=row.get("idx", position),
				row=row.get("name"),
				rows=len(rows),
			)
	return None


def _chain_broken(sealed: Mapping, rows: list) -> Verdict | None:
	"""The chain recomputed (:func:`opt_consent.ledger.rules.chain.verify`) for the record the file names."""
	broken = chain.verify(rows, sealed["parenttype"], sealed["parent"], sealed["subject"])
	if broken is None:
		return None
	return Verdict(
		False,
		rows=len(rows),
		code=broken.code,
		idx=broken.idx,
		row=broken.row,
		message=broken.text(),
	)


def _totals_broken(sealed: Mapping, rows: list) -> Verdict | None:
	"""The file's row count and head hash are its rows'."""
	head = rows[-1]["row_hash"] if rows else ""
	if sealed.get("rows") != len(rows):
		return _broken(
			"count",
			_("The file says the log has {0} rows but carries {1}: rows were removed or added."),
			sealed.get("rows"),
			len(rows),
			rows=len(rows),
		)
	if (sealed.get("head_hash") or "") != head:
		return _broken(
			"head",
			_("The file's head hash {0} is not its last row's hash {1}."),
			sealed.get("head_hash") or _("(empty)"),
			head or _("(empty)"),
			rows=len(rows),
		)
	return None


def _wording_notes(document: Mapping, rows: list) -> list[str]:
	"""Where the file carries a wording's text, say whether it matches the hash sealed into its rows."""
	wordings = document.get("wordings") or {}
	notes = []
	for name, wording in sorted(wordings.items()):
		text = wording.get("text") if isinstance(wording, Mapping) else None
		sealed = {row.get("wording_hash") for row in rows if row.get("wording") == name} - {"", None}
		if text is None or not sealed:
			continue
		digest = sha256(str(text).encode("utf-8"))
		if sealed == {digest}:
			notes.append(_("Wording {0}: its text matches the hash sealed in the log.").format(name))
		else:
			notes.append(
				_("Wording {0}: its text does not match the hash sealed in the log ({1}).").format(
					name, ", ".join(sorted(sealed))
				)
			)
	return notes


def main(argv: list[str] | None = None) -> int:
	"""``verify FILE [--sha256 HEX]``: exit 0 when the chain holds, 1 when it does not, 2 on bad input.

	FILE is one JSON twin, or a zip of them (a Contact's evidence: each is verified)."""
	parser = argparse.ArgumentParser(
		prog="python -m opt_consent.evidence_document.rules.evidence_file",
		description="Verify an opt_consent evidence file (the JSON twin of an evidence document) offline.",
	)
	commands = parser.add_subparsers(dest="command", required=True)
	check = commands.add_parser("verify", help="recompute the log's hash chain from the file alone")
	check.add_argument("file")
	check.add_argument("--sha256", help="the SHA-256 the Evidence Export logged for this file")
	args = parser.parse_args(argv)

	try:
		data = Path(args.file).read_bytes()
	except OSError as error:
		print(f"cannot read {args.file}: {error}", file=sys.stderr)
		return 2
	if zipfile.is_zipfile(args.file):
		# a Contact's evidence: one JSON twin per record
		with zipfile.ZipFile(args.file) as archive:
			members = [m for m in archive.namelist() if m.endswith(".json")]
			if not members:
				print("BROKEN: the zip holds no evidence file.")
				return 2
			worst = 0
			for member in members:
				worst = max(worst, report(member, archive.read(member), None))
				print()
			return worst
	return report(args.file, data, args.sha256)


def report(label: str, data: bytes, expected_sha256: str | None) -> int:
	"""Print the verdict on one file's bytes; the exit status it deserves."""
	digest = sha256(data)
	print(f"file:      {label}")
	print(f"sha256:    {digest}")
	if expected_sha256 and expected_sha256.strip().lower() != digest:
		print(f"BROKEN: the file's SHA-256 is not the logged {expected_sha256}: the file was changed.")
		return 1
	verdict = verify(data)
	if verdict.code in ("unreadable", "format"):
		print(f"BROKEN: {verdict.message}")
		return 2
	document = load(data)
	record = document.get("chain") or {}
	print(f"record:    {record.get('parenttype')} {record.get('parent')} ({record.get('subject')})")
	print(f"rows:      {verdict.rows}")
	if not verdict.ok:
		where = f" (row {verdict.idx}, {verdict.row})" if verdict.idx is not None else ""
		print(f"BROKEN{where}: {verdict.message}")
		return 1
	print(f"head hash: {verdict.head_hash or '(empty log)'}")
	for note in verdict.notes:
		print(f"note:      {note}")
	print("OK: every row's hash recomputes and the chain is unbroken.")
	return 0


if __name__ == "__main__":
	sys.exit(main())
