"""Records the app ships, seeded idempotently on install and on every migrate."""

import frappe

from opt_consent.ledger.log import ORDER_INDEX

# The permission model is described in the README.
ROLES = ("Opt Consent Manager", "Opt Consent User", "Opt Consent Auditor")

# Methods whose consent is written (47 CFR 64.1200(f)(9): a signed agreement, an electronic signature under
# the E-SIGN Act included): marked Written when they are first seeded, or by the patch that added the flag.
WRITTEN_METHODS = ("Written", "Web Form")

# name: (for_opt_in, for_opt_out, description)
OPT_METHODS = {
	"Verbal": (1, 1, "Said to an operator on a call."),
	"Written": (1, 1, "A signed letter or form."),
	"Web Form": (1, 1, "Submitted through a web form."),
	"Email Reply": (1, 1, "A reply to an email."),
	"Text Reply": (1, 1, "A reply to a text message (e.g. STOP or START)."),
	"Recorded Call": (1, 1, "Said on a call that was recorded."),
	# reasonable means of revoking (47 CFR 64.1200(a)(10)) that dialers, IVRs and mailrooms report
	"IVR Key Press": (0, 1, "A key pressed in an automated call (IVR) to stop calls or texts."),
	"Voicemail": (0, 1, "A voicemail left asking to stop."),
	"Letter": (0, 1, "A letter received asking to stop."),
}


# Composite indexes the hot queries need (single columns are search_index in the doctype JSON).
# New sites get them on install, existing ones through the patch add_query_indexes.
INDEXES = {
	"Phone": {
		# the lapse job's candidates: Text Opt on and the lapse date come
		"text_lapse_index": ("text_opt", "text_consent_lapses_on"),
		# the lapse job's newly due phones
		"text_due_index": ("text_reauth_status", "text_reauth_due_on"),
		# a party's records (a Contact's numbers, found or created on each save of the Contact)
		"party_index": ("link_doctype", "link_name"),
	},
	"Email": {
		# a party's records (a Contact's addresses)
		"party_index": ("link_doctype", "link_name"),
	},
	"Opt Log": {
		# a record's rows in log order: the form's newest rows, their count and the highest idx (appending,
		# the lapse job) are read from the index alone (it replaced log_order_index on (parent, idx), which
		# had to read every row to check parenttype and parentfield)
		ORDER_INDEX: ("parent", "parenttype", "parentfield", "idx"),
		# a channel's latest event (the out-of-order rule)
		"log_event_index": ("parent", "channel", "event_date", "event_time"),
		# the rows that may decide a purpose (its own and every revocation of all purposes): checked in the
		# index alone, so a purpose's check and scrub read no other purpose's rows
		"log_purpose_index": ("parent", "parenttype", "channel", "purpose", "scope"),
	},
}


def after_install() -> None:
	seed()
	ensure_indexes()


# Indexes earlier versions made that a wider one in INDEXES now covers: dropped by a patch.
RETIRED_INDEXES = {"Opt Log": {"log_order_index": ORDER_INDEX}}


def ensure_indexes() -> None:
	for doctype, indexes in INDEXES.items():
		for index_name, fields in indexes.items():
			frappe.db.add_index(doctype, list(fields), index_name)


def retire_indexes() -> None:
	"""Swap each retired index for the one that covers it, in one ALTER (one pass over the table)."""
	for doctype, retired in RETIRED_INDEXES.items():
		table = f"tab{doctype}"
		for old, new in retired.items():
			if not frappe.db.has_index(table, old):
				continue
			if frappe.db.has_index(table, new):
				frappe.db.sql_ddl(f"alter table `{table}` drop index `{old}`")
			else:
				columns = ", ".join(f"`{c}`" for c in INDEXES[doctype][new])
				frappe.db.sql_ddl(f"alter table `{table}` add index `{new}` ({columns}), drop index `{old}`")


def after_migrate() -> None:
	# Also repairs a site whose install ran against a stale module list (no doctypes, no roles).
	seed()
	ensure_indexes()


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
					"written": int(name in WRITTEN_METHODS),
					"description": description,
				}
			).insert(ignore_permissions=True)
	seed_default_purpose()
	seed_settings_defaults()
	seed_contact_rule_templates()


