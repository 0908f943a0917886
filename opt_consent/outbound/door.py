"""The door texts leave by, the Frappe side: ask the gate about every number, read the settings, keep each
number not sent on consent in force as a Withheld Message, hand the rest to the gateway, tell the sender.

The door is its own sender (:func:`deliver`): it calls the gateway set in SMS Settings as Frappe's sender
does (the same parameters and headers, one request per number) but with a time-out, and records every
number handed over as a Sent Text with the gateway's answer (Sent on a 2xx, Not Sent otherwise), every
sent one as a Contact Attempt and, on a site that has Frappe's SMS Log doctype, in that log too. Frappe 15
without ERPNext has no SMS Log, and Frappe's own sender then fails after the gateway took the text; this
one never raises once a text has left.

The decision sees every Phone (``check_permission=False``): a sender who may not read a Phone must not be
able to text it because the gate could not see its opt out. What the sender is told names numbers and
reasons only, never a record.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import frappe
import requests
from frappe import _
from frappe.core.doctype.sms_settings.sms_settings import get_headers, validate_receiver_nos
from frappe.utils import escape_html, now_datetime, nowdate

from opt_consent.contact_control import adapter as contact_control
from opt_consent.contact_control.rules import SOURCE_SMS
from opt_consent.ledger import site_purposes as purposes
from opt_consent.ledger.settings import SETTINGS, normalize
from opt_consent.model.channels import CHANNELS, TEXT
from opt_consent.model.messages import Refused
from opt_consent.outbound import rules as outbound

EVIDENCE = "Withheld Message"
SENT = "Sent Text"
SEND_SMS = "Send SMS"
NOTIFICATION = "Notification"
CONFIRMATION = "Revocation Confirmation"
STATUS_SENT = "Sent"
STATUS_NOT_SENT = "Not Sent"
GATEWAY_TIMEOUT = 15  # seconds a gateway may take to answer one text before it counts as not sent
ANSWER_CHARS = 300
TEXT_DOCTYPE = CHANNELS[TEXT].doctype
STRIPPED = re.compile(r"[ \-()]")  # what Frappe's sender removes from a number (validate_receiver_nos)


@dataclass
class Screening:
	permitted: list[str] = field(default_factory=list)  # the numbers to hand to Frappe's sender, as given
	withheld: list[outbound.Screened] = field(default_factory=list)
	recorded: list[str] = field(default_factory=list)  # names of the Withheld Message rows written
	screened: int = 0  # how many non-empty numbers were asked about


def no_record_policy() -> str:
	return outbound.no_record_policy(frappe.get_cached_doc(SETTINGS).get("sms_no_record"))


def exempt_notifications() -> set[str]:
	rows = frappe.get_cached_doc(SETTINGS).get("sms_exempt_notifications") or ()
	return {row.notification for row in rows if row.notification}


def verdict(number: str, purpose: str | None = None) -> dict:
	"""The gate's verdict on texting ``number`` now for ``purpose`` (None: the default purpose), over every
	record (the system's view): consent, then the Contact Control rules (a text outside the person's
	allowed hours waits)."""
	return contact_control.check(TEXT, number, check_permission=False, purpose=purpose)


def record_sent(numbers: list[str], reference: str | None = None) -> None:
	"""The texts that left through the door count as attempts for Contact Control."""
	contact_control.record_sent(TEXT, numbers, SOURCE_SMS, reference)


def screen(
	numbers,
	message: str,
	*,
	source: str,
	notification: str | None = None,
	reference_doctype: str | None = None,
	reference_name: str | None = None,
) -> Screening:
	"""Decide every number, record each one not sent on consent in force, return what may be sent."""
	exempt = bool(notification) and notification in exempt_notifications()
	purpose = purposes.purpose_of_notification(notification)
	screened = outbound.screen(
		numbers, lambda number: verdict(number, purpose), exempt=exempt, no_record=no_record_policy()
	)
	result = Screening(
		permitted=outbound.permitted(screened), withheld=outbound.withheld(screened), screened=len(screened)
	)
	context = {
		"message": message,
		"source": source,
		"notification": notification,
		"reference_doctype": reference_doctype,
		"reference_name": reference_name,
		"purpose": purpose or purposes.default_name(),
	}
	for item in screened:
		if item.outcome.recorded:
			result.recorded.append(record(item, **context))
	return result


def record(item: outbound.Screened, *, message: str, source: str, **context) -> str:
	"""Keep one number as evidence (in the caller's transaction: the door never commits)."""
	return insert_evidence(
		EVIDENCE,
		{
			"number": item.number[:140],
			"number_e164": item.verdict.get("address") or "",
			"outcome": item.outcome.outcome,
			"reason": outbound.reason_label(item.outcome.reason),
			"created_at": now_datetime(),
		},
		message=message,
		source=source,
		**context,
	)


def insert_evidence(doctype: str, fields: dict, *, message: str, source: str, **context) -> str:
	"""One row of the door's evidence (Withheld Message, Sent Text), in the caller's transaction."""
	doc = frappe.get_doc(
		{
			"doctype": doctype,
			**fields,
			"sent_by": frappe.session.user,
			"source": source,
			"message": message,
			**{key: (value or "")[:140] for key, value in context.items()},
		}
	)
	doc.flags.from_sms_door = True
	doc.insert(ignore_permissions=True)
	return doc.name


def withheld_html(withheld: list[outbound.Screened]) -> str:
	"""The numbers not sent to and why, escaped, as the sender's message."""
	items = "".join(
		f"<li>{escape_html(item.number)}: {escape_html(_(outbound.reason_label(item.outcome.reason)))}</li>"
		for item in withheld
	)
	intro = escape_html(
		_(
			"Not sent to these numbers: texting consent is not in force, or a Contact Control rule does not allow a text now."
		)
	)
	return f"{intro}<ul>{items}</ul>"


def tell_sender(withheld: list[outbound.Screened]) -> None:
	"""Show the sender which numbers were withheld and why."""
	if withheld:
		frappe.msgprint(
			withheld_html(withheld),
			title=_("{0} number(s) withheld").format(len(withheld)),
			indicator="orange",
		)


def withheld_summary(withheld: list[outbound.Screened]) -> list[dict]:
	"""The withheld numbers for an API caller: number, reason code and its label."""
	return [
		{
			"number": item.number,
			"reason": item.outcome.reason,
			"reason_label": _(outbound.reason_label(item.outcome.reason)),
		}
		for item in withheld
	]


# --- the sender ---------------------------------------------------------------------------------------


@dataclass
class Delivery:
	number: str  # as handed to the gateway (spaces, dashes and brackets removed, as Frappe's sender does)
	sent: bool
	gateway_status: int  # 0: no answer (time-out, no connection)
	answer: str
	record: str | None = None  # the Sent Text
	given: str = ""  # the number as the sender gave it


def gateway_url() -> str | None:
	return frappe.db.get_single_value("SMS Settings", "sms_gateway_url") or None


def deliver(
	numbers: list[str],
	message: str,
	*,
	source: str,
	notification: str | None = None,
	reference_doctype: str | None = None,
	reference_name: str | None = None,
) -> list[Delivery]:
	"""Hand each number to the gateway and keep what happened. With no gateway set, says so as Frappe's
	sender does and sends nothing; raises only for no valid number (Frappe's own message), before any text
	left."""
	pairs = [(str(given), STRIPPED.sub("", str(given))) for given in numbers if given]
	pairs = [(given, number) for given, number in pairs if number]
	receivers = validate_receiver_nos([number for _given, number in pairs])  # none: Frappe's own message
	if not gateway_url():
		frappe.msgprint(_("Please Update SMS Settings"))  # as Frappe's sender says it: nothing was sent
		return []
	settings = frappe.get_doc("SMS Settings")
	deliveries = []
	for given, number in pairs:
		delivery = post_one(settings, number, message)
		delivery.given = given
		deliveries.append(delivery)
	context = {
		"source": source,
		"notification": notification,
		"reference_doctype": reference_doctype,
		"reference_name": reference_name,
		"purpose": purposes.purpose_of_notification(notification) or purposes.default_name(),
	}
	for delivery in deliveries:
		delivery.record = guarded(keep_sent, delivery, message, **context)
	sent = [d.given for d in deliveries if d.sent]
	if sent:
		guarded(record_sent, sent, reference_name)
		guarded(frappe_sms_log, receivers, [d.number for d in deliveries if d.sent], message)
	return deliveries


def post_one(settings, number: str, message: str) -> Delivery:
	"""One request to the gateway, built as Frappe's ``send_via_gateway`` builds it, with a time-out."""
	headers = get_headers(settings)
	params = {settings.message_parameter: message, settings.receiver_parameter: number}
	params.update({row.parameter: row.value for row in settings.get("parameters") or () if not row.header})
	kwargs = {"headers": headers, "timeout": GATEWAY_TIMEOUT}
	if headers.get("Content-Type") == "application/json":
		kwargs["json"] = params
	elif settings.use_post:
		kwargs["data"] = params
	else:
		kwargs["params"] = params
	try:
		response = (requests.post if settings.use_post else requests.get)(settings.sms_gateway_url, **kwargs)
	except requests.RequestException as error:
		return Delivery(number, False, 0, (type(error).__name__ + ": " + str(error))[:ANSWER_CHARS])
	return Delivery(
		number, 200 <= response.status_code < 300, response.status_code, response.text[:ANSWER_CHARS]
	)


def guarded(step, *args, **kwargs):
	"""Run one recording step in a savepoint: once a text has left, a failure to record it is logged for
	the admin, and never turns the sender's answer into an error (the gateway cannot take the text back)."""
	savepoint = f"sms_door_{frappe.generate_hash(length=8)}"
	frappe.db.savepoint(savepoint)
	try:
		result = step(*args, **kwargs)
	except Exception:
		frappe.db.rollback(save_point=savepoint)
		frappe.log_error(title=_("SMS door: a text left but was not recorded"))
		return None
	frappe.db.release_savepoint(savepoint)
	return result


def keep_sent(delivery: Delivery, message: str, *, source: str, **context) -> str:
	"""The Sent Text of one number (in the caller's transaction)."""
	try:
		e164 = normalize(TEXT_DOCTYPE, delivery.given or delivery.number)
	except Refused:
		e164 = ""
	return insert_evidence(
		SENT,
		{
			"number": delivery.number[:140],
			"number_e164": e164,
			"status": STATUS_SENT if delivery.sent else STATUS_NOT_SENT,
			"gateway_status": delivery.gateway_status,
			"gateway_answer": delivery.answer,
			"sent_at": now_datetime(),
		},
		message=message,
		source=source,
		**context,
	)


def frappe_sms_log(requested: list[str], sent: list[str], message: str) -> None:
	"""Frappe's SMS Log, as its own sender writes it, on a site that has the doctype (Frappe 16, ERPNext)."""
	if not frappe.db.exists("DocType", "SMS Log"):
		return
	log = frappe.new_doc("SMS Log")
	log.update(
		{
			"sent_on": nowdate(),
			"message": message,
			"no_of_requested_sms": len(requested),
			"requested_numbers": "\n".join(requested),
			"no_of_sent_sms": len(sent),
			"sent_to": "\n".join(sent),
		}
	)
	log.flags.ignore_permissions = True
	log.save()


def tell_not_sent(deliveries: list[Delivery]) -> None:
	"""Show the sender the numbers the gateway did not take, with its answer."""
	failed = [d for d in deliveries if not d.sent]
	if not failed:
		return
	items = "".join(
		"<li>{}: {}</li>".format(
			escape_html(d.given),
			escape_html(
				_("the gateway answered {0}").format(d.gateway_status)
				if d.gateway_status
				else _("the gateway did not answer ({0})").format(d.answer)
			),
		)
		for d in failed
	)
	frappe.msgprint(
		escape_html(_("The gateway did not take these texts; they were not sent:")) + f"<ul>{items}</ul>",
		title=_("{0} text(s) not sent").format(len(failed)),
		indicator="red",
	)


def delivery_summary(deliveries: list[Delivery]) -> list[dict]:
	return [
		{"number": d.given, "gateway_status": d.gateway_status, "answer": d.answer, "sent_text": d.record}
		for d in deliveries
		if not d.sent
	]


def replied_purpose(number_e164: str | None) -> str | None:
	"""The purpose of the latest text the door sent to a number (what a reply to it answers), or None."""
	if not number_e164:
		return None
	rows = frappe.get_all(
		SENT,
		filters={"number_e164": number_e164, "status": STATUS_SENT},
		fields=["purpose"],
		order_by="sent_at desc, creation desc",
		limit=1,
	)
	return (rows[0].purpose or None) if rows else None
