"""Inbound texts from an SMS gateway, read as a revocation by any reasonable means; everything kept as an
Inbound Text.

The law applied (FCC Report and Order FCC 24-24, in force 11 April 2025): 47 CFR 64.1200(a)(10) lets a
person revoke consent by any reasonable means, and a reply with the words stop, quit, end, revoke, opt out,
cancel or unsubscribe always revokes; the revocation is honoured within 10 business days. The reading is
:func:`opt_consent.revocation.rules.replies.classify` (English and Spanish, plus the site's own words). A revocation
is applied to every phone with the number at once; one worded in plain language is applied too, and
flagged for a person to look at. A text from a number on file that is not applied gets an honour-by date
from its receipt and waits for review; a review that reads it as a revocation records it at the moment it
was received. After a revocation by text, one confirmation text (64.1200(a)(12)) is sent by a job.

The endpoint is guest-accessible (a gateway has no desk login) but refused unless the request carries the
shared secret of Opt Consent Settings, in the ``X-Opt-Consent-Secret`` header (preferred) or a ``secret``
body field. The secret is compared in constant time and never logged or returned.
"""

from __future__ import annotations

import hmac
import re

import frappe
from frappe import _
from frappe.rate_limiter import rate_limit
from frappe.utils import now_datetime
from frappe.utils.password import get_decrypted_password

from opt_consent.gate import rules as gate
from opt_consent.ledger.consent import ActionRequest, record_action
from opt_consent.ledger.log import last_event
from opt_consent.ledger.refusals import translate
from opt_consent.ledger.rules import engine
from opt_consent.ledger.rules import purposes as purpose_rules
from opt_consent.ledger.settings import default_region, honour_by
from opt_consent.ledger.site_purposes import get_purposes
from opt_consent.model.addresses import normalize_phone
from opt_consent.model.channels import OPT_IN, OPT_OUT, TEXT
from opt_consent.outbound.door import replied_purpose
from opt_consent.revocation import confirmation_job as confirmations
from opt_consent.revocation.reasonable_means import already_revoked
from opt_consent.revocation.rules import replies
from opt_consent.revocation.rules.inbound_status import (
	APPLIED,
	DUPLICATE,
	FLAGGED,
	HELP,
	NO_CHANGE,
	NOT_APPLIED,
	REVIEWABLE,
	REVIEWED,
	UNKNOWN_NUMBER,
	UNRECOGNISED,
)
from opt_consent.revocation.settings import reply_vocabulary

SETTINGS = "Opt Consent Settings"
SECRET_HEADER = "X-Opt-Consent-Secret"
SOURCE = "Inbound SMS"
METHOD = "Text Reply"
MAX_MESSAGE = 1600  # ten concatenated SMS segments
MAX_MESSAGE_ID = 140
MARKUP = re.compile(r"[<>]")


# the reading's kind -> the keyword family the rest of the app (and the Inbound Text's Keyword) knows
FAMILIES = {
	replies.REVOCATION: gate.KEYWORD_OPT_OUT,
	replies.OPT_IN: gate.KEYWORD_OPT_IN,
	replies.HELP: gate.KEYWORD_HELP,
}
READING_LABELS = {
	replies.REVOCATION: "Revocation",
	replies.OPT_IN: "Opt In",
	replies.HELP: "Help",
	replies.OTHER: "Other",
}
KEYWORD_LABELS = {gate.KEYWORD_OPT_OUT: "Opt Out", gate.KEYWORD_OPT_IN: "Opt In", gate.KEYWORD_HELP: "Help"}
ACTIONS = {gate.KEYWORD_OPT_OUT: OPT_OUT, gate.KEYWORD_OPT_IN: OPT_IN}


def read(message: str | None) -> replies.Reading:
	"""The reply read with the built-in words and the site's own."""
	return replies.classify(message, reply_vocabulary())


