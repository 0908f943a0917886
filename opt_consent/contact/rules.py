"""Which consent records a party (a Contact) needs: one per distinct normalised number or address.

Pure Python: no ``import frappe``. The Frappe adapter (``contact/adapter.py``) reads the Contact's tables,
passes the normaliser, then finds or creates the records this plans.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from opt_consent.model.channels import CELL, EMAIL, PHONE
from opt_consent.model.messages import Refused

# The type a number gets when the Contact does not say it is a mobile: staff correct it on the record.
OTHER = "Other"


@dataclass(frozen=True)
class Wanted:
	"""One record the party needs: its doctype, normalised key, address as typed, and the type a new one
	gets (None: the doctype's default, e.g. an Email's)."""

	doctype: str
	key: str
	address: str
	record_type: str | None


@dataclass(frozen=True)
class Skipped:
	"""An address on the party that has no record: the refusal says why (not a valid number, ...)."""

	doctype: str
	address: str
	refusal: Refused


def plan(
	phones: Iterable[tuple[str, bool]],
	emails: Iterable[str],
	normalize: Callable[[str, str], str],
) -> tuple[list[Wanted], list[Skipped]]:
	"""The records a party with these ``phones`` (number, is mobile) and ``emails`` needs, one per key.

	A number listed twice is one record, a Cell if any of its rows is a mobile; empty entries are ignored;
	an address ``normalize(doctype, address)`` refuses is skipped, with the refusal.
	"""
	wanted: dict[tuple[str, str], Wanted] = {}
	skipped: list[Skipped] = []
	keys: dict[tuple[str, str], str | None] = {}  # each address is normalised once

	def add(doctype: str, address: str, record_type: str | None) -> None:
		address = (address or "").strip()
		if not address:
			return
		if (doctype, address) not in keys:
			try:
				keys[(doctype, address)] = normalize(doctype, address)
			except Refused as refusal:
				keys[(doctype, address)] = None
				skipped.append(Skipped(doctype, address, refusal))
		key = keys[(doctype, address)]
		if key is None:
			return
		known = wanted.get((doctype, key))
		if known is None or (record_type == CELL and known.record_type != CELL):
			wanted[(doctype, key)] = Wanted(doctype, key, known.address if known else address, record_type)

	for number, is_mobile in phones:
		add(PHONE, number, CELL if is_mobile else OTHER)
	for address in emails:
		add(EMAIL, address, None)
	return list(wanted.values()), skipped
