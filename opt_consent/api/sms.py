"""The door texts leave by: Frappe's Send SMS and SMS Notifications text only numbers whose texting consent
is in force at that moment. Wired through hooks (``override_whitelisted_methods`` for the desk's
``send_sms``, ``override_doctype_class`` for Notification); the rules are in
:mod:`opt_consent.outbound.rules`, the Frappe side in :mod:`opt_consent.outbound.door`.

Frappe's two-factor login codes go through ``frappe.twofactor.send_token_via_sms``, which calls the gateway
itself: they never pass this door and are never blocked.
"""

from __future__ import annotations

import json

import frappe
from frappe import _
from frappe.email.doctype.notification.notification import (
	Notification,
	get_reference_doctype,
	get_reference_name,
)

from opt_consent.outbound import door as sms

FRAPPE_MAJOR = int(frappe.__version__.split(".")[0])


@frappe.whitelist(methods=["POST"])
def send_sms(receiver_list: list | str, msg: str, sender_name: str = "", success_msg: bool = True) -> dict:
	"""Frappe's ``send_sms`` (the desk's Send SMS), for the numbers with texting consent in force only.

	The others are withheld: kept as Withheld Messages and listed to the sender with the reason. The rest
	go to the gateway, each kept as a Sent Text with its answer. Returns ``{sent_to, withheld: [{number,
	reason, reason_label}], not_sent: [{number, gateway_status, answer, sent_text}]}`` (``sent_to``: the
	numbers the gateway took, as handed to it).
	"""
	receivers = receiver_numbers(receiver_list)
	message = frappe.safe_decode(msg or "")
	screening = sms.screen(receivers, message, source=sms.SEND_SMS)
	sms.tell_sender(screening.withheld)
	deliveries = []
	if screening.permitted or not screening.screened:
		# no number at all: the sender says so as Frappe's does ("Please enter valid mobile nos")
		deliveries = sms.deliver(screening.permitted or receivers, message, source=sms.SEND_SMS)
		sms.tell_not_sent(deliveries)
		if success_msg and any(d.sent for d in deliveries):
			frappe.msgprint(_("SMS sent successfully"))
	return {
		"sent_to": [d.given for d in deliveries if d.sent],
		"withheld": sms.withheld_summary(screening.withheld),
		"not_sent": sms.delivery_summary(deliveries),
	}


def receiver_numbers(receiver_list) -> list:
	"""The receivers as Frappe's ``send_sms`` reads them: a list, or JSON of one, or one number."""
	if isinstance(receiver_list, str):
		try:
			receiver_list = json.loads(receiver_list)
		except ValueError:
			pass  # a number written as it is ("+1 415 ...") is not JSON
	if not isinstance(receiver_list, list):
		receiver_list = [receiver_list]
	return receiver_list


class ConsentNotification(Notification):
	"""Notification whose SMS channel texts only numbers with texting consent in force (a transactional
	Notification named in Opt Consent Settings excepted, and recorded)."""

	def send_sms(self, doc, context):
		message = frappe.render_template(self.message, context)
		if FRAPPE_MAJOR >= 16:  # Frappe 16 sends the message without markup
			message = frappe.utils.strip_html_tags(message)
		screening = sms.screen(
			self.get_receiver_list(doc, context),
			message,
			source=sms.NOTIFICATION,
			notification=self.name,
			reference_doctype=get_reference_doctype(doc),
			reference_name=get_reference_name(doc),
		)
		if screening.withheld and frappe.has_permission(sms.EVIDENCE, "read"):
			frappe.msgprint(
				_("Notification {0}: {1} number(s) withheld, see Withheld Message.").format(
					frappe.bold(frappe.utils.escape_html(self.name)), len(screening.withheld)
				),
				alert=True,
				indicator="orange",
			)
		if screening.permitted:
			deliveries = sms.deliver(
				screening.permitted,
				message,
				source=sms.NOTIFICATION,
				notification=self.name,
				reference_doctype=get_reference_doctype(doc),
				reference_name=get_reference_name(doc),
			)
			if frappe.has_permission(sms.SENT, "read"):
				sms.tell_not_sent(deliveries)