class InboundRequestError(frappe.ValidationError):
	"""A malformed inbound message: nothing was recorded."""

	http_status_code = 400


class InboundSecretError(frappe.PermissionError):
	"""The request did not carry the shared secret."""


@frappe.whitelist(allow_guest=True, methods=["POST"])
@rate_limit(limit=600, seconds=60)
def receive(
	sender: str | None = None,
	message: str | None = None,
	message_id: str | None = None,
	secret: str | None = None,
) -> dict:
	"""Record one inbound text; apply it when it is a keyword from a known number.

	Body: ``sender`` (the number that sent the text), ``message`` (its text), ``message_id`` (the
	gateway's id: a second post with the same id changes nothing). Answers ``status`` (Applied, No Change,
	Unrecognised, Unknown Number, Help, Duplicate), ``changed`` (phones changed) and ``reply`` (the HELP
	text, else None).
	"""
	frappe.form_dict.pop("secret", None)
	check_secret(frappe.get_request_header(SECRET_HEADER) or secret)
	sender_e164, message, message_id = check_body(sender, message, message_id)

	first = frappe.db.get_value("Inbound Text", {"message_id": message_id}, ["name", "status"], as_dict=True)
	if first and first.status == NOT_APPLIED:
		return retry(first.name)
	if first:
		return {
			"status": DUPLICATE,
			"inbound_text": first.name,
			"first_status": first.status,
			"changed": 0,
			"reply": None,
		}
	return handle(sender.strip(), sender_e164, message, message_id)


def check_secret(given: str | None) -> None:
	expected = get_decrypted_password(SETTINGS, SETTINGS, "inbound_sms_secret", raise_exception=False)
	if not expected or not given or not hmac.compare_digest(expected.encode(), str(given).encode()):
		frappe.throw(_("Not permitted."), exc=InboundSecretError, title=_("Not permitted"))


def check_body(sender, message, message_id) -> tuple[str, str, str]:
	missing = [
		label
		for label, value in (("sender", sender), ("message", message), ("message_id", message_id))
		if not isinstance(value, str) or (label != "message" and not value.strip())
	]
	if missing:
		bad_request(_("The inbound message needs {0}.").format(", ".join(missing)))
	if len(message) > MAX_MESSAGE:
		bad_request(_("The message is longer than {0} characters.").format(MAX_MESSAGE))
	message_id = message_id.strip()
	if len(message_id) > MAX_MESSAGE_ID:
		bad_request(_("The message id is longer than {0} characters.").format(MAX_MESSAGE_ID))
	if MARKUP.search(message_id) or MARKUP.search(sender):
		# Frappe would sanitise markup on save, and the sealed row would no longer match what was stored
		bad_request(_("The sender and message id must be plain text."))
	try:
		sender_e164 = normalize_phone(sender, default_region())
	except engine.Refused as refusal:
		bad_request(translate(refusal))
	return sender_e164, message, message_id


def bad_request(message: str) -> None:
	frappe.throw(message, exc=InboundRequestError, title=_("Malformed inbound message"))


def handle(sender: str, sender_e164: str, message: str, message_id: str) -> dict:
	now = now_datetime()
	reading = read(message)
	family = family_of(reading, message)
	phones = phones_with(sender_e164)
	rows, changed, failed = apply_all(phones, family, message, message_id, now)
	status = status_of(family, phones, changed, failed, reading)
	doc = frappe.get_doc(
		{
			"doctype": "Inbound Text",
			"sender": sender[:140],
			"sender_e164": sender_e164,
			"message": message,
			"message_id": message_id,
			"received_at": now,
			"status": status,
			"keyword": KEYWORD_LABELS.get(family),
			"reading": READING_LABELS[reading.kind],
			"matched_words": reading.matched[:140] or None,
			"reading_language": reading.language,
			# a number on file starts the revocation clock at receipt, whatever the text says
			"honour_by": honour_by(now.date()) if phones else None,
			# an answer to the confirmation's scope question gets no second confirmation (64.1200(a)(12): one)
			"confirmation_status": confirmations.initial_state(FAMILIES.get(reading.kind), changed),
			"phones": rows,
		}
	)
	doc.flags.from_gateway = True
	doc.insert(ignore_permissions=True)
	confirmations.queue(doc)
	return answer(doc, family, changed)


