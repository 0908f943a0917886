"""Refusals of the pure rules, and the marker that lets Frappe's extractor find their messages.

Pure Python: no ``import frappe``. Messages are English templates with ``{0}`` placeholders, wrapped in
the no-op :func:`_`; the Frappe adapters translate them with ``frappe._`` at the edge.
"""

from __future__ import annotations


def _(message: str) -> str:
	"""Mark a message for translation. The adapter translates it with ``frappe._`` at the edge."""
	return message


class Refused(Exception):
	"""An action the rules do not allow. ``message`` is an untranslated template, ``args`` fill it."""

	def __init__(self, code: str, message: str, *args):
		super().__init__(message.format(*args))
		self.code = code
		self.message = message
		self.args_ = args
