"""Revocation by any reasonable means (47 CFR 64.1200(a)(10), FCC Report and Order FCC 24-24, in force
11 April 2025): a dialer's IVR key press, a web form, a voicemail, an email, a letter. One engine and one
honour-by clock for all of them, as for a STOP by text.

The revocation is recorded on every record of the channel with that address, dated when the person revoked
(no earlier than a record's latest event of the channel, so a revocation is never dropped by an older or
back-dated event) and never refused for the Opt Method configuration.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import KW_ONLY, dataclass

import frappe
from frappe import _
from frappe.utils import get_datetime, now_datetime

from opt_consent.ledger import settings
from opt_consent.ledger import site_purposes as purposes
from opt_consent.ledger.consent import ActionRequest, record_action
from opt_consent.ledger.log import last_event
from opt_consent.ledger.refusals import refuse, require
from opt_consent.ledger.rules import purposes as purpose_rules
from opt_consent.model.channels import CHANNELS, GRANTING, OPT_OUT, RECORDS
from opt_consent.model.messages import Refused


class RevocationRequestError(frappe.ValidationError):
	"""A revocation request that cannot be read: nothing was recorded."""


@dataclass(frozen=True)
class Revocation:
	"""One revocation, as a caller or the system received it (plain values): ``channel`` of ``address``,
	by ``means`` (an Opt Method), at ``revoked_at`` (the site's time; default now). ``source`` and
	``message_id`` go on the log row; ``purpose`` is the Consent Purpose the person named, if any."""

	channel: str | None
	address: str | None
	means: str | None
	revoked_at: object = None
	_: KW_ONLY
	note: str | None = None
	source: str | None = None
	message_id: str | None = None
	purpose: str | None = None


def revoked_moment(revoked_at, now: dt.datetime) -> dt.datetime:
	"""When the person revoked, in the site's time (default now); never in the future."""
	if revoked_at in (None, ""):
		return now
	try:
		moment = get_datetime(revoked_at)
	except Exception:
		moment = None
	if moment is None:
		frappe.throw(
			_("{0} is not a date and time (use YYYY-MM-DD HH:MM:SS).").format(
				frappe.bold(str(revoked_at)[:40])
			),
			exc=RevocationRequestError,
			title=_("Not recorded"),
		)
	if moment.tzinfo is not None:
		moment = moment.astimezone(now.astimezone().tzinfo).replace(tzinfo=None)
	if moment > now:
		frappe.throw(
			_("The moment the person revoked cannot be in the future."),
			exc=RevocationRequestError,
			title=_("Not recorded"),
		)
	return moment


def check_means(means: str) -> str:
	"""The means is an Opt Method (any, enabled or not: a revocation is never refused for the configuration)."""
	means = (means or "").strip()
	if not frappe.db.exists("Opt Method", means):
		frappe.throw(
			_("{0} is not an Opt Method. Use one of: {1}.").format(
				frappe.bold(means[:40]),
				", ".join(
					frappe.get_all("Opt Method", filters={"for_opt_out": 1}, pluck="name", order_by="name")
				),
			),
			exc=RevocationRequestError,
			title=_("Not recorded"),
		)
	return means


def records_of(channel: str, address: str) -> tuple[str, str, list[str]]:
	"""The channel's doctype, the address's key and the names of every record with it."""
	spec = CHANNELS.get(channel)
	if spec is None:
		frappe.throw(
			_("{0} is not a channel. Use one of: {1}.").format(
				frappe.bold(str(channel)[:40]), ", ".join(CHANNELS)
			),
			exc=RevocationRequestError,
			title=_("Not recorded"),
		)
	try:
		key = settings.normalize(spec.doctype, address)
	except Refused as refusal:
		refuse(refusal, title=_("Invalid address"))
	names = frappe.get_all(
		spec.doctype, filters={RECORDS[spec.doctype].key_field: key}, pluck="name", order_by="creation asc"
	)
	return spec.doctype, key, names


def revoke(revocation: Revocation, *, check_permission: bool = True) -> dict:
	"""Record one revocation of ``channel`` for ``address`` on every record that has it, for ``purpose``
	when the person named one (none: every purpose of the channel, :mod:`opt_consent.ledger.rules.purposes`).

	With ``check_permission`` (a caller's request) the caller must be allowed to write every one of them
	(row level too), or nothing is recorded, and must name the means. Without it (the system received the
	revocation, e.g. an email reply) a means that no longer exists is recorded as none, as a STOP is.
	Answers the records and what happened to each, and the honour-by date.
	"""
	channel, means = revocation.channel, revocation.means
	require(channel=channel, address=revocation.address)
	moment = revoked_moment(revocation.revoked_at, now_datetime())
	if check_permission or means:
		require(means=means)
		means = check_means(means) if check_permission or frappe.db.exists("Opt Method", means) else None
	doctype, key, names = records_of(channel, revocation.address)
	check_may_revoke(doctype, key, names, check_permission)
	outcomes = [revoke_one(doctype, name, revocation, moment, means, check_permission) for name in names]
	return {
		"channel": channel,
		"address": key,
		"revoked_at": moment,
		"honour_by": settings.honour_by(moment.date()),
		"records": outcomes,
		"changed": sum(1 for outcome in outcomes if outcome["changed"]),
	}


def check_may_revoke(doctype: str, key: str, names: list[str], check_permission: bool) -> None:
	"""There is a record of the address to revoke on; with ``check_permission`` the caller may write the
	doctype (asked first) and every one of the records, else nothing is recorded."""
	if check_permission and not frappe.has_permission(doctype, "write"):
		# before the look-up answers: a caller who may write no record learns nothing of which exist
		frappe.throw(
			_("Not permitted to record consent on a {0}.").format(_(doctype)), frappe.PermissionError
		)
	if not names:
		frappe.throw(
			_("No {0} with {1} is on file: nothing to revoke.").format(_(doctype), frappe.bold(key)),
			exc=frappe.DoesNotExistError,
			title=_("Not recorded"),
		)
	if check_permission:
		for name in names:
			frappe.get_doc(doctype, name).check_permission("write")


def revoke_one(
	doctype: str,
	name: str,
	revocation: Revocation,
	moment: dt.datetime,
	means: str | None,
	check_permission: bool,
) -> dict:
	"""The revocation on one record (``means``: as checked), dated no earlier than its latest event of the
	channel; nothing when what it covers is already out."""
	channel, purpose = revocation.channel, revocation.purpose
	doc = frappe.get_doc(doctype, name, for_update=True)
	last = last_event(doc, channel)
	at = max(moment, last.at) if last is not None else moment
	if already_revoked(doc, channel, last, at, purpose):
		return {"record": name, "changed": False, "outcome": _("Already opted out")}
	record_action(
		ActionRequest(
			doctype,
			name,
			OPT_OUT,
			channel,
			at.date(),
			at.time(),
			means,
			source=revocation.source,
			note=revocation.note,
			message_id=revocation.message_id,
			system_revocation=True,
			purpose=purpose,
		),
		check_permission=check_permission,
	)
	return {"record": name, "changed": True, "outcome": _("Opted out")}


def already_revoked(doc, channel: str, last, at, purpose: str | None) -> bool:
	"""Whether there is nothing left to revoke: the purposes the revocation covers are all out (a purpose
	that still holds consent, the default's or another's, makes it a new revocation)."""
	spec = CHANNELS[channel]
	site = purposes.get_purposes()
	others = purposes.others(doc.doctype, doc.name, channel, site)
	default_out = not doc.get(spec.opt_field) and last is not None and last.action == OPT_OUT
	if purpose_rules.scope_of(site, channel, at.date(), bool(purpose)) == purpose_rules.ALL:
		return default_out and all(action not in GRANTING for action in others.values())
	if not purpose or purpose == site.default:
		return default_out
	return others.get(purpose) == OPT_OUT