def family_of(reading: replies.Reading, message: str) -> str | None:
	"""The keyword family a reply is applied as. On a site with several purposes, an answer asking to stop
	every message ("ALL", the confirmation's scope question) is a revocation of every purpose."""
	family = FAMILIES.get(reading.kind)
	if family is None and get_purposes().several and purpose_rules.wants_every_purpose(message):
		return gate.KEYWORD_OPT_OUT
	return family


def phones_with(sender_e164: str) -> list:
	return frappe.get_all(
		"Phone", filters={"phone_e164": sender_e164}, fields=["name", "phone_type"], order_by="creation asc"
	)


def apply_all(phones, family: str | None, message: str, message_id: str, now) -> tuple[list, int, bool]:
	"""Apply the keyword to every phone with the number, each on its own: one that fails is rolled back
	alone and reported, the others stand."""
	rows, changed, failed = [], 0, False
	for phone in phones:
		savepoint = f"inbound_{frappe.generate_hash(length=8)}"
		frappe.db.savepoint(savepoint)
		try:
			did_change, outcome = apply(phone, family, message, message_id, now)
		except Exception as error:
			frappe.db.rollback(save_point=savepoint)
			frappe.clear_last_message()
			did_change, failed = False, True
			outcome = _("Not applied: {0}").format(
				frappe.utils.strip_html(str(error))[:200] or type(error).__name__
			)
		else:
			frappe.db.release_savepoint(savepoint)
		changed += did_change
		rows.append({"phone": phone.name, "phone_type": phone.phone_type, "outcome": outcome})
	return rows, changed, failed


def status_of(family: str | None, phones, changed: int, failed: bool, reading: replies.Reading) -> str:
	if failed:
		return NOT_APPLIED
	if family == gate.KEYWORD_HELP:
		return HELP
	if not phones:
		return UNKNOWN_NUMBER
	if family is None:
		return UNRECOGNISED
	if changed and family == gate.KEYWORD_OPT_OUT and not reading.certain:
		return FLAGGED
	return APPLIED if changed else NO_CHANGE


def answer(doc, family: str | None, changed: int) -> dict:
	"""The gateway's answer. A revocation not applied is kept, and answered 503 so the gateway retries."""
	if doc.status == NOT_APPLIED:
		frappe.local.response.http_status_code = 503
		frappe.local.response.headers = {"Retry-After": "60"}
	reply = frappe.db.get_single_value(SETTINGS, "sms_help_text") if family == gate.KEYWORD_HELP else None
	return {"status": doc.status, "inbound_text": doc.name, "changed": changed, "reply": reply}


def retry(name: str) -> dict:
	"""The gateway's retry of a message that was not applied: apply it again to the same Inbound Text."""
	doc = frappe.get_doc("Inbound Text", name, for_update=True)
	reading = read(doc.message)
	family = family_of(reading, doc.message)
	phones = phones_with(doc.sender_e164)
	rows, changed, failed = apply_all(phones, family, doc.message, doc.message_id, now_datetime())
	doc.status = status_of(family, phones, changed, failed, reading)
	doc.confirmation_status = doc.confirmation_status or confirmations.initial_state(
		FAMILIES.get(reading.kind), changed
	)
	doc.set("phones", rows)
	doc.flags.inbound_retry = True
	doc.save(ignore_permissions=True)
	confirmations.queue(doc)
	return answer(doc, family, changed)


