"""Row-level read access to consent records: User Permissions, sharing, if-owner, permission hooks.

Fast paths read tables directly; they must never show a user a record ``frappe.get_list`` would hide.
"""

from __future__ import annotations

from collections.abc import Iterable

import frappe
from frappe.core.doctype.user_permission.user_permission import get_user_permissions
from frappe.permissions import get_role_permissions


def read_is_unrestricted(doctype: str) -> bool:
	"""Whether ``frappe.get_list`` would add no row condition for the session user on ``doctype``.

	No permission query hook, no User Permission of any kind, and read not limited to own records.
	"""
	user = frappe.session.user
	if user == "Administrator":
		return True
	if frappe.get_hooks("permission_query_conditions").get(doctype):
		return False
	if get_user_permissions(user):
		return False
	perms = get_role_permissions(frappe.get_meta(doctype), user)
	return bool(perms.get("read")) and not perms.get("if_owner", {}).get("read")


def can_read_any(doctype: str) -> bool:
	"""Whether the user may read ``doctype`` at all: by role, or through records shared with them."""
	return bool(frappe.has_permission(doctype, "read") or frappe.share.get_shared(doctype))


def readable(doctype: str, names: Iterable[str]) -> set[str]:
	"""The names among ``names`` the session user may read (row-level rules and sharing applied)."""
	names = list(dict.fromkeys(names))
	if not names:
		return set()
	if read_is_unrestricted(doctype):
		return set(names)
	found: set[str] = set()
	for start in range(0, len(names), 1000):
		found.update(
			frappe.get_list(
				doctype,
				filters={"name": ["in", names[start : start + 1000]]},
				pluck="name",
				limit_page_length=0,
			)
		)
	return found
