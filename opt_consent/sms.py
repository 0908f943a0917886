"""The door texts leave by: Frappe's Send SMS and SMS Notifications text only numbers whose texting consent
is in force at that moment. Wired through hooks (``override_whitelisted_methods`` for the desk's
``send_sms``, ``override_doctype_class`` for Notification); the rules are in
:mod:`opt_consent.core.outbound`, the Frappe side in :mod:`opt_consent.adapters.sms`.

Frappe's two-factor login codes go through ``frappe.twofactor.send_token_via_sms``, which calls the gateway
itself: they never pass this door and are never blocked.
"""

from __future__ import annotations

import json

import frappe
from frappe import _
from frappe.core.doctype.sms_settings.sms_settings import send_sms as frappe_send_sms
from frappe.email.doctype.notification.notification import (
	Notification,
	get_reference_doctype,
	get_reference_name,
)

from opt_consent.adapters import sms

FRAPPE_MAJOR = int(frappe.__version__.split(".")[0])


@frappe.whitelist(methods=["POST"])
def send_sms(receiver_list: list | str, msg: str, sender_name: str = "", success_msg: bool = True) -> dict:
	"""Frappe's ``send_sms`` (the desk's Send SMS), for the numbers with texting consent in force only.

	The others are withheld: kept as Withheld Messages and listed to the sender with the reason. Returns
	``{sent_to, withheld: [{number, reason, reason_label}]}``.
	"""
	receivers = receiver_numbers(receiver_list)
	screening = sms.screen(receivers, msg or "", source=sms.SEND_SMS)
	sms.tell_sender(screening.withheld)
	if screening.permitted or not screening.screened:
		# no number at all: Frappe's own sender says so ("Please enter valid mobile nos")
		frappe_send_sms(
			screening.permitted or receivers, msg, sender_name=sender_name, success_msg=success_msg
		)
		sms.record_sent(screening.permitted)
	return {"sent_to": screening.permitted, "withheld": sms.withheld_summary(screening.withheld)}


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
			frappe_send_sms(receiver_list=screening.permitted, msg=message)
			sms.record_sent(screening.permitted)
