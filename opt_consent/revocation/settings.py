"""What Opt Consent Settings say about reading replies (the site's own words) and the one confirmation text
(47 CFR 64.1200(a)(12))."""

from __future__ import annotations

import frappe
from frappe.utils import cint

from opt_consent.ledger.settings import SETTINGS
from opt_consent.revocation.rules import confirmation, replies

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
