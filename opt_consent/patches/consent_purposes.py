"""Consent purposes arrive: the site's records and log rows move to the default purpose, by definition.

A log row that names no purpose belongs to the default purpose (:mod:`opt_consent.ledger.rules.coverage`), and the
record's own Call Opt / Text Opt / Email Opt fields are the default purpose's state. So nothing is
rewritten: no sealed row changes (its hash stays valid), whatever the size of the log. The patch seeds the
default purpose, names it in settings, and marks the shipped written Opt Methods (Written, Web Form) as
written once, since the flag is new (an admin's later choice is never overwritten: this runs once).
"""

import frappe

from opt_consent.install import WRITTEN_METHODS, seed_default_purpose, seed_settings_defaults


def execute():
	seed_default_purpose()
	seed_settings_defaults()
	for name in WRITTEN_METHODS:
		if frappe.db.exists("Opt Method", name):
			frappe.db.set_value("Opt Method", name, "written", 1, update_modified=False)
