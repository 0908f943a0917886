"""What the admin set (Opt Consent Settings, Opt Methods, System Settings), read for the pure rules."""

from __future__ import annotations

import datetime as dt

import frappe
from frappe.utils import cint, getdate

from opt_consent.ledger.rules import business_days
from opt_consent.ledger.rules.engine import Method, Policy
from opt_consent.ledger.rules.purposes import DEFAULT_PURPOSE
from opt_consent.model.addresses import normalize_email, normalize_phone
from opt_consent.model.channels import PHONE

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
