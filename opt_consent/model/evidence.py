"""The one description of an Opt Log row: its evidence fields and their kinds, its seal, its bookkeeping.

The controllers' guards, the hash chain, the integrity check, the gate and the set-based writers all read
these lists; the ``Opt Log`` doctype carries the fields. Pure Python: no ``import frappe``.
"""

from __future__ import annotations

# How a value is canonicalised for hashing and compared by the guards.
TEXT, DATE, TIME, DATETIME, INT = "text", "date", "time", "datetime", "int"

# Every evidence field of a row, with its kind. A field added here is added to the doctype, and to the
# fields of a new hash scheme (an existing scheme's fields never change: see opt_consent.ledger.rules.chain).
EVIDENCE: dict[str, str] = {
	"channel": TEXT,
	"action": TEXT,
	"event_date": DATE,
	"event_time": TIME,
	"entered_tz": TEXT,  # the time zone the operator entered the date and time in
	"method": TEXT,
	"recorded_by": TEXT,
	"recorded_at": DATETIME,
	"source": TEXT,
	"note": TEXT,
	"message_id": TEXT,
	"honour_by": DATE,
	"phone_type": TEXT,  # the record's type when the row was recorded
	"operator": TEXT,  # the original operator as given (e.g. by a history import); recorded_by entered it
	"wording": TEXT,  # the Consent Wording version the consent was given under
	"wording_hash": TEXT,  # sha256 hex of that version's text (opt_consent.ledger.rules.wording.text_hash)
	"purpose": TEXT,  # the Consent Purpose the action was recorded for (none: before purposes existed)
	"scope": TEXT,  # what a revocation covers: "" its purpose, "All Purposes" every purpose of its channel
}
EVIDENCE_FIELDS: tuple[str, ...] = tuple(EVIDENCE)

# The seal of a row (opt_consent.ledger.rules.chain).
SEAL_FIELDS: tuple[str, ...] = ("hash_scheme", "prev_hash", "row_hash")

# What a row stores besides evidence and seal: Frappe's child-row bookkeeping.
META_FIELDS: tuple[str, ...] = (
	"name",
	"creation",
	"modified",
	"modified_by",
	"owner",
	"docstatus",
	"idx",
	"parent",
	"parenttype",
	"parentfield",
)

# What the chain verifier reads of a stored row.
VERIFY_FIELDS: tuple[str, ...] = ("name", "idx", *SEAL_FIELDS, *EVIDENCE_FIELDS)

# What the gate reads to replay a record's log.
REPLAY_FIELDS: tuple[str, ...] = (
	"parent",
	"idx",
	"channel",
	"action",
	"event_date",
	"event_time",
	"method",
	"purpose",
	"scope",
)

LOG_DOCTYPE = "Opt Log"
LOG_TABLE_FIELD = "opt_logs"
