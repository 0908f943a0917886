"""What the admin set (Opt Consent Settings, Opt Methods, System Settings), read for the pure rules."""

from __future__ import annotations

import datetime as dt

import frappe
from frappe.utils import cint, getdate

from opt_consent.adapters.purposes import get_purposes
from opt_consent.core import business_days, confirmation, reauth, replies
from opt_consent.core.addresses import normalize_email, normalize_phone
from opt_consent.core.channels import PHONE
from opt_consent.core.engine import Method, Policy
from opt_consent.core.purposes import DEFAULT_PURPOSE

SETTINGS = "Opt Consent Settings"


def get_method(name) -> Method | None:
	if not name or not isinstance(name, str):
		return None
	row = frappe.get_cached_value(
		"Opt Method", name, ["name", "enabled", "for_opt_in", "for_opt_out", "written"], as_dict=True
	)
	if not row:
		return None
	return Method(
		row.name, bool(row.enabled), bool(row.for_opt_in), bool(row.for_opt_out), bool(row.get("written"))
	)


def get_policy() -> Policy:
	"""The opt out choices of Opt Consent Settings (cached; an unset value keeps the seed's default)."""
	settings = frappe.get_cached_doc(SETTINGS)
	default = Policy()

	def flag(fieldname: str) -> bool:
		value = settings.get(fieldname)
		return getattr(default, fieldname) if value is None or value == "" else bool(int(value))

	return Policy(
		opt_out_blocks=flag("opt_out_blocks"),
		text_opt_out_blocks_calls=flag("text_opt_out_blocks_calls"),
		default_purpose=settings.get("default_purpose") or DEFAULT_PURPOSE,
	)


def get_rules(purpose: str | None = None) -> reauth.Rules:
	"""The texting reauthorisation rules of ``purpose`` (default: the default purpose's): the purpose's own
	period when it sets one (not 0), else the settings' period; the settings' lead time and method overrides."""
	settings = frappe.get_cached_doc(SETTINGS)
	purpose = purpose or settings.get("default_purpose") or DEFAULT_PURPOSE
	known = get_purposes().known.get(purpose)
	own = known.reauth_days if known is not None else None
	return reauth.Rules.make(
		own or settings.get("text_reauth_days"),
		settings.get("reauth_reminder_days"),
		[(row.method, row.period_days) for row in settings.get("method_periods") or ()],
	)


def default_region() -> str | None:
	"""The ISO code of the System Settings country, used for numbers typed without a country code."""
	country = frappe.db.get_single_value("System Settings", "country")
	if not country:
		return None
	return (frappe.db.get_value("Country", country, "code", cache=True) or "").upper() or None


def normalize(doctype: str, address: str | None) -> str:
	"""The indexed key of ``address`` for ``doctype`` (E.164 or lower-case email), or ``Refused``."""
	if doctype == PHONE:
		return normalize_phone(address, default_region())
	return normalize_email(address)


# --- the revocation clock -----------------------------------------------------------------------------


def revocation_days() -> int:
	days = cint(frappe.db.get_single_value(SETTINGS, "revocation_business_days"))
	return days if days > 0 else business_days.DEFAULT_REVOCATION_DAYS


def holiday_calendar() -> tuple[set[dt.date], frozenset[int]]:
	"""The holidays and weekend weekdays business days are counted on.

	With a Holiday List chosen in settings (the doctype ERPNext / HRMS ship), its dates are the days off,
	weekly offs included as that list records them; without one, Saturday and Sunday are, and the dates in
	the settings' own Holidays table.
	"""
	name = frappe.db.get_single_value(SETTINGS, "holiday_list")
	if name and frappe.db.exists("DocType", "Holiday List") and frappe.db.exists("Holiday List", name):
		dates = frappe.get_all(
			"Holiday", filters={"parenttype": "Holiday List", "parent": name}, pluck="holiday_date"
		)
		return {getdate(d) for d in dates}, frozenset()
	dates = frappe.get_all(
		"Opt Consent Holiday", filters={"parenttype": SETTINGS, "parent": SETTINGS}, pluck="holiday_date"
	)
	return {getdate(d) for d in dates}, business_days.WEEKEND


def honour_by(revoked) -> dt.date:
	"""The date an opt out the person made at ``revoked`` (the event's date) must be honoured by."""
	holidays, weekend = holiday_calendar()
	return business_days.add_business_days(getdate(revoked), revocation_days(), holidays, weekend)


# --- reading replies and the one confirmation -----------------------------------------------------------

REPLY_KINDS = {"Revocation": replies.REVOCATION, "Opt In": replies.OPT_IN, "Help": replies.HELP}


def reply_rows(doc) -> list[tuple[str, str]]:
	"""The site's own reply words of a settings document as (kind, phrase) for the classifier."""
	return [
		(REPLY_KINDS.get(row.kind, replies.REVOCATION), row.phrase or "")
		for row in doc.get("reply_words") or ()
	]


def reply_vocabulary() -> replies.Vocabulary:
	"""The site's own words, added to the built-in ones (cached with the settings). Never raises: a word
	that would take a revocation away (saved past the settings' check) is left out and logged."""
	vocabulary, refused = replies.usable_vocabulary(reply_rows(frappe.get_cached_doc(SETTINGS)))
	if refused:
		frappe.log_error(
			title=frappe._("Opt Consent: reply words left out"),
			message="\n".join(refusal.message.format(*refusal.args_) for refusal in refused),
		)
	return vocabulary


def confirmation_text() -> str | None:
	"""The wording of the one confirmation text, or None when the settings send none."""
	settings = frappe.get_cached_doc(SETTINGS)
	if not cint(settings.get("send_revocation_confirmation")):
		return None
	return confirmation.check_text(settings.get("revocation_confirmation_text"))
