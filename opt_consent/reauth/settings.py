"""The texting reauthorisation rules as Opt Consent Settings and each Consent Purpose set them."""

from __future__ import annotations

import frappe

from opt_consent.ledger.rules.purposes import DEFAULT_PURPOSE
from opt_consent.ledger.settings import SETTINGS
from opt_consent.ledger.site_purposes import get_purposes
from opt_consent.reauth import rules as reauth


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
