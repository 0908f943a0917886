"""Bulk consent actions from the list views: every record through :func:`record_action`, each in its own
savepoint, so one refusal undoes only itself."""

from __future__ import annotations

import frappe
from frappe import _
from frappe.utils import strip_html

from opt_consent.ledger.consent import ActionRequest, record_action
from opt_consent.ledger.refusals import require_consent_doctype

# More than this in one request is refused as a whole: use a background job or several selections.
MAX_RECORDS = 500


def parse_names(names) -> list[str]:
	"""The record names as a list of distinct strings, from a list or a JSON list; refuse anything else."""
	if isinstance(names, str):
		try:
			names = frappe.parse_json(names)
		except ValueError:
			names = None
	if not isinstance(names, list) or not all(isinstance(n, str) and n.strip() for n in names):
		frappe.throw(_("Names must be a list of record names."), title=_("Not recorded"))
	names = list(dict.fromkeys(n.strip() for n in names))
	if not names:
		frappe.throw(_("Select at least one record."), title=_("Not recorded"))
	if len(names) > MAX_RECORDS:
		frappe.throw(
			_("Select at most {0} records at a time; {1} were selected.").format(MAX_RECORDS, len(names)),
			title=_("Not recorded"),
		)
	return names


def bulk_record(
	doctype: str | None, names, action: str, channel: str | None, date, time, method, time_zone=None
) -> dict:
	"""Apply ``action`` to every record; return ``{"succeeded": n, "refused": [{"name", "reason"}]}``."""
	require_consent_doctype(doctype)
	frappe.has_permission(doctype, "write", throw=True)
	names = parse_names(names)

	succeeded, refused = 0, []
	for i, name in enumerate(names):
		save_point = f"opt_consent_bulk_{i}"
		messages = len(frappe.local.message_log)
		frappe.db.savepoint(save_point)
		try:
			record_action(
				ActionRequest(doctype, name, action, channel, date, time, method, time_zone=time_zone)
			)
		except (frappe.ValidationError, frappe.PermissionError, frappe.DoesNotExistError) as error:
			frappe.db.rollback(save_point=save_point)
			refused.append({"name": name, "reason": reason_of(error)})
			# The refusal was reported in the result: do not also pop it up as a message.
			del frappe.local.message_log[messages:]
			frappe.flags.error_message = None
		else:
			frappe.db.release_savepoint(save_point)
			succeeded += 1
	return {"succeeded": succeeded, "refused": refused}


def reason_of(error: Exception) -> str:
	text = str(error) or frappe.flags.error_message or ""
	if not text and isinstance(error, frappe.PermissionError):
		text = _("Not permitted")
	return strip_html(text).strip() or _("Not recorded")
