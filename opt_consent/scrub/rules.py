"""The list a Contact Scrub reads and the list it writes back: CSV in, CSV out, streamed.

The input is a CSV of numbers or email addresses: one column (a header is optional), or several columns one
of which is named address, number, phone, mobile or email (then the header is needed). The file must be
UTF-8 (a byte order mark is fine); anything else, a malformed CSV or a file over the limit is refused with
:class:`~opt_consent.model.messages.Refused` before a row is answered.

:func:`read_addresses` yields the addresses one by one while reading the file a block at a time, so a
scrub holds one chunk of addresses in memory, never the file. :func:`result_row` is one row of the result.

Pure Python: no ``import frappe``. :mod:`opt_consent.scrub.adapter` runs the scrub.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator

from opt_consent.model import utf8
from opt_consent.model.messages import Refused, _

# The header names an address column may have (lower case; spaces, hyphens and dots read as "_").
PHONE_NAMES = ("phone", "number", "phone_number", "mobile", "mobile_number", "cell", "telephone")
EMAIL_NAMES = ("email", "email_address", "e_mail")
GENERIC_NAMES = ("address",)
# An address longer than this is no number or email address; it is answered invalid, and cut in the result.
MAX_ADDRESS = 320
BLOCK = 1 << 16

RESULT_COLUMNS = ("address", "allowed", "reason", "reason_label", "rule", "next_allowed_at")


class FileRefused(Refused):
	"""The file as a whole cannot be scrubbed (nothing is answered)."""


def header_key(cell: str) -> str:
	key = cell.strip().lstrip("\ufeff").strip().lower()
	for char in " -.":
		key = key.replace(char, "_")
	return key


def address_column(header: list[str], email: bool) -> int | None:
	"""The index of the address column in ``header``, the channel's own name first; None: none named."""
	keys = [header_key(cell) for cell in header]
	preferred = (EMAIL_NAMES if email else PHONE_NAMES) + GENERIC_NAMES
	for name in preferred:
		if name in keys:
			return keys.index(name)
	return None


def looks_like_header(cell: str) -> bool:
	"""A lone first cell that cannot be an address (no digit, no @) is a header, whatever its name."""
	text = cell.strip()
	return bool(text) and not any(c.isdigit() for c in text) and "@" not in text


class Utf8Stream(io.TextIOBase):
	"""A text stream over a binary one, decoded a block at a time; refuses bad UTF-8 (or a NUL) with the
	line and byte offset of its first bad byte, and a stream that passes ``max_bytes`` as soon as it does
	(without reading the rest)."""

	def __init__(self, binary, max_bytes: int | None = None):
		self.binary = binary
		self.max_bytes = max_bytes
		self.read_bytes = 0
		self.decoder = codecs.getincrementaldecoder("utf-8-sig")()
		self.utf8 = utf8.Checker()
		self.buffer = ""
		self.lines_done = 0
		self.eof = False

	def readable(self) -> bool:
		return True

	def _fill(self) -> None:
		block = self.binary.read(BLOCK)
		if not block:
			self.eof = True
			if bad := self.utf8.feed(b"", final=True):
				raise not_utf8(bad)
			self.buffer += self.decoder.decode(b"", final=True)
			return
		self.read_bytes += len(block)
		if self.max_bytes is not None and self.read_bytes > self.max_bytes:
			raise FileRefused(
				"too_large", _("The file is larger than the limit of {0} MB."), max(self.max_bytes >> 20, 1)
			)
		lines_before, offset_before = self.utf8.lines, self.utf8.offset
		if bad := self.utf8.feed(block):
			raise not_utf8(bad)
		text = self.decoder.decode(block)
		if b"\x00" in block:  # UTF-16 ("Unicode text") or a binary file: valid UTF-8 bytes, not a CSV
			at = block.index(b"\x00")
			raise not_utf8(utf8.BadByte(lines_before + block[:at].count(b"\n") + 1, offset_before + at))
		self.buffer += text

	def readline(self, size: int = -1) -> str:
		while "\n" not in self.buffer and not self.eof:
			self._fill()
		cut = self.buffer.find("\n")
		if cut < 0:
			line, self.buffer = self.buffer, ""
		else:
			line, self.buffer = self.buffer[: cut + 1], self.buffer[cut + 1 :]
		self.lines_done += 1
		return line

	def __iter__(self):
		return self

	def __next__(self) -> str:
		line = self.readline()
		if not line:
			raise StopIteration
		return line


def not_utf8(bad: utf8.BadByte) -> FileRefused:
	message = _(
		"The file is not UTF-8 text: line {0} holds its first byte that is not (at byte offset {1}). "
		"Save it as CSV UTF-8 and attach it again."
	)
	return utf8.refusal(FileRefused, "not_utf8", bad, message)


def delimiter_of(first_line: str) -> str:
	"""Comma; a semicolon or a tab when the first line has one of those and no comma (spreadsheets in many
	locales save CSV with semicolons)."""
	if "," in first_line:
		return ","
	for candidate in (";", "\t"):
		if candidate in first_line:
			return candidate
	return ","


def read_addresses(binary, email: bool, max_bytes: int | None = None) -> Iterator[str]:
	"""Every address of the file, in order (blank lines skipped; an empty cell in the address column is
	an empty address, answered invalid). :class:`FileRefused` for a file that cannot be read."""
	stream = Utf8Stream(binary, max_bytes)
	first = stream.readline()
	while first and not first.strip():
		first = stream.readline()
	if not first.strip():
		raise FileRefused("empty", _("The file is empty: it needs at least one address."))

	def lines():
		yield first
		yield from stream

	reader = csv.reader(lines(), delimiter=delimiter_of(first), strict=True)
	try:
		header = next(reader)
		cells = list(header)
		if len(cells) == 1:
			column = 0
			named = address_column(cells, email) is not None or looks_like_header(cells[0])
			if not named:
				yield cells[0].strip()[:MAX_ADDRESS]
		else:
			column = address_column(cells, email)
			if column is None:
				raise FileRefused(
					"no_address_column",
					_(
						"The file has {0} columns and none is named address, number, phone, mobile or email. "
						"Name the column of addresses in the first row, or attach a file of one column."
					),
					len(cells),
				)
		for row in reader:
			if not row or all(not cell.strip() for cell in row):
				continue
			yield (row[column] if column < len(row) else "").strip()[:MAX_ADDRESS]
	except csv.Error as error:
		raise FileRefused(
			"malformed", _("The file is not valid CSV near line {0}: {1}."), reader.line_num, str(error)[:200]
		) from None


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
PHONE_CHARS = set("0123456789 +-().")


def safe_cell(value: str) -> str:
	"""A cell a spreadsheet will not run as a formula: one starting with = + - @ (other than a number
	like +44 7400 000001) is prefixed with an apostrophe."""
	if value and value.startswith(FORMULA_START) and not (value[0] in "+-" and set(value) <= PHONE_CHARS):
		return "'" + value
	return value


def result_row(
	address: str, allowed: bool, reason: str, reason_label: str, rule: str | None, next_allowed_at: str
) -> list[str]:
	"""One row of the result CSV, in :data:`RESULT_COLUMNS` order."""
	return [
		safe_cell(address),
		"1" if allowed else "0",
		reason,
		safe_cell(reason_label),
		safe_cell(rule or ""),
		next_allowed_at,
	]
