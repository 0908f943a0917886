"""The door texts leave by, the Frappe side: ask the gate about every number, read the settings, keep each
number not sent on consent in force as a Withheld Message, tell the sender.

The decision sees every Phone (``check_permission=False``): a sender who may not read a Phone must not be
able to text it because the gate could not see its opt out. What the sender is told names numbers and
reasons only, never a record.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import frappe
from frappe import _
from frappe.utils import escape_html, now_datetime

from opt_consent.adapters import contact_control
from opt_consent.adapters.settings import SETTINGS
from opt_consent.core import outbound
from opt_consent.core.channels import TEXT
from opt_consent.core.contact_control import SOURCE_SMS

EVIDENCE = "Withheld Message"
SEND_SMS = "Send SMS"
NOTIFICATION = "Notification"


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


def verdict(number: str) -> dict:
	"""The gate's verdict on texting ``number`` now, over every record (the system's view): consent, then
	the Contact Control rules (a text outside the person's allowed hours waits)."""
	return contact_control.check(TEXT, number, check_permission=False)


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
	screened = outbound.screen(numbers, verdict, exempt=exempt, no_record=no_record_policy())
	result = Screening(
		permitted=outbound.permitted(screened), withheld=outbound.withheld(screened), screened=len(screened)
	)
	context = {
		"message": message,
		"source": source,
		"notification": notification,
		"reference_doctype": reference_doctype,
		"reference_name": reference_name,
	}
	for item in screened:
		if item.outcome.recorded:
			result.recorded.append(record(item, **context))
	return result


def record(item: outbound.Screened, *, message: str, source: str, **context) -> str:
	"""Keep one number as evidence (in the caller's transaction: the door never commits)."""
	doc = frappe.get_doc(
		{
			"doctype": EVIDENCE,
			"number": item.number[:140],
			"number_e164": item.verdict.get("address") or "",
			"outcome": item.outcome.outcome,
			"reason": outbound.reason_label(item.outcome.reason),
			"created_at": now_datetime(),
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
