"""Evidence for a dispute: one consent record's whole story as a document (print / PDF) and its JSON twin.

The JSON twin (:mod:`opt_consent.evidence_document.rules.evidence_file`) carries the record, EVERY log row (read from the
table in pages, not the form's window), the chain's verdict and head hash, the wordings the rows name, the
Withheld Messages for its number and the Contact Attempts for its address; the print formats ``Phone
Evidence`` and ``Email Evidence`` render the same content. Producing evidence writes an **Evidence Export**
(who, when, format, SHA-256 of the JSON twin, head hash), which nobody edits or deletes.
"""

from __future__ import annotations

import io
import json
import shutil
import zipfile

import frappe
from frappe import _
from frappe.model.naming import make_autoname
from frappe.utils import now_datetime

from opt_consent.evidence_document.rules import evidence_file
from opt_consent.ledger import site_purposes as purposes
from opt_consent.ledger.integrity import INTEGRITY_ROLES, check
from opt_consent.ledger.log import record_log_query
from opt_consent.ledger.refusals import require_consent_doctype
from opt_consent.model.channels import RECORDS, channels_of
from opt_consent.model.evidence import LOG_DOCTYPE

EXPORT = "Evidence Export"
EXPORT_NAMING = "EVX-.#####"
# Who may produce evidence (the same people who may verify the log). Opt Consent Users may not: evidence
# leaves the system, and its production is a compliance act (see docs/VERIFY-EVIDENCE.md).
EVIDENCE_ROLES = INTEGRITY_ROLES
PRINT_FORMATS = {"Phone": "Phone Evidence", "Email": "Email Evidence"}
JSON, PDF, PRINT = "JSON", "PDF", "Print"
FORMATS = (JSON, PDF, PRINT)
# Log rows read per query: the whole log is read, page by page.
PAGE = 500
WORDING = "Consent Wording"
ATTEMPT = "Contact Attempt"
WITHHELD = "Withheld Message"
# Layout fields carry no data.
_NO_DATA = frozenset(
	("Section Break", "Column Break", "Tab Break", "HTML", "Table", "Table MultiSelect", "Button")
)


def may_produce(user: str | None = None) -> bool:
	user = user or frappe.session.user
	if user == "Guest":
		return False
	return user == "Administrator" or bool(set(EVIDENCE_ROLES) & set(frappe.get_roles(user)))


def require_role() -> None:
	if not may_produce():
		frappe.throw(
			_(
				"Only a System Manager, an Opt Consent Manager or an Opt Consent Auditor can produce consent evidence."
			),
			exc=frappe.PermissionError,
		)


def require_evidence_access(doctype: str, name: str) -> None:
	"""Refuse anyone but a System Manager, a manager or an auditor who may read this very record."""
	require_consent_doctype(doctype)
	require_role()
	if not name or not frappe.db.exists(doctype, name):
		raise frappe.DoesNotExistError(_("{0} {1} not found").format(_(doctype), name))
	frappe.has_permission(doctype, "read", name, throw=True)


def all_log_rows(doctype: str, name: str) -> list[dict]:
	"""Every log row of the record in log order, read in pages of :data:`PAGE`."""
	log = frappe.qb.DocType(LOG_DOCTYPE)
	rows: list[dict] = []
	while True:
		page = (
			record_log_query(doctype, name)
			.orderby(log.idx)
			.orderby(log.creation)
			.orderby(log.name)
			.limit(PAGE)
			.offset(len(rows))
		).run(as_dict=True)
		rows.extend(page)
		if len(page) < PAGE:
			return rows


def data_fields(doctype: str, wanted=None) -> list[str]:
	"""A doctype's data fields (optionally those of ``wanted`` it has), for reading a record generically."""
	meta = frappe.get_meta(doctype)
	names = [f.fieldname for f in meta.fields if f.fieldtype not in _NO_DATA]
	if wanted is None:
		names += ["creation", "modified"]
	if wanted is not None:
		names = [f for f in wanted if f in names]
	return ["name", *names]


def plain(value):
	"""Dates, times, decimals as JSON carries them (Frappe's own JSON forms)."""
	return json.loads(frappe.as_json(value))


def record_section(doctype: str, record: dict) -> dict:
	spec = RECORDS[doctype]
	channels = {}
	for channel in channels_of(doctype):
		channels[channel.name] = {
			"label": _(channel.label),
			"opted_in": bool(record.get(channel.opt_field)),
			"opt_in_date": record.get(channel.in_date),
			"opt_in_method": record.get(channel.in_method),
			"opt_out_date": record.get(channel.out_date),
			"opt_out_method": record.get(channel.out_method),
		}
	return {
		"doctype": doctype,
		"name": record.get("name"),
		"address": record.get(spec.address_field),
		"normalised_address": record.get(spec.key_field),
		"type": record.get(spec.type_field),
		"party": {"doctype": record.get("link_doctype"), "name": record.get("link_name")},
		"active": bool(record.get("active")),
		"blocked": bool(record.get(spec.block_field)),
		"block_label": _(spec.block_label),
		"channels": channels,
		"fields": {key: value for key, value in record.items() if key not in ("name",)},
	}


