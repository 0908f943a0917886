"""Records the app ships, seeded idempotently on install and on every migrate."""

import frappe

# The permission model is described in the README.
ROLES = ("Opt Consent Manager", "Opt Consent User", "Opt Consent Auditor")

# name: (for_opt_in, for_opt_out, description)
OPT_METHODS = {
	"Verbal": (1, 1, "Said to an operator on a call."),
	"Written": (1, 1, "A signed letter or form."),
	"Web Form": (1, 1, "Submitted through a web form."),
	"Email Reply": (1, 1, "A reply to an email."),
	"Text Reply": (1, 1, "A reply to a text message (e.g. STOP or START)."),
	"Recorded Call": (1, 1, "Said on a call that was recorded."),
}


def after_install() -> None:
	seed()


def after_migrate() -> None:
	seed()


def seed() -> None:
	"""Create the shipped roles and Opt Methods that are missing; never overwrite an admin's edits."""
	for role in ROLES:
		if not frappe.db.exists("Role", role):
			frappe.get_doc({"doctype": "Role", "role_name": role, "desk_access": 1}).insert(
				ignore_permissions=True
			)

	for name, (for_in, for_out, description) in OPT_METHODS.items():
		if not frappe.db.exists("Opt Method", name):
			frappe.get_doc(
				{
					"doctype": "Opt Method",
					"method_name": name,
					"enabled": 1,
					"for_opt_in": for_in,
					"for_opt_out": for_out,
					"description": description,
				}
			).insert(ignore_permissions=True)
