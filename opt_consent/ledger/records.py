"""The shared controller of Phone and Email: consent fields and the log are owned by the consent actions."""

from __future__ import annotations

import frappe
from frappe import _
from frappe.model.document import Document
from frappe.utils import cint, cstr, get_datetime, getdate

from opt_consent.ledger import settings
from opt_consent.ledger.log import LOG_WINDOW, count_log_rows, last_event, log_rows
from opt_consent.ledger.refusals import refuse
from opt_consent.ledger.rules import engine
from opt_consent.model.channels import (
	OPT_OUT,
	RECORDS,
	channels_of,
	derived_fields,
	initial_state,
	owned_fields,
)
from opt_consent.model.evidence import EVIDENCE_FIELDS, LOG_DOCTYPE, LOG_TABLE_FIELD, SEAL_FIELDS

# What the guards compare of a log row: its evidence and its seal.
LOG_FIELDS = (*EVIDENCE_FIELDS, *SEAL_FIELDS)


class ConsentTamperError(frappe.ValidationError):
	"""A save tried to change consent fields or the log outside a consent action."""


class ConsentRecord(Document):
	"""Base of Phone and Email; what each is addressed by comes from the channel description."""

	@property
	def address_field(self) -> str:
		return RECORDS[self.doctype].address_field

	@property
	def key_field(self) -> str:
		return RECORDS[self.doctype].key_field

	def load_children_from_db(self):
		"""Load only the newest ``LOG_WINDOW`` log rows: a record with a long history stays cheap to open and save."""
		self.set(LOG_TABLE_FIELD, log_rows(self.doctype, self.name, limit=LOG_WINDOW))
		return self

	def load_from_db(self):
		"""The one seam between Frappe versions for loading the log window.

		Frappe 16 loads a record's children in ``load_children_from_db``, overridden above. Frappe 15 has no
		such method: its ``load_from_db`` reads every child row, ``FOR UPDATE`` when the record is locked
		(whose gap locks on the log's index block actions on other records). There the log table is left
		out of that read, and the window is loaded the same way afterwards.
		"""
		if hasattr(Document, "load_children_from_db"):
			return super().load_from_db()
		self.flags.leave_log_unloaded = True
		try:
			super().load_from_db()
		finally:
			self.flags.pop("leave_log_unloaded", None)
		self._table_fieldnames = {df.fieldname for df in self._get_table_fields()}
		return self.load_children_from_db()

	def _get_table_fields(self):
		fields = super()._get_table_fields()
		flags = self.__dict__.get("flags") or {}
		if flags.get("leave_log_unloaded"):
			return [df for df in fields if df.fieldname != LOG_TABLE_FIELD]
		return fields

	def before_insert(self):
		# before Frappe points the rows at the new record: they still name the record they were copied from
		self.clear_copied_history()

	def onload(self):
		self.set_onload("opt_log_count", count_log_rows(self.doctype, self.name))
		# each channel's latest logged action: the desk offers only what the server would accept
		latest = {channel.name: last_event(self, channel.name) for channel in channels_of(self.doctype)}
		self.set_onload("opt_last_actions", {name: e.action for name, e in latest.items() if e})
		self.set_onload("opt_confirmations", confirmations_of(self.get(LOG_TABLE_FIELD) or ()))

	def validate(self):
		self.set_address_key()
		self.guard_new_history()
		self.guard_address_change()
		self.guard_consent_fields()
		self.guard_log()
		self.keep_unloaded_log_rows()

	def on_trash(self):
		self.guard_delete()

	def before_rename(self, old: str, new: str, merge: bool = False):
		self.guard_rename(old)

	def set_address_key(self):
		address = cstr(self.get(self.address_field)).strip()
		try:
			self.set(self.key_field, settings.normalize(self.doctype, address))
		except engine.Refused as refusal:
			refuse(refusal, title=_("Invalid address"))
		self.set(self.address_field, address)

	def guard_address_change(self):
		"""Consent was given for one address: once logged, the record cannot point at another."""
		before = self.get_doc_before_save()
		if before and before.get(LOG_TABLE_FIELD) and before.get(self.key_field) != self.get(self.key_field):
			frappe.throw(
				_("This record has consent history for {0}; create a new record for {1}.").format(
					before.get(self.address_field), self.get(self.address_field)
				),
				exc=ConsentTamperError,
			)

	def guard_consent_fields(self):
		"""Only a consent action changes the opt checkboxes, dates and methods."""
		if self.flags.consent_action:
			return
		before = self.get_doc_before_save()
		reference = before if before else initial_state(self.doctype)
		changed = [
			self.meta.get_label(f)
			for f in (*owned_fields(self.doctype), *derived_fields(self.doctype))
			if self._norm(f, self.get(f)) != self._norm(f, reference.get(f))
		]
		if changed:
			frappe.throw(
				_("{0} can only be changed by recording an opt in, opt out or reauthorisation.").format(
					", ".join(_(label) for label in changed)
				),
				exc=ConsentTamperError,
				title=_("Not saved"),
			)

	def guard_log(self):
		"""The log is append-only, and only a consent action appends (exactly one row).

		The rows sent must be the stored ones, in order and unchanged; their ``idx`` is put back as stored, so
		a client that renumbers rows cannot reorder the log.
		"""
		before = self.get_doc_before_save()
		stored_rows = before.get(LOG_TABLE_FIELD) if before else []
		stored = [log_signature(row) for row in stored_rows]
		sent_rows = self.get(LOG_TABLE_FIELD)
		sent = [log_signature(row) for row in sent_rows]
		expected_new = 1 if self.flags.consent_action else 0
		if len(sent) != len(stored) + expected_new or sent[: len(stored)] != stored:
			frappe.throw(
				_(
					"The Opt In/Out Log is append-only: its rows cannot be added, edited, removed or reordered by hand."
				),
				exc=ConsentTamperError,
				title=_("Not saved"),
			)
		for row, stored_row in zip(sent_rows, stored_rows, strict=False):
			row.idx = stored_row.idx

	def keep_unloaded_log_rows(self):
		"""Frappe deletes child rows a save does not carry; the older log rows were never loaded, so keep them."""
		self.flags.ignore_children_type = (LOG_DOCTYPE,)

	def guard_delete(self):
		"""Only a System Manager deletes a record with history, and its whole log goes with it into the
		Deleted Document (Frappe keeps what the record holds; it loads only its newest rows)."""
		if not self.get(LOG_TABLE_FIELD):
			return
		if "System Manager" not in frappe.get_roles():
			frappe.throw(
				_("{0} {1} has consent history and can only be deleted by a System Manager.").format(
					_(self.doctype), self.name
				),
				exc=frappe.PermissionError,
			)
		self.set(LOG_TABLE_FIELD, log_rows(self.doctype, self.name))

	def clear_copied_history(self):
		"""Duplicate (``frappe.copy_doc``) gives a clean new record: a new record whose log is exactly the
		stored newest rows of the record it was copied from starts without that history and its consent.
		Anything else arriving with rows is refused by :meth:`guard_new_history`."""
		rows = self.get(LOG_TABLE_FIELD) or []
		if not self.is_new() or self.flags.consent_action or not rows:
			return
		source = rows[0].get("parent")
		if not source or not all(row.get("parent") == source for row in rows):
			return
		stored = log_rows(self.doctype, source, limit=len(rows) + 1)
		if len(stored) != len(rows) or [evidence_of(r) for r in stored] != [evidence_of(r) for r in rows]:
			return
		self.set(LOG_TABLE_FIELD, [])
		self.update(initial_state(self.doctype))
		self.update(dict.fromkeys(derived_fields(self.doctype)))

	def guard_new_history(self):
		"""A new record starts with an empty log: rows come from consent actions only. This refuses a
		restore of a deleted record with history too (its whole log stays in its Deleted Document)."""
		if self.is_new() and self.get(LOG_TABLE_FIELD) and not self.flags.consent_action:
			frappe.throw(
				_(
					"A new {0} cannot bring consent history with it. A deleted record with history is not "
					"restored: its whole log stays in its Deleted Document and in the Opt Log Integrity report; "
					"create a new record and record consent on it."
				).format(_(self.doctype)),
				exc=ConsentTamperError,
				title=_("Not saved"),
			)

	def guard_rename(self, old: str):
		"""The hash chain seals each log row to its record's name: a record with history keeps its name."""
		if count_log_rows(self.doctype, old):
			frappe.throw(
				_("{0} {1} has consent history, which is sealed to its name: it cannot be renamed.").format(
					_(self.doctype), old
				),
				exc=ConsentTamperError,
				title=_("Not renamed"),
			)

	def _norm(self, fieldname: str, value):
		return normalize_value(self.meta.get_field(fieldname).fieldtype, value)