def wordings(rows: list[dict]) -> dict[str, dict]:
	"""The Consent Wording versions the rows name, with their text (when the doctype exists)."""
	names = sorted({row.get("wording") for row in rows if row.get("wording")})
	if not names or not frappe.db.exists("DocType", WORDING):
		return {}
	fields = data_fields(WORDING, ("title", "version", "status", "text", "text_hash", "published_on"))
	found = frappe.get_all(WORDING, filters={"name": ["in", names]}, fields=fields)
	out = {row.name: {key: row.get(key) for key in fields if key != "name"} for row in found}
	for missing in set(names) - set(out):
		out[missing] = {"missing": True}
	return out


def withheld_messages(doctype: str, key: str) -> list[dict]:
	"""Texts to the record's number that the SMS door withheld (or sent without consent in force)."""
	if doctype != "Phone" or not key or not frappe.db.exists("DocType", WITHHELD):
		return []
	return frappe.get_all(
		WITHHELD,
		filters={"number_e164": key},
		fields=data_fields(WITHHELD),
		order_by="created_at asc, name asc",
		limit_page_length=0,
	)


def contact_attempts(doctype: str, key: str) -> list[dict]:
	"""Attempts to reach the record's address on its channels (when the Contact Attempt doctype exists)."""
	if not key or not frappe.db.exists("DocType", ATTEMPT):
		return []
	meta = frappe.get_meta(ATTEMPT)
	filters = {"address": key}
	if meta.has_field("channel"):
		filters["channel"] = ["in", [channel.name for channel in channels_of(doctype)]]
	order = "attempted_at asc, name asc" if meta.has_field("attempted_at") else "creation asc, name asc"
	return frappe.get_all(
		ATTEMPT, filters=filters, fields=data_fields(ATTEMPT), order_by=order, limit_page_length=0
	)


def build(doctype: str, name: str, at=None) -> dict:
	"""The JSON twin of a record's evidence (plain JSON values). The caller has checked access."""
	record = frappe.db.get_value(doctype, name, data_fields(doctype), as_dict=True)
	key = record.get(RECORDS[doctype].key_field) or ""
	rows = all_log_rows(doctype, name)
	verdict = check(doctype, record, rows)
	user = frappe.session.user
	document = {
		"format": evidence_file.FORMAT,
		"format_version": evidence_file.FORMAT_VERSION,
		"produced": {
			"at": at or now_datetime(),
			"by": user,
			"by_name": frappe.utils.get_fullname(user),
			"site": frappe.local.site,
			"time_zone": frappe.utils.get_system_timezone(),
		},
		"record": record_section(doctype, record),
		"chain": {
			"parenttype": doctype,
			"parent": name,
			"subject": key,
			"rows": len(rows),
			"head_hash": (rows[-1].get("row_hash") or "") if rows else "",
			"verification": {k: v for k, v in verdict.items() if k not in ("doctype", "name")},
			"schemes": evidence_file.schemes(),
		},
		# consent per channel and Consent Purpose (its history is the log: each row names its purpose)
		"purposes": purposes.states(frappe._dict(record, doctype=doctype, name=name)),
		"log": [evidence_file.file_row(row) for row in rows],
		"wordings": wordings(rows),
		"withheld_messages": withheld_messages(doctype, key),
		"contact_attempts": contact_attempts(doctype, key),
		"contact_attempts_recorded": bool(frappe.db.exists("DocType", ATTEMPT)),
	}
	return plain(document)


def pdf_available() -> bool:
	"""Whether this site can turn a print into PDF (Frappe's wkhtmltopdf, or a registered generator)."""
	return bool(shutil.which("wkhtmltopdf"))


def pdf_unavailable() -> str:
	return _(
		"PDF is not available on this site: wkhtmltopdf is not installed on the server. Use Print (the browser can save the print as PDF) or Download JSON."
	)


def require_pdf() -> None:
	if not pdf_available():
		frappe.throw(pdf_unavailable(), title=_("PDF not available"))


def _context_key(doctype: str, name: str) -> tuple[str, str]:
	return (doctype, name)