def apply(phone, family: str | None, message: str, message_id: str, now) -> tuple[bool, str]:
	"""Apply the keyword to one Phone: (changed, the outcome in words).

	A STOP is recorded on every phone with the number, whatever its type, whatever the Opt Method
	configuration, dated no earlier than the phone's latest texting event: a revocation is never dropped.
	A START re-grants consent only on a Cell phone, by the rules of any action.
	"""
	action = ACTIONS.get(family)
	if action is None:
		return False, _("No keyword: nothing applied")
	if action == OPT_IN and phone.phone_type != engine.CELL:
		return False, _("Skipped: not a Cell phone")
	# Lock the phone first, so that the state checked is the state changed.
	doc = frappe.get_doc("Phone", phone.name, for_update=True)
	last = last_event(doc, TEXT)
	if action == OPT_IN and doc.text_opt:
		return False, _("Skipped: already opted in to texts")
	at = max(now, last.at) if last is not None and action == OPT_OUT else now
	# a reply answers the latest text sent to the number: under a scope per purpose, that text's purpose
	# is what a STOP names (revoke-all, or no text to place it, covers every purpose)
	purpose = None
	if action == OPT_OUT and get_purposes().several and not purpose_rules.wants_every_purpose(message):
		purpose = replied_purpose(doc.phone_e164)
	if action == OPT_OUT and already_revoked(doc, TEXT, last, at, purpose):
		return False, _("Skipped: already opted out of texts")
	record_action(
		ActionRequest(
			"Phone",
			phone.name,
			action,
			TEXT,
			at.date(),
			at.time(),
			inbound_method(),
			source=SOURCE,
			note=_("Inbound text: {0}").format(message.strip()[:140]),
			message_id=message_id,
			system_revocation=action == OPT_OUT,
			purpose=purpose,
		),
		check_permission=False,
	)
	return True, _("Opted out of texts") if action == OPT_OUT else _("Opted in to texts")


def inbound_method() -> str | None:
	"""The Opt Method inbound texts are recorded with, when it (still) exists."""
	return METHOD if frappe.db.exists("Opt Method", METHOD) else None


@frappe.whitelist(methods=["POST"])
def mark_reviewed(name: str | None = None, note: str | None = None, as_revocation: bool = False) -> dict:
	"""Mark an Unrecognised, Unknown Number or Flagged inbound text as reviewed (after acting on it, or not).

	``as_revocation``: the reviewer reads an Unrecognised text as a revocation. It is then recorded on
	every phone with the number at the moment the text was received (no earlier than a phone's latest
	texting event: a revocation is never dropped), as the gateway's STOP would have been.
	"""
	if not name:
		frappe.throw(_("Inbound Text is required."))
	doc = frappe.get_doc("Inbound Text", name, for_update=True)
	doc.check_permission("write")
	if doc.status not in REVIEWABLE:
		frappe.throw(
			_(
				"Only an Unrecognised, Unknown Number or Flagged inbound text needs a review; this one is {0}."
			).format(_(doc.status))
		)
	as_revocation = bool(frappe.utils.sbool(as_revocation))
	if as_revocation:
		if doc.status != UNRECOGNISED:
			frappe.throw(
				_("Only an Unrecognised inbound text from a number on file can be recorded as a revocation.")
			)
		rows, _changed, failed = apply_all(
			phones_with(doc.sender_e164),
			gate.KEYWORD_OPT_OUT,
			doc.message,
			doc.message_id,
			frappe.utils.get_datetime(doc.received_at),
		)
		if failed:
			frappe.throw(
				_("The revocation could not be recorded on every phone: {0}").format(
					"; ".join(row["outcome"] for row in rows)
				)
			)
		doc.set("phones", rows)
		doc.flags.inbound_review_revocation = True
	doc.status = REVIEWED
	doc.review_note = (note or "").strip() or None
	doc.reviewed_by = frappe.session.user
	doc.reviewed_at = now_datetime()
	doc.flags.inbound_review = True
	doc.save()
	return doc.as_dict()
