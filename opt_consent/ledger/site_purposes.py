"""Frappe adapter of the purposes: read Consent Purpose and the scope settings, and each purpose's log state.

The rules, and the law they apply, are in :mod:`opt_consent.ledger.rules.purposes`.
"""

from __future__ import annotations

import frappe
from frappe.utils import getdate

from opt_consent.ledger.rules import purposes as rules
from opt_consent.model.channels import CALL, CHANNELS, EMAIL_CHANNEL, GRANTING, TEXT
from opt_consent.model.evidence import LOG_DOCTYPE, LOG_TABLE_FIELD

SETTINGS = "Opt Consent Settings"
DOCTYPE = "Consent Purpose"
CACHE_KEY = "opt_consent:purposes"
# the Consent Purpose check box of each channel
CHANNEL_FIELDS = {CALL: "for_call", TEXT: "for_text", EMAIL_CHANNEL: "for_email"}


def default_name() -> str:
	"""The site's default purpose (the seeded one until an admin names another before any use)."""
	return frappe.db.get_single_value(SETTINGS, "default_purpose") or rules.DEFAULT_PURPOSE


def get_purposes() -> rules.Purposes:
	"""The site's purposes and revocation scope, cached until a purpose or the settings change."""
	found = frappe.cache.get_value(CACHE_KEY, generator=_load)
	if not isinstance(found, rules.Purposes):  # a cache written by another version: read afresh
		clear_cache()
		found = frappe.cache.get_value(CACHE_KEY, generator=_load)
	return found


def _load() -> rules.Purposes:
	rows = frappe.get_all(
		DOCTYPE,
		fields=[
			"name",
			"enabled",
			"legal_basis",
			"requires_written",
			"reauth_days",
			*CHANNEL_FIELDS.values(),
		],
	)
	known = {
		row.name: rules.Purpose(
			row.name,
			frozenset(channel for channel, field in CHANNEL_FIELDS.items() if row.get(field)),
			bool(row.requires_written),
			row.legal_basis or rules.PRIOR_EXPRESS_CONSENT,
			bool(row.enabled),
			int(row.reauth_days or 0) or None,
		)
		for row in rows
	}
	settings = frappe.db.get_singles_dict(SETTINGS)
	default = settings.get("default_purpose") or rules.DEFAULT_PURPOSE
	known.setdefault(default, rules.Purpose(default))  # a site not yet migrated: as before purposes
	scope = settings.get("revocation_scope") or rules.SCOPE_REVOKE_ALL
	if scope not in rules.SCOPE_SETTINGS:
		scope = rules.SCOPE_REVOKE_ALL  # never narrower than the law in force
	since = settings.get("revoke_all_from")
	return rules.Purposes(default, known, scope, getdate(since) if since else rules.REVOKE_ALL_DATE)


def clear_cache(*_args, **_kwargs) -> None:
	"""Forget the cached purposes (a Consent Purpose or Opt Consent Settings changed), and every user's
	cached boot info, which carries them to the desk."""
	frappe.cache.delete_value(CACHE_KEY)
	frappe.cache.delete_key("bootinfo")


# What the purposes are decided by, of each log row (:func:`channel_rows`).
ROW_FIELDS = ("idx", "channel", "action", "event_date", "event_time", "method", "purpose", "scope")
_CHANNEL_ROWS = (
	f"select {', '.join(f'`{field}`' for field in ROW_FIELDS)} from `tab{LOG_DOCTYPE}` "
	"where `parent` = %s and `parenttype` = %s and `parentfield` = %s and `channel` = %s order by `idx` asc"
)


def channel_rows(doctype: str, name: str, channel: str) -> list:
	"""The log rows of one channel of one record, with what the purposes are decided by: one plain indexed
	query (every consent action on a site with several purposes runs it, where building it through
	``frappe.get_all`` cost more than running it)."""
	return frappe.db.sql(_CHANNEL_ROWS, (name, doctype, LOG_TABLE_FIELD, channel), as_dict=True)


def others(doctype: str, name: str, channel: str, site: rules.Purposes) -> dict[str, str | None]:
	"""The latest action covering each purpose of ``channel`` other than the default (None: never), for the
	engine's state checks. Empty on a site with one purpose (nothing is read)."""
	names = [p for p in site.of_channel(channel) if p != site.default]
	if not names:
		return {}
	rows = channel_rows(doctype, name, channel)
	result = {}
	for purpose in names:
		last = rules.last_covering(rows, channel, purpose, site.default)
		result[purpose] = last["action"] if last else None
	return result


def states(doc) -> list[dict]:
	"""Each channel and purpose of a record at a glance: the purpose's latest action and its date."""
	site = get_purposes()
	result = []
	for spec in CHANNELS.values():
		if spec.doctype != doc.doctype:
			continue
		rows = channel_rows(doc.doctype, doc.name, spec.name)
		for purpose in site.of_channel(spec.name):
			if purpose == site.default:
				mine = [r for r in rows if rules.covers_default(r, site.default)]
				last = mine[-1] if mine else None
				opted_in = bool(doc.get(spec.opt_field))
			else:
				last = rules.last_covering(rows, spec.name, purpose, site.default)
				opted_in = bool(last and last["action"] in GRANTING)
			result.append(
				{
					"channel": spec.name,
					"purpose": purpose,
					"default": purpose == site.default,
					"opted_in": opted_in,
					"action": last["action"] if last else None,
					"date": str(last["event_date"]) if last else None,
				}
			)
	return result


def purpose_of_notification(notification: str | None) -> str | None:
	"""The purpose an SMS Notification is checked against: its mapping in settings, else the settings'
	purpose of outbound texts, else None (the default purpose)."""
	settings = frappe.get_cached_doc(SETTINGS)
	if notification:
		for row in settings.get("notification_purposes") or ():
			if row.notification == notification:
				return row.purpose
	return settings.get("sms_purpose") or None
