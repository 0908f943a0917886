"""Whitelisted consent actions. Thin: argument checks, then :func:`opt_consent.consent.record_action`."""


import frappe

from opt_consent import engine
from opt_consent.consent import record_action


@frappe.whitelist(methods=["POST"])
def opt_in(
	doctype: str | None = None,
	name: str | None = None,
	channel: str | None = None,
	date: str | None = None,
	time: str | None = None,
	method: str | None = None,
	note: str | None = None,
) -> dict:
	"""Opt ``channel`` (Call, Text or Email) of a Phone or Email record in."""
	return record_action(doctype, name, engine.OPT_IN, channel, date, time, method, note=note).as_dict()


@frappe.whitelist(methods=["POST"])
def opt_out(
	doctype: str | None = None,
	name: str | None = None,
	channel: str | None = None,
	date: str | None = None,
	time: str | None = None,
	method: str | None = None,
	note: str | None = None,
) -> dict:
	"""Opt ``channel`` (Call, Text or Email) of a Phone or Email record out."""
	return record_action(doctype, name, engine.OPT_OUT, channel, date, time, method, note=note).as_dict()


@frappe.whitelist(methods=["POST"])
def text_reauth(
	name: str | None = None,
	date: str | None = None,
	time: str | None = None,
	method: str | None = None,
	note: str | None = None,
) -> dict:
	"""Reauthorise texting on a Cell Phone."""
	return record_action(
		engine.PHONE, name, engine.TEXT_REAUTH, engine.TEXT, date, time, method, note=note
	).as_dict()
