"""A new site opts out as the seed says: the settings' flags are stored with their shipped defaults."""

import frappe

from opt_consent import install
from opt_consent.ledger import settings as consent
from opt_consent.ledger.rules import engine
from opt_consent.ledger.rules.purposes import DEFAULT_PURPOSE


def test_unsaved_settings_get_the_seed_defaults_and_an_admin_choice_is_kept():
	frappe.db.delete(
		"Singles", {"doctype": "Opt Consent Settings", "field": ("in", install.SETTINGS_DEFAULTS)}
	)
	frappe.clear_document_cache("Opt Consent Settings", "Opt Consent Settings")
	assert consent.get_policy() != engine.Policy()  # an unset Check reads as 0: why the defaults are stored

	install.seed()
	assert consent.get_policy() == engine.Policy(
		opt_out_blocks=True, text_opt_out_blocks_calls=True, default_purpose=DEFAULT_PURPOSE
	)

	frappe.db.set_single_value("Opt Consent Settings", "opt_out_blocks", 0)
	frappe.clear_document_cache("Opt Consent Settings", "Opt Consent Settings")
	install.seed()
	assert consent.get_policy().opt_out_blocks is False
	frappe.db.rollback()
	frappe.clear_document_cache("Opt Consent Settings", "Opt Consent Settings")
