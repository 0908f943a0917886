"""Which purposes a log row speaks for: the one rule the engine's replay and the purposes' state share.

Pure Python: no ``import frappe``. See :mod:`opt_consent.ledger.rules.purposes` for the law it applies.
"""

from __future__ import annotations

from collections.abc import Mapping

from opt_consent.model import channels

# The scope a log row's revocation covers: "" the row's purpose only, ALL every purpose of its channel.
ALL = "All Purposes"


def is_default(row_purpose: str | None, default: str | None) -> bool:
	"""A row's purpose is the default one: named so, or named none (written before purposes existed)."""
	return not row_purpose or row_purpose == default


def covers(row: Mapping, purpose: str, default: str | None) -> bool:
	"""Whether log ``row`` speaks for ``purpose``: it was recorded for it (a row naming no purpose is the
	default's), or it is a revocation of every purpose of its channel."""
	row_purpose = row.get("purpose")
	if row_purpose == purpose or (not row_purpose and purpose == default):
		return True
	return row.get("scope") == ALL and row.get("action") == channels.OPT_OUT


def covers_default(row: Mapping, default: str | None) -> bool:
	"""Whether ``row`` changes the record's own consent fields (the default purpose's state)."""
	if default is None:
		return True  # no purposes given: every row is the record's, as before purposes existed
	return covers(row, default, default)


def blocks_record(row: Mapping, default: str | None) -> bool:
	"""Whether an opt out in ``row`` may set the record's Active and Do Not Call / Do Not Email (as the
	policy says): only a revocation of every purpose, or one written before purposes existed. A revocation
	of one purpose among several leaves the record open to the others."""
	if default is None or not row.get("purpose"):
		return True
	return row.get("scope") == ALL
