"""Whitelisted methods of the Evidence action: proof of a record's consent for a dispute.

Thin: argument checks, then :mod:`opt_consent.evidence_document.document`. Producing evidence is a POST
(it logs an Evidence Export); reading what the desk may offer is a GET. Managers, auditors and System
Managers, on records they may read (row-level permissions apply); nobody else.
"""

import frappe

from opt_consent.evidence_document import document as evidence
from opt_consent.ledger.refusals import require, require_readable


@frappe.whitelist(methods=["GET"])
def options(doctype: str, name: str) -> dict:
	"""What the Evidence button may offer on this record: ``{can_produce, pdf, pdf_message, print_format}``."""
	require_readable(doctype, name)
	return {
		"can_produce": evidence.may_produce(),
		"pdf": evidence.pdf_available(),
		"pdf_message": "" if evidence.pdf_available() else evidence.pdf_unavailable(),
		"print_format": evidence.PRINT_FORMATS[doctype],
	}


@frappe.whitelist(methods=["POST"])
def produce(doctype: str, name: str, format: str = "JSON") -> dict | None:
	"""Produce a record's evidence and log it as an Evidence Export.

	``format``: ``JSON`` (the JSON twin is downloaded), ``PDF`` (the print format as PDF, where the site
	can make PDFs) or ``Print`` (returns ``{export, url}``: the desk opens the print view at ``url``).
	"""
	require(doctype=doctype, name=name, format=format)
	export, data = evidence.produce(doctype, name, format)
	if data is None:
		return {
			"export": export["name"],
			"url": "/printview?"
			+ frappe.utils.urlencode(
				{
					"doctype": doctype,
					"name": name,
					"format": evidence.PRINT_FORMATS[doctype],
					"no_letterhead": 1,
					"evidence_export": export["name"],
				}
			),
		}
	download(evidence.file_name(doctype, name, format), data)
	return None


@frappe.whitelist(methods=["POST"])
def produce_for_contact(contact: str) -> None:
	"""The JSON twin of every consent record of a Contact that the caller may read, in one zip (each
	record's export logged on its own)."""
	require(contact=contact)
	_exports, data = evidence.produce_for_contact(contact)
	download(f"contact-{frappe.scrub(contact)}-evidence.zip", data)


def download(filename: str, data: bytes) -> None:
	frappe.local.response.filename = filename
	frappe.local.response.filecontent = data
	frappe.local.response.type = "download"


def opt_consent_evidence(doc) -> dict:
	"""Jinja method of the evidence print formats: the document to render (see
	:func:`opt_consent.evidence_document.document.print_context`)."""
	return evidence.print_context(doc)