def normalize_value(fieldtype: str, value):
	"""One comparable form for a value as the database returns it and as JSON sends it."""
	if fieldtype in ("Check", "Int"):
		return cint(value)
	if value is None or value == "":
		return None
	try:
		if fieldtype == "Date":
			return getdate(value).isoformat()
		if fieldtype == "Time":
			return engine.parse_time(value).isoformat()
		if fieldtype == "Datetime":
			return get_datetime(value).isoformat()
	except (ValueError, TypeError, engine.Refused):
		return cstr(value)
	return cstr(value)


def evidence_of(row) -> tuple:
	"""A row's evidence and seal, in one comparable form (not its name)."""
	return log_signature(row)[1:]


def log_signature(row) -> tuple:
	meta = frappe.get_meta(LOG_DOCTYPE)
	return (row.get("name"), *(normalize_value(meta.get_field(f).fieldtype, row.get(f)) for f in LOG_FIELDS))


class EvidenceRow(Document):
	"""A child row that is evidence (a log row, what an inbound text did to a phone): written with its parent
	only. A parent's save does not run these hooks; they run only when a row is saved or deleted on its own
	(REST calls on the child doctype, Data Import), which is never allowed. Subclasses set ``refusal``."""

	refusal = "This row is evidence and cannot be changed."

	def validate(self):
		self.refuse()

	def on_trash(self):
		self.refuse()

	def refuse(self):
		frappe.throw(_(self.refusal), exc=frappe.PermissionError)


def confirmations_of(rows) -> dict:
	"""The confirmation text of each loaded revocation received by text, by the row's message id: what the
	log shows beside the revocation (the Inbound Text keeps it; the sealed row is never touched)."""
	ids = list({row.message_id for row in rows if row.message_id and row.action == OPT_OUT})
	if not ids:
		return {}
	found = frappe.get_all(
		"Inbound Text",
		filters={"message_id": ("in", ids), "confirmation_status": ("not in", ("", None))},
		fields=["message_id", "confirmation_status", "confirmation_sent_at", "confirmation"],
	)
	return {
		row.message_id: {
			"status": row.confirmation_status,
			"sent_at": row.confirmation_sent_at,
			"sent_text": row.confirmation,
		}
		for row in found
	}