def print_context(doc) -> dict:
	"""What the evidence print format renders: the JSON twin and the Evidence Export it belongs to.

	Inside :func:`produce` (the PDF) the very document that was logged is rendered. Opened in the desk's
	print view, the document is built afresh for the reader (who must be allowed to produce evidence) and
	shows the export the Evidence button logged for it (``evidence_export`` in the URL), if it is this
	record's; otherwise it says that this print was not logged.
	"""
	cached = getattr(frappe.local, "opt_consent_evidence", {}).get(_context_key(doc.doctype, doc.name))
	if cached:
		return cached
	require_evidence_access(doc.doctype, doc.name)
	export = None
	wanted = frappe.form_dict.get("evidence_export")
	if wanted:
		found = frappe.db.get_value(EXPORT, wanted, ["*"], as_dict=True)
		if found and (found.record_doctype, found.record_name) == (doc.doctype, doc.name):
			export = plain(found)
	return {"document": build(doc.doctype, doc.name), "export": export}


def log_export(doctype: str, name: str, document: dict, fmt: str, digest: str, *, export_name=None, **extra):
	verification = document["chain"]["verification"]
	party = document["record"]["party"]
	export = frappe.get_doc(
		{
			"doctype": EXPORT,
			"record_doctype": doctype,
			"record_name": name,
			"record_created": document["record"]["fields"].get("creation"),
			"address": document["chain"]["subject"],
			"party": " ".join(p for p in (party.get("doctype"), party.get("name")) if p),
			"format": fmt,
			"produced_by": frappe.session.user,
			"produced_at": document["produced"]["at"],
			"rows": document["chain"]["rows"],
			"chain_ok": 1 if verification.get("ok") else 0,
			"verification": verification.get("message") or _("The log verifies."),
			"head_hash": document["chain"]["head_hash"],
			"sha256": digest,
			**extra,
		}
	)
	export.flags.from_evidence = True
	export.insert(ignore_permissions=True, set_name=export_name)
	return export


def produce(doctype: str, name: str, fmt: str) -> tuple[dict, bytes | None]:
	"""Produce a record's evidence in ``fmt`` and log it. Returns the Evidence Export (as a dict) and the
	bytes to download: the JSON twin, the PDF, or None for Print (the desk opens the print view)."""
	if fmt not in FORMATS:
		frappe.throw(_("Unknown evidence format {0}: use JSON, PDF or Print.").format(frappe.bold(fmt)))
	require_evidence_access(doctype, name)
	if fmt == PDF:
		require_pdf()
	at = now_datetime()
	document = build(doctype, name, at)
	data = evidence_file.dumps(document)
	digest = evidence_file.sha256(data)
	if fmt == JSON:
		export = log_export(doctype, name, document, fmt, digest)
		return export.as_dict(), data
	if fmt == PRINT:
		export = log_export(doctype, name, document, fmt, digest)
		return export.as_dict(), None
	# PDF: the logged document itself is rendered, with the name of its Evidence Export on it.
	export_name = make_autoname(EXPORT_NAMING, EXPORT)
	context = {
		"document": document,
		"export": plain({"name": export_name, "format": PDF, "sha256": digest, "produced_at": at}),
	}
	cache = frappe.local.opt_consent_evidence = getattr(frappe.local, "opt_consent_evidence", {})
	cache[_context_key(doctype, name)] = context
	try:
		pdf = frappe.get_print(doctype, name, PRINT_FORMATS[doctype], as_pdf=True, no_letterhead=1)
	finally:
		cache.pop(_context_key(doctype, name), None)
	export = log_export(
		doctype,
		name,
		document,
		fmt,
		digest,
		export_name=export_name,
		document_sha256=evidence_file.sha256(pdf),
	)
	return export.as_dict(), pdf


def contact_records(contact: str) -> list[tuple[str, str]]:
	"""The consent records of a Contact the user may read, Phones first."""
	frappe.has_permission("Contact", "read", contact, throw=True)
	out = []
	for doctype in RECORDS:
		out.extend(
			(doctype, name)
			for name in frappe.get_list(
				doctype,
				filters={"link_doctype": "Contact", "link_name": contact},
				pluck="name",
				order_by="name asc",
				limit_page_length=0,
			)
		)
	return out


def produce_for_contact(contact: str) -> tuple[list[dict], bytes]:
	"""One JSON twin per consent record of the Contact (each logged), in one zip."""
	require_role()
	records = contact_records(contact)
	if not records:
		frappe.throw(_("Contact {0} has no consent records you may read.").format(frappe.bold(contact)))
	exports, buffer = [], io.BytesIO()
	with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
		for doctype, name in records:
			export, data = produce(doctype, name, JSON)
			exports.append(export)
			archive.writestr(file_name(doctype, name, JSON), data)
	return exports, buffer.getvalue()


def file_name(doctype: str, name: str, fmt: str) -> str:
	return f"{frappe.scrub(doctype)}-{name}-evidence.{'pdf' if fmt == PDF else 'json'}"
