"""Whitelisted consent actions. Thin: argument checks, then :func:`opt_consent.consent.record_action`."""

import frappe
from frappe import _

from opt_consent import engine
from opt_consent.consent import begin_fresh, record_action, require, require_consent_doctype
from opt_consent.controllers import count_log_rows, log_rows


@frappe.whitelist(methods=["POST"])
def opt_in(
	doctype: str | None = None,
	name: str | None = None,
	channel: str | None = None,
	date: str | None = None,
	time: str | None = None,
	method: str | None = None,
	note: str | None = None,
) -> dict:
	"""Opt ``channel`` (Call, Text or Email) of a Phone or Email record in."""
	begin_fresh()
	return record_action(doctype, name, engine.OPT_IN, channel, date, time, method, note=note).as_dict()


@frappe.whitelist(methods=["POST"])
def opt_out(
	doctype: str | None = None,
	name: str | None = None,
	channel: str | None = None,
	date: str | None = None,
	time: str | None = None,
	method: str | None = None,
	note: str | None = None,
) -> dict:
	"""Opt ``channel`` (Call, Text or Email) of a Phone or Email record out."""
	begin_fresh()
	return record_action(doctype, name, engine.OPT_OUT, channel, date, time, method, note=note).as_dict()


@frappe.whitelist(methods=["POST"])
def text_reauth(
	name: str | None = None,
	date: str | None = None,
	time: str | None = None,
	method: str | None = None,
	note: str | None = None,
) -> dict:
	"""Reauthorise texting on a Cell Phone."""
	begin_fresh()
	return record_action(
		engine.PHONE, name, engine.TEXT_REAUTH, engine.TEXT, date, time, method, note=note
	).as_dict()


@frappe.whitelist()
def get_log(
	doctype: str | None = None, name: str | None = None, start: int = 0, page_length: int = 50
) -> dict:
	"""A page of a record's Opt In/Out Log, newest first, with the total count (the form loads the newest rows)."""
	require(doctype=doctype, name=name)
	require_consent_doctype(doctype)
	frappe.has_permission(doctype, "read", name, throw=True)
	start, page_length = max(0, start), min(max(1, page_length), 500)
	return {
		"total": count_log_rows(doctype, name),
		"rows": log_rows(doctype, name, limit=page_length, start=start, newest_first=True),
	}


@frappe.whitelist(methods=["POST"])
def bulk_opt_out(
	doctype: str | None = None,
	names: str | list | None = None,
	channel: str | None = None,
	date: str | None = None,
	time: str | None = None,
	method: str | None = None,
) -> dict:
	"""Opt ``channel`` of every record in ``names`` (a list or a JSON list) out, each on its own.

	Returns ``{"succeeded": count, "refused": [{"name": ..., "reason": ...}]}``; a refusal undoes only itself.
	"""
	from opt_consent.bulk import bulk_record

	return bulk_record(doctype, names, engine.OPT_OUT, channel, date, time, method)


INTEGRITY_ROLES = ("System Manager", "Opt Consent Manager")


def require_integrity_role() -> None:
	"""Refuse anyone but an admin (``frappe.only_for`` is skipped under tests, so it is checked here)."""
	if frappe.session.user != "Administrator" and not set(INTEGRITY_ROLES) & set(frappe.get_roles()):
		frappe.throw(
			_("Only a System Manager or an Opt Consent Manager can verify the consent log."),
			exc=frappe.PermissionError,
		)


@frappe.whitelist(methods=["GET", "POST"])
def verify_log(doctype: str | None = None, name: str | None = None) -> dict:
	"""Check a record's Opt In/Out Log: its hash chain, and its consent fields against a replay of the log.

	Returns ``{"ok": bool, "rows": count, ...}``; when broken also ``idx`` and ``row`` (the first broken row,
	empty when the fields disagree with the log as a whole), ``code`` and ``message``. Admins only.
	"""
	from opt_consent.integrity import verify_record

	require_integrity_role()
	require(doctype=doctype, name=name)
	require_consent_doctype(doctype)
	frappe.has_permission(doctype, "read", name, throw=True)
	return verify_record(doctype, name)


@frappe.whitelist(methods=["GET", "POST"])
def can_contact(channel: str | None = None, address: str | None = None, at: str | None = None) -> dict:
	"""May ``channel`` (Call, Text or Email) be used on ``address`` now, or at the past moment ``at``?

	Answers ``{allowed, reason, doctype, record, address, at}``; see :func:`opt_consent.gate_adapter.can_contact`.
	"""
	from opt_consent.gate_adapter import can_contact as gate_can_contact

	return gate_can_contact(channel, address, at)