def seed_default_purpose() -> None:
	"""The one purpose a site starts with, named in settings as the default (once: an admin's choice of
	another default, or edits of this one, are kept). With it alone the app behaves as before purposes."""
	from opt_consent.ledger.rules.purposes import DEFAULT_PURPOSE, PRIOR_EXPRESS_CONSENT

	if not frappe.db.table_exists("Consent Purpose"):
		return
	if frappe.db.get_single_value("Opt Consent Settings", "default_purpose"):
		return
	if not frappe.db.exists("Consent Purpose", DEFAULT_PURPOSE):
		frappe.get_doc(
			{
				"doctype": "Consent Purpose",
				"purpose_name": DEFAULT_PURPOSE,
				"enabled": 1,
				"legal_basis": PRIOR_EXPRESS_CONSENT,
				"for_call": 1,
				"for_text": 1,
				"for_email": 1,
				"description": "Every call, text and email: the consent the records held before purposes existed.",
			}
		).insert(ignore_permissions=True)
	frappe.db.set_single_value("Opt Consent Settings", "default_purpose", DEFAULT_PURPOSE)
	frappe.clear_document_cache("Opt Consent Settings", "Opt Consent Settings")
	from opt_consent.ledger.site_purposes import clear_cache

	clear_cache()


def seed_contact_rule_templates() -> None:
	"""Ship the Regulation F rules in the settings, disabled (an admin enables them with one click).

	Added once: a site whose settings hold any row of the template keeps the admin's rows as they are.
	"""
	from opt_consent.contact_control.rules import REGULATION_F, regulation_f_template

	table = "Opt Consent Contact Rule"
	if not frappe.db.table_exists(table) or frappe.db.exists(table, {"template": REGULATION_F}):
		return
	settings = frappe.get_doc("Opt Consent Settings")
	for row in regulation_f_template():
		settings.append("contact_rules", row)
	settings.flags.ignore_permissions = True
	settings.flags.seeding = True
	settings.save()


# Opt Consent Settings fields whose shipped default must hold before an admin saves: the seed's flags (an opt
# out blocks), and the SMS door's safe default (a number with no consent record is withheld).
# The one confirmation after a revocation by text is on, with its shipped wording, until an admin says otherwise.
SETTINGS_DEFAULTS = (
	"opt_out_blocks",
	"text_opt_out_blocks_calls",
	"sms_no_record",
	"send_revocation_confirmation",
	"revocation_confirmation_text",
	# revoke-all (FCC 24-24, 47 CFR 64.1200(a)(10)) from the date now in force
	"revocation_scope",
	"revoke_all_from",
	"revocation_scope_question",
)


def seed_settings_defaults() -> None:
	"""Store the shipped default of each seed-reproducing flag that was never saved.

	A Single keeps no defaults: until an admin saves the settings, an unset Check reads as 0, which on a new
	site would silently turn off "an opt out sets Active = No and checks Do Not Call". A stored value (the
	admin's choice) is never overwritten.
	"""
	stored = frappe.db.get_singles_dict("Opt Consent Settings")
	meta = frappe.get_meta("Opt Consent Settings")
	changed = False
	for fieldname in SETTINGS_DEFAULTS:
		df = meta.get_field(fieldname)
		if df and df.default is not None and fieldname not in stored:
			frappe.db.set_single_value("Opt Consent Settings", fieldname, df.default)
			changed = True
	if changed:
		frappe.clear_document_cache("Opt Consent Settings", "Opt Consent Settings")


def before_uninstall() -> None:
	"""Remove the app's roles (and their assignments); keep every global Email Unsubscribe.

	The unsubscribes are people's opt outs: Frappe's own mailer keeps honouring them after the app is gone,
	as it honours any other unsubscribe. The consent records and their logs go with the app's doctypes
	(``bench uninstall-app`` takes a backup first unless told not to).
	"""
	for role in ROLES:
		frappe.db.delete("Has Role", {"role": role})
		frappe.db.delete("Custom DocPerm", {"role": role})
		if frappe.db.exists("Role", role):
			frappe.delete_doc("Role", role, ignore_permissions=True, force=True)
