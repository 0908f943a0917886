"""Whitelisted Contact Control: when may we next, a whole list scrubbed, attempts recorded, the template.

Thin: argument checks and permissions, then :mod:`opt_consent.contact_control.adapter`.
"""

from __future__ import annotations

import json

import frappe
from frappe import _

from opt_consent.contact_control import adapter as contact_control
from opt_consent.contact_control import rules as cc
from opt_consent.ledger.refusals import require, require_readable
from opt_consent.ledger.settings import SETTINGS
from opt_consent.model.channels import RECORDS, channels_of
from opt_consent.model.signatures import takes

# One call answers at most this many addresses; longer lists go through the desk's Contact Scrub (a job).
MAX_SCRUB = 100_000


@frappe.whitelist(methods=["GET", "POST"])
@frappe.read_only()
@takes("channel addresses at reference purpose", returns=list[dict], addresses=str | list | None)
def scrub(channel, addresses, at, reference, purpose) -> list[dict]:
	"""Each address's verdict for ``channel`` at ``at`` (default now) for ``purpose`` (default: the
	default purpose): ``allowed``, ``reason``, ``rule`` and ``next_allowed_at`` (site time), in the order
	given. ``addresses`` is a list or a JSON list."""
	require(channel=channel, addresses=addresses)
	items = parse_addresses(addresses)
	return contact_control.scrub(channel, items, at, reference, purpose=purpose)


def parse_addresses(addresses) -> list:
	if isinstance(addresses, str):
		try:
			addresses = json.loads(addresses)
		except ValueError:
			addresses = [line for line in addresses.splitlines() if line.strip()]
	if not isinstance(addresses, list) or not all(isinstance(a, str | int) for a in addresses):
		frappe.throw(_("Addresses must be a list of numbers or email addresses."), title=_("Invalid list"))
	if len(addresses) > MAX_SCRUB:
		frappe.throw(
			_("At most {0} addresses per call. Upload longer lists as a Contact Scrub.").format(MAX_SCRUB),
			title=_("List too long"),
		)
	return [str(a) for a in addresses]


@frappe.whitelist(methods=["POST"])
@takes("channel address outcome at reference override_reason purpose")
def record_attempt(channel, address, outcome, **attempt) -> dict:
	"""Record an outbound attempt (a call placed, a text or an email sent) after checking it is allowed,
	for ``purpose`` (a Consent Purpose; default: the default purpose).

	Refused (nothing recorded) when consent for the purpose does not allow it, or a Contact Control rule
	does not and the caller cannot or does not override it (the settings' override role, with
	``override_reason``).
	"""
	require(channel=channel, address=address, outcome=outcome)
	return contact_control.record_attempt(channel, address, outcome, **attempt)


@frappe.whitelist(methods=["GET"])
def next_allowed(doctype: str, name: str, reference: str | None = None) -> dict:
	"""For a Phone or Email: per channel, whether it may be used now and when next, in the site's time and
	the person's local time(s). Needs read permission on the record."""
	require_readable(doctype, name)
	key = frappe.db.get_value(doctype, name, RECORDS[doctype].key_field)
	out = {
		spec.name: contact_control.desk_verdict(spec.name, key, reference) for spec in channels_of(doctype)
	}
	return {"channels": out, "time_zone": frappe.utils.get_system_timezone()}


@frappe.whitelist(methods=["POST"])
def enable_regulation_f() -> dict:
	"""Add the Regulation F template's rules to the settings (those missing) and enable them all."""
	frappe.has_permission(SETTINGS, "write", throw=True)
	settings = frappe.get_doc(SETTINGS)
	# the template's rows are known by their template mark and kind (an admin may have renamed them), and
	# keep the names the seed gave them whatever the user's language
	have = {
		row.kind: row
		for row in settings.get(contact_control.RULES_FIELD) or ()
		if row.template == cc.REGULATION_F
	}
	for row in cc.regulation_f_template():
		if row["kind"] in have:
			have[row["kind"]].enabled = 1
		else:
			settings.append(contact_control.RULES_FIELD, {**row, "enabled": 1})
	settings.save()
	return {"rules": [row.rule_name for row in settings.get(contact_control.RULES_FIELD) if row.enabled]}
