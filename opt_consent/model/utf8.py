"""Where a file stops being UTF-8: the line and the byte offset of its first byte that is not.

The readers of uploaded CSVs (:mod:`opt_consent.history.rules`, :mod:`opt_consent.scrub.rules`)
read a block at a time; a decoding error of a block says nothing of the line it is on. :class:`Checker` is
fed the raw bytes as they are read and finds the first bad byte exactly, whatever block it falls in, and
whether a character is cut across two blocks or the file ends inside one.

Pure Python: no ``import frappe``.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass


@dataclass(frozen=True)
class BadByte:
	"""The first byte of the stream that is not UTF-8: the line it is on (from 1) and its offset (from 0)."""

	line: int
	offset: int


class Checker:
	"""Checks a byte stream block by block. :meth:`feed` returns the :class:`BadByte` of the first byte that
	is not UTF-8 (None while all is well); call it with ``final`` at the end of the stream (a character cut
	off by the end is bad too). A byte order mark is UTF-8."""

	def __init__(self):
		self.decoder = codecs.getincrementaldecoder("utf-8")()
		self.offset = 0  # bytes fed and found good (or held as the start of a character)
		self.lines = 0  # newlines among them

	def feed(self, data: bytes, final: bool = False) -> BadByte | None:
		held = len(self.decoder.getstate()[0])  # the start of a character cut at the last block's end
		try:
			self.decoder.decode(data, final)
		except UnicodeDecodeError as error:
			# the error counts from the bytes held back, then this block's
			bad = self.offset - held + error.start
			return BadByte(self.lines + data[: max(bad - self.offset, 0)].count(b"\n") + 1, bad)
		self.offset += len(data)
		self.lines += data.count(b"\n")
		return None


def refusal(refused: type, code: str, bad: BadByte, message: str):
	"""The reader's own refusal (``refused``, a :class:`opt_consent.model.messages.Refused`) of a file that is
	not UTF-8: ``message`` (untranslated, ``{0}`` the line, ``{1}`` the byte offset) filled from ``bad``."""
	return refused(code, message, bad.line, bad.offset)
