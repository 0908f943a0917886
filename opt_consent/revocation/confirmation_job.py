"""The one confirmation text after a revocation by text (47 CFR 64.1200(a)(12), FCC 24-24), the Frappe side.

The inbound door marks a revocation it applied as Pending and queues :func:`send` after its commit. The job
claims the Inbound Text (Sending, committed) before it calls the gateway, so a second job, a retry or a
crash can never send a second text for the same revocation: a claim that never reports back becomes
Unknown, not a new attempt. The text goes through the SMS door's sender (:func:`sms.deliver`) without the
consent screen (the block the revocation itself created does not apply to its confirmation) and is kept as
a Sent Text beside the revocation. A gateway that fails is tried again by the minute's sweep, up to
:data:`confirmation.MAX_ATTEMPTS` times, within the five minutes; then the confirmation is Failed.

Being a background job, it commits its claim and its outcome (two short transactions per text).
"""

from __future__ import annotations

import frappe
from frappe import _
from frappe.utils import add_to_date, get_datetime, now_datetime

from opt_consent.gate import rules as gate
from opt_consent.ledger.rules import purposes as purpose_rules
from opt_consent.model.messages import Refused
from opt_consent.outbound import door as sms
from opt_consent.revocation.rules import confirmation
from opt_consent.revocation.settings import confirmation_text

INBOUND = "Inbound Text"
JOB = "opt_consent.tasks.send_revocation_confirmation"


def initial_state(family: str | None, changed: int) -> str:
	"""The confirmation's state for a text just applied: Pending after a revocation that changed a phone
	(Off when the settings send none), nothing otherwise."""
	if family != gate.KEYWORD_OPT_OUT or not changed:
		return confirmation.NONE
	try:
		return confirmation.PENDING if confirmation_text() else confirmation.OFF
	except Refused:
		return confirmation.PENDING  # a wording saved before the check: the job reports it as Failed


def queue(doc) -> None:
	"""Queue the job for a Pending confirmation, after the door's transaction commits."""
	if doc.confirmation_status == confirmation.PENDING:
		frappe.enqueue(
			JOB,
			queue="short",
			name=doc.name,
			job_id=f"opt_consent_confirm_{doc.name}",
			deduplicate=True,
			enqueue_after_commit=True,
		)


def commit() -> None:
	frappe.db.commit()  # nosemgrep: a background job commits its claim before calling the gateway


def save(doc, **changes) -> None:
	doc.update(changes)
	doc.flags.inbound_confirmation = True
	doc.save(ignore_permissions=True)


def send(name: str) -> str:
	"""Send the confirmation of one Inbound Text if it is still due; the state it ends in."""
	doc = frappe.get_doc(INBOUND, name, for_update=True)
	received = get_datetime(doc.received_at)
	step = confirmation.next_step(
		doc.confirmation_status, doc.confirmation_attempts or 0, received, now_datetime()
	)
	if step == confirmation.MARK_UNKNOWN:
		save(doc, confirmation_status=confirmation.UNKNOWN)
	elif step == confirmation.GIVE_UP:
		save(doc, confirmation_status=confirmation.FAILED)
	if step != confirmation.SEND:
		commit()
		return doc.confirmation_status
	attempts = (doc.confirmation_attempts or 0) + 1
	save(doc, confirmation_status=confirmation.SENDING, confirmation_attempts=attempts)
	commit()
	delivery = attempt(doc)
	doc = frappe.get_doc(INBOUND, name, for_update=True)
	state = confirmation.after_attempt(bool(delivery and delivery.sent), attempts, received, now_datetime())
	save(
		doc,
		confirmation_status=state,
		confirmation_sent_at=now_datetime() if state == confirmation.SENT else None,
		confirmation=delivery.record if delivery and delivery.sent else doc.confirmation,
	)
	commit()
	return state


def attempt(doc) -> sms.Delivery | None:
	"""One try through the door's sender, exempt from the consent screen; None when nothing could be tried
	(no gateway set, no wording): logged for the admin."""
	try:
		text = confirmation_text()
		if not text:
			return None
		lang = "es" if doc.reading_language == "es" else None
		text = _(text, lang=lang)
		question = scope_question(doc)
		if question:
			text = purpose_rules.with_question(text, _(question, lang=lang))
		deliveries = sms.deliver(
			[doc.sender],
			text,
			source=sms.CONFIRMATION,
			reference_doctype=INBOUND,
			reference_name=doc.name,
		)
	except (frappe.ValidationError, Refused):
		frappe.log_error(
			title=_("Revocation confirmation not sent"), reference_doctype=INBOUND, reference_name=doc.name
		)
		frappe.clear_last_message()
		return None
	return deliveries[0] if deliveries else None


def sweep() -> int:
	"""Every minute: retry the Pending confirmations of the last minutes, settle the rest. How many sent."""
	since = add_to_date(now_datetime(), minutes=-30)
	names = frappe.get_all(
		INBOUND,
		filters={
			"confirmation_status": ("in", (confirmation.PENDING, confirmation.SENDING)),
			"received_at": (">=", since),
		},
		order_by="received_at asc",
		pluck="name",
	)
	return sum(send(name) == confirmation.SENT for name in names)


def scope_question(doc) -> str | None:
	"""The settings' scope question, when the revocation the text confirms covered one purpose only (the
	person may then answer ALL: FCC 24-24 lets the one confirmation ask the scope, 47 CFR 64.1200(a)(12))."""
	question = frappe.db.get_single_value(sms.SETTINGS, "revocation_scope_question")
	if not question or not doc.message_id:
		return None
	narrow = frappe.db.exists(
		"Opt Log",
		{
			"message_id": doc.message_id,
			"action": "Opt Out",
			"scope": ["in", ["", None]],
			"purpose": ["is", "set"],
		},
	)
	return question if narrow else None
