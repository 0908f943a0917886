"""Whitelisted consent actions. Thin: argument checks, then :func:`opt_consent.ledger.consent.record_action`."""

import frappe

from opt_consent.api.bulk import bulk_record
from opt_consent.contact.adapter import section as contact_section
from opt_consent.contact_control.adapter import check as contact_control_check
from opt_consent.ledger.consent import ActionRequest, begin_fresh, record_action
from opt_consent.ledger.integrity import require_integrity_role, verify_record
from opt_consent.ledger.log import count_log_rows, log_rows
from opt_consent.ledger.refusals import require, require_readable
from opt_consent.ledger.site_purposes import get_purposes
from opt_consent.ledger.site_purposes import states as states_of
from opt_consent.model.channels import OPT_IN, OPT_OUT, PHONE, TEXT, TEXT_REAUTH
from opt_consent.model.signatures import takes
from opt_consent.revocation.reasonable_means import Revocation, revoke


def act(action, *, doctype, name, channel, date, time, method, note, time_zone, wording, purpose) -> dict:
	"""One consent action of the desk or an API caller, in a fresh transaction; the record as it is now."""
	begin_fresh()
	return record_action(
		ActionRequest(
			doctype,
			name,
			action,
			channel,
			date,
			time,
			method,
			note=note,
			time_zone=time_zone,
			wording=wording,
			purpose=purpose,
		)
	).as_dict()


@frappe.whitelist(methods=["POST"])
@takes("doctype name channel date time method note time_zone wording purpose")
def opt_in(**action) -> dict:
	"""Opt ``channel`` (Call, Text or Email) of a Phone or Email record in, for ``purpose`` (a Consent
	Purpose; default: the site's default purpose).

	``date`` and ``time`` are read in ``time_zone`` (an IANA name; default the site's). ``wording`` names
	the Published Consent Wording the person agreed to (required when the method requires one, and when
	the purpose requires written consent).
	"""
	return act(OPT_IN, **action)


@frappe.whitelist(methods=["POST"])
@takes("doctype name channel date time method note time_zone purpose")
def opt_out(**action) -> dict:
	"""Opt ``channel`` (Call, Text or Email) of a Phone or Email record out.

	``date`` and ``time`` are read in ``time_zone`` (an IANA name; default the site's). ``purpose`` is
	the Consent Purpose the person revoked; the revocation covers what Opt Consent Settings' revocation
	scope says (every purpose under revoke-all, FCC 24-24; every purpose when none is named).
	"""
	return act(OPT_OUT, wording=None, **action)


@frappe.whitelist(methods=["POST"])
@takes("channel address means revoked_at note reference purpose")
def record_revocation(reference, **revocation) -> dict:
	"""A revocation by any reasonable means (47 CFR 64.1200(a)(10), FCC 24-24), from a dialer, an IVR, a
	web form or a mailroom: ``channel`` (Call, Text or Email) of ``address`` is revoked on every record
	that has it.

	``means`` is the Opt Method it came by (IVR Key Press, Web Form, Voicemail, Email Reply, Letter, ...);
	``revoked_at`` the moment the person revoked, in the site's time (default now; never in the future), from
	which its honour-by date counts; ``reference`` the caller's id for it (kept as the log row's message id).
	The caller must be allowed to write every such record. Answers ``{channel, address, revoked_at,
	honour_by, records: [{record, changed, outcome}], changed}``. ``purpose`` is the Consent Purpose the
	person named, if any: a revocation naming none covers every purpose of the channel.
	"""
	begin_fresh()
	return revoke(Revocation(**revocation, message_id=reference))


@frappe.whitelist(methods=["POST"])
@takes("name date time method note time_zone wording purpose")
def text_reauth(**action) -> dict:
	"""Reauthorise texting on a Cell Phone (``date`` / ``time`` in ``time_zone``, default the site's) under
	the Consent Wording ``wording`` (required when the method requires one), for ``purpose`` (default: the
	default purpose)."""
	return act(TEXT_REAUTH, doctype=PHONE, channel=TEXT, **action)


@frappe.whitelist()
@frappe.read_only()
def get_log(
	doctype: str | None = None, name: str | None = None, start: int = 0, page_length: int = 50
) -> dict:
	"""A page of a record's Opt In/Out Log, newest first, with the total count (the form loads the newest rows)."""
	require_readable(doctype, name)
	start, page_length = max(0, start), min(max(1, page_length), 500)
	return {
		"total": count_log_rows(doctype, name),
		"rows": log_rows(doctype, name, limit=page_length, start=start, newest_first=True),
	}


@frappe.whitelist(methods=["POST"])
@takes("doctype names channel date time method time_zone", names=str | list | None)
def bulk_opt_out(doctype, names, channel, date, time, method, time_zone) -> dict:
	"""Opt ``channel`` of every record in ``names`` (a list or a JSON list) out, each on its own.

	Returns ``{"succeeded": count, "refused": [{"name": ..., "reason": ...}]}``; a refusal undoes only itself.
	"""
	return bulk_record(doctype, names, OPT_OUT, channel, date, time, method, time_zone)


@frappe.whitelist(methods=["GET", "POST"])
def verify_log(doctype: str | None = None, name: str | None = None) -> dict:
	"""Check a record's Opt In/Out Log: its hash chain, and its consent fields against a replay of the log.

	Returns ``{"ok": bool, "rows": count, ...}``; when broken also ``idx`` and ``row`` (the first broken row,
	empty when the fields disagree with the log as a whole), ``code`` and ``message``. Admins and auditors.
	"""
	require_integrity_role()
	require_readable(doctype, name)
	return verify_record(doctype, name)


@frappe.whitelist(methods=["GET", "POST"])
@frappe.read_only()
@takes("channel address at reference purpose")
def can_contact(channel, address, at, reference, purpose) -> dict:
	"""May ``channel`` (Call, Text or Email) be used on ``address`` for ``purpose`` (a Consent Purpose;
	default: the default purpose) now, or at the moment ``at``, and if not, when next?

	Answers ``{allowed, reason, rule, next_allowed_at, local_next_allowed_at, doctype, record, address, at}``:
	the consent verdict first, then the Contact Control rules (``reference``: the document the contact is
	about, for rules counted per party and reference). See :func:`opt_consent.contact_control.adapter.check`.
	"""
	return contact_control_check(channel, address, at, reference, purpose=purpose)


@frappe.whitelist(methods=["GET"])
def contact_consent(contact: str) -> dict:
	"""The Consent section of a Contact: its consent records the caller may read, with their state.

	Needs read permission on the Contact; each record is read through ``frappe.get_list`` (row-level rules
	apply) and says whether the caller may record consent on it. See :func:`opt_consent.contact.adapter.section`.
	"""
	require(contact=contact)
	return contact_section(contact)


@frappe.whitelist(methods=["GET", "POST"])
@frappe.read_only()
def purpose_states(doctype: str | None = None, name: str | None = None) -> dict:
	"""Each channel and Consent Purpose of a Phone or Email at a glance: ``{several, default, states:
	[{channel, purpose, default, opted_in, action, date}]}`` (``several``: the site has more than its
	default purpose). Needs read permission on the record."""
	require_readable(doctype, name)
	doc = frappe.get_doc(doctype, name)
	site = get_purposes()
	return {"several": site.several, "default": site.default, "states": states_of(doc)}
