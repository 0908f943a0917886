"""Whitelisted methods of Consent Wording: Publish, New Version, and the versions the consent dialog offers."""

import frappe

from opt_consent.ledger import wording
from opt_consent.ledger.refusals import require


@frappe.whitelist(methods=["POST"])
def publish(name: str | None = None) -> dict:
	"""Publish a Draft Consent Wording (write permission); the title's Published version becomes Superseded."""
	require(name=name)
	return wording.publish(name).as_dict()


@frappe.whitelist(methods=["POST"])
def new_version(name: str | None = None) -> dict:
	"""A new Draft of a Published Consent Wording, with its text, superseding it once published (create
	permission)."""
	require(name=name)
	return wording.new_version(name).as_dict()


@frappe.whitelist(methods=["GET"])
def offered(channel: str | None = None, method: str | None = None) -> dict:
	"""The Published Consent Wordings for ``channel`` and Opt Method ``method`` the caller may read, with
	their text (``{"required": bool, "wordings": [{name, title, version, text, text_hash}]}``)."""
	require(channel=channel)
	return wording.offered(channel, method)
