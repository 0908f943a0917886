"""Inbound texts from an SMS gateway: STOP / START / HELP keywords, everything kept as an Inbound Text.

The endpoint is guest-accessible (a gateway has no desk login) but refused unless the request carries the
shared secret of Opt Consent Settings, in the ``X-Opt-Consent-Secret`` header (preferred) or a ``secret``
body field. The secret is compared in constant time and never logged or returned.
"""

from __future__ import annotations

import hmac

import frappe
from frappe import _
from frappe.rate_limiter import rate_limit
from frappe.utils import now_datetime
from frappe.utils.password import get_decrypted_password

from opt_consent import engine, gate
from opt_consent.addresses import normalize_phone
from opt_consent.consent import record_action, translate
from opt_consent.opt_consent.doctype.phone.phone import default_region

SETTINGS = "Opt Consent Settings"
SECRET_HEADER = "X-Opt-Consent-Secret"
SOURCE = "Inbound SMS"
METHOD = "Text Reply"
MAX_MESSAGE = 1600  # ten concatenated SMS segments
MAX_MESSAGE_ID = 140

APPLIED = "Applied"
NO_CHANGE = "No Change"
UNRECOGNISED = "Unrecognised"
UNKNOWN_NUMBER = "Unknown Number"
HELP = "Help"
REVIEWED = "Reviewed"
DUPLICATE = "Duplicate"  # answered, never stored: the first message with the id is the record

KEYWORD_LABELS = {gate.KEYWORD_OPT_OUT: "Opt Out", gate.KEYWORD_OPT_IN: "Opt In", gate.KEYWORD_HELP: "Help"}
ACTIONS = {gate.KEYWORD_OPT_OUT: engine.OPT_OUT, gate.KEYWORD_OPT_IN: engine.OPT_IN}


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

	if first := frappe.db.get_value(
		"Inbound Text", {"message_id": message_id}, ["name", "status"], as_dict=True
	):
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
	try:
		sender_e164 = normalize_phone(sender, default_region())
	except engine.Refused as refusal:
		bad_request(translate(refusal))
	return sender_e164, message, message_id


def bad_request(message: str) -> None:
	frappe.throw(message, exc=InboundRequestError, title=_("Malformed inbound message"))


def handle(sender: str, sender_e164: str, message: str, message_id: str) -> dict:
	now = now_datetime()
	family = gate.parse_keyword(message)
	phones = frappe.get_all(
		"Phone", filters={"phone_e164": sender_e164}, fields=["name", "phone_type"], order_by="creation asc"
	)
	rows, changed = [], 0
	for phone in phones:
		did_change, outcome = apply(phone, family, message, message_id, now)
		changed += did_change
		rows.append({"phone": phone.name, "phone_type": phone.phone_type, "outcome": outcome})

	if family == gate.KEYWORD_HELP:
		status = HELP
	elif not phones:
		status = UNKNOWN_NUMBER
	elif family is None:
		status = UNRECOGNISED
	else:
		status = APPLIED if changed else NO_CHANGE

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
			"phones": rows,
		}
	)
	doc.flags.from_gateway = True
	doc.insert(ignore_permissions=True)
	reply = frappe.db.get_single_value(SETTINGS, "sms_help_text") if family == gate.KEYWORD_HELP else None
	return {"status": status, "inbound_text": doc.name, "changed": changed, "reply": reply}


def apply(phone, family: str | None, message: str, message_id: str, now) -> tuple[bool, str]:
	"""Apply the keyword to one Phone: (changed, the outcome in words). A phone already in the target
	state, or not a Cell phone, is skipped."""
	action = ACTIONS.get(family)
	if action is None:
		return False, _("No keyword: nothing applied")
	if phone.phone_type != engine.CELL:
		return False, _("Skipped: not a Cell phone")
	# Lock the phone first, so that the state checked is the state changed.
	text_opt = frappe.db.get_value("Phone", phone.name, "text_opt", for_update=True)
	last = gate.last_actions(
		frappe.get_all(
			"Opt Log",
			filters={"parenttype": "Phone", "parent": phone.name, "channel": engine.TEXT},
			fields=["channel", "action", "event_date", "event_time"],
		)
	).get(engine.TEXT)
	if action == engine.OPT_IN and text_opt:
		return False, _("Skipped: already opted in to texts")
	if action == engine.OPT_OUT and not text_opt and last == engine.OPT_OUT:
		return False, _("Skipped: already opted out of texts")
	record_action(
		"Phone",
		phone.name,
		action,
		engine.TEXT,
		now.date(),
		now.time(),
		METHOD,
		source=SOURCE,
		note=_("Inbound text: {0}").format(message.strip()[:140]),
		check_permission=False,
		message_id=message_id,
	)
	return True, _("Opted out of texts") if action == engine.OPT_OUT else _("Opted in to texts")


@frappe.whitelist(methods=["POST"])
def mark_reviewed(name: str | None = None, note: str | None = None) -> dict:
	"""Mark an Unrecognised or Unknown Number inbound text as reviewed (after acting on it, or not)."""
	if not name:
		frappe.throw(_("Inbound Text is required."))
	doc = frappe.get_doc("Inbound Text", name, for_update=True)
	doc.check_permission("write")
	if doc.status not in (UNRECOGNISED, UNKNOWN_NUMBER):
		frappe.throw(
			_("Only an Unrecognised or Unknown Number inbound text needs a review; this one is {0}.").format(
				_(doc.status)
			)
		)
	doc.status = REVIEWED
	doc.review_note = (note or "").strip() or None
	doc.reviewed_by = frappe.session.user
	doc.reviewed_at = now_datetime()
	doc.flags.inbound_review = True
	doc.save()
	return doc.as_dict()
