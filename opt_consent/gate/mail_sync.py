"""Frappe's own mailer honours email consent: a global Email Unsubscribe per opted-out address.

Frappe's Email Queue builder (``QueueBuilder.final_recipients``) drops every recipient that has an
Email Unsubscribe with ``global_unsubscribe = 1``, so mail queued after the opt out is never queued to
that address. This module keeps that row in step with the Email records after every consent action.
"""

from __future__ import annotations

import frappe

from opt_consent.gate import rules as gate
from opt_consent.gate.adapter import decide_records, find_records
from opt_consent.model.channels import CHANNELS, EMAIL_CHANNEL

UNSUBSCRIBE = "Email Unsubscribe"


def on_email_update(doc, method=None) -> None:
	"""doc_events hook of Email: after a consent action, bring the global unsubscribe in step."""
	if doc.flags.consent_action and doc.get("email_normalized"):
		sync(doc.email_normalized)


def address_opted_out(address: str) -> bool:
	"""Whether any Email record of ``address`` stands opted out (its latest Email event is an Opt Out)."""
	spec = CHANNELS[EMAIL_CHANNEL]
	records = find_records(spec, address, check_permission=False)
	return any(d.reason == gate.OPTED_OUT for d in decide_records(spec, records, None))


def unsubscribes(address: str) -> list[str]:
	return frappe.get_all(UNSUBSCRIBE, filters={"email": address, "global_unsubscribe": 1}, pluck="name")


def sync(address: str) -> None:
	"""Create the global unsubscribe of ``address`` when one of its records is opted out; remove it when
	none is. Runs as part of a consent action the user was allowed to record, so it ignores permissions."""
	existing = unsubscribes(address)
	if address_opted_out(address):
		if not existing:
			frappe.get_doc({"doctype": UNSUBSCRIBE, "email": address, "global_unsubscribe": 1}).insert(
				ignore_permissions=True
			)
	else:
		for name in existing:
			frappe.delete_doc(UNSUBSCRIBE, name, ignore_permissions=True, force=True)
