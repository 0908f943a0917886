"""Turn the pure rules' refusals into Frappe errors: translated, escaped, and nothing written."""

from __future__ import annotations

import frappe
from frappe import _
from frappe.utils import escape_html

from opt_consent.model.channels import DOCTYPES
from opt_consent.model.messages import Refused

# the pure rules' no-op marker, under a name Frappe's message extractor reads
from opt_consent.model.messages import _ as _lt


class ConsentRefusedError(frappe.ValidationError):
	"""The consent rules refused an action; nothing was written."""


def translate(refusal: Refused) -> str:
	# arguments may echo user input (a method name, a note): escape it, the desk renders messages as HTML
	args = [escape_html(_(arg)) if isinstance(arg, str) else arg for arg in refusal.args_]
	return _(refusal.message).format(*args)


def refuse(refusal: Refused, title: str | None = None):
	frappe.throw(translate(refusal), exc=ConsentRefusedError, title=title or _("Not recorded"))


def require(**arguments) -> None:
	"""Refuse, with a clear message, a call that lacks an argument."""
	for name, value in arguments.items():
		if value is None or (isinstance(value, str) and not value.strip()):
			frappe.throw(
				_("{0} is required.").format(_(name.replace("_", " ").title())), title=_("Not recorded")
			)


def require_consent_doctype(doctype) -> None:
	"""Refuse a doctype that is not a consent record (Phone or Email), with the engine's message."""
	if doctype not in DOCTYPES:
		refuse(Refused("bad_doctype", _lt("Consent can only be recorded on a Phone or an Email.")))


def require_readable(doctype, name) -> None:
	"""Refuse a call that names no record, or not a Phone or Email, or one the caller may not read."""
	require(doctype=doctype, name=name)
	require_consent_doctype(doctype)
	frappe.has_permission(doctype, "read", name, throw=True)
