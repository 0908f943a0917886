"""An email reply that revokes: "unsubscribe", "stop emailing me" (47 CFR 64.1200(a)(10) lets a person revoke
by any reasonable means; the same reading applies to mail). Frappe's own path for received mail creates a
Communication; after it is inserted, a reply from an address on file is read with the reply classifier
(its own words, not the quoted message) and, when it revokes, email consent is withdrawn on every Email
record with the address, dated when the mail was received.

Mail is pulled by a scheduler job: nothing here may stop the pull. A reply that could not be applied is
logged in the Error Log and noted on the Communication for a person to act on.
"""

from __future__ import annotations

import frappe
from frappe import _
from frappe.utils import extract_email_id, get_datetime, now_datetime, strip_html

from opt_consent.ledger.settings import normalize
from opt_consent.model.channels import EMAIL, EMAIL_CHANNEL, RECORDS
from opt_consent.model.messages import Refused
from opt_consent.revocation.reasonable_means import Revocation, revoke
from opt_consent.revocation.rules import replies
from opt_consent.revocation.settings import reply_vocabulary

SOURCE = "Inbound Email"
METHOD = "Email Reply"


def reading_of(doc) -> replies.Reading:
	body = doc.text_content or strip_html(doc.content or "")
	return replies.classify(replies.email_reply_text(doc.subject, body), reply_vocabulary(), channel="Email")


def known_sender(doc) -> str | None:
	"""The sender's address of a received email when an Email record has it; None for anything else."""
	if doc.communication_medium != "Email" or doc.sent_or_received != "Received" or not doc.sender:
		return None
	address = extract_email_id(doc.sender)
	try:
		key = normalize(EMAIL, address)
	except Refused:
		return None
	if not frappe.db.exists(EMAIL, {RECORDS[EMAIL].key_field: key}):
		return None
	return address


def on_communication_insert(doc, method=None) -> None:
	"""``after_insert`` of Communication: apply a received email that revokes."""
	address = known_sender(doc)
	if address is None:
		return
	reading = reading_of(doc)
	if reading.kind != replies.REVOCATION:
		return
	received = min(get_datetime(doc.communication_date or now_datetime()), now_datetime())
	savepoint = f"opt_email_reply_{frappe.generate_hash(length=8)}"
	frappe.db.savepoint(savepoint)
	try:
		revocation = Revocation(
			EMAIL_CHANNEL,
			address,
			METHOD,
			received,
			note=_("Email reply: {0}").format((doc.subject or "")[:100]),
			source=SOURCE,
			message_id=(doc.message_id or "")[:140] or None,
		)
		result = revoke(revocation, check_permission=False)
	except Exception:
		frappe.db.rollback(save_point=savepoint)
		frappe.log_error(
			title=_("Email reply read as a revocation was not applied"),
			reference_doctype="Communication",
			reference_name=doc.name,
		)
		frappe.clear_last_message()
		note(
			doc,
			_(
				"This reply reads as a revocation ({0}) but email consent could not be withdrawn: see the Error Log and record it by hand."
			).format(reading.matched),
		)
		return
	frappe.db.release_savepoint(savepoint)
	flagged = "" if reading.certain else " " + _("Worded in plain language: flagged for a person to look at.")
	note(
		doc,
		_("Read as a revocation ({0}): email consent withdrawn on {1} record(s).").format(
			reading.matched, result["changed"]
		)
		+ flagged,
	)


def note(doc, text: str) -> None:
	doc.add_comment("Comment", text)
