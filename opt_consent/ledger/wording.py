"""Frappe side of Consent Wording (:mod:`opt_consent.ledger.rules.wording`): the doctype's guards, Publish and
New Version, the versions offered for a channel and method, and the evidence a consent action seals."""

from __future__ import annotations

import frappe
from frappe import _
from frappe.model.document import Document
from frappe.utils import cint, get_datetime, now_datetime

from opt_consent.ledger.refusals import translate
from opt_consent.ledger.rules import wording as rules
from opt_consent.model.messages import Refused

DOCTYPE = "Consent Wording"
METHODS_FIELD = "methods"
# What a save compares of a version (besides its methods' table).
COMPARED = (
	"title",
	"channels",
	"text",
	"version",
	"status",
	"supersedes",
	"published_on",
	"published_by",
	"superseded_on",
	"superseded_by",
	"text_hash",
)


class WordingLockedError(frappe.ValidationError):
	"""A change to a Consent Wording its status does not allow."""


def refuse_locked(refusal: Refused, title: str | None = None):
	"""A wording refusal, translated and escaped, with the wording's error class."""
	frappe.throw(translate(refusal), exc=WordingLockedError, title=title or _("Not saved"))


def methods_of(doc) -> tuple[str, ...]:
	return tuple(sorted(row.get("method") for row in doc.get(METHODS_FIELD) or () if row.get("method")))


def values_of(doc) -> dict:
	values = {field: doc.get(field) for field in COMPARED}
	for field in ("published_on", "superseded_on"):
		values[field] = str(get_datetime(values[field])) if values[field] else None
	values["version"] = cint(values["version"]) or None
	values[METHODS_FIELD] = methods_of(doc)
	return values


# --- the doctype's controller hooks ------------------------------------------------------------------


def autoname(doc: Document) -> None:
	"""``{title} v{version}``, the version one more than the title's latest."""
	try:
		doc.title = rules.check_title(doc.title)
	except Refused as refusal:
		refuse_locked(refusal)
	existing = frappe.get_all(DOCTYPE, filters={"title": doc.title}, pluck="version")
	doc.version = rules.next_version(existing)
	doc.name = rules.version_name(doc.title, doc.version)


def validate(doc: Document) -> None:
	"""Only a Draft is edited; a status changes only by Publish (and the supersession it causes)."""
	before = doc.get_doc_before_save()
	try:
		doc.channels = rules.format_channels(rules.parse_channels(doc.channels))
		if before is None:
			if doc.is_new():
				rules.check_change(None, doc.status or rules.DRAFT, set(), False)
				doc.status = rules.DRAFT
				check_supersedes(doc)
			return
		old, new = values_of(before), values_of(doc)
		changed = rules.changed(old, new, (*COMPARED, METHODS_FIELD))
		rules.check_change(before.status, doc.status, changed, bool(doc.flags.wording_transition))
	except Refused as refusal:
		refuse_locked(refusal)


def check_supersedes(doc: Document) -> None:
	"""A new Draft may supersede only a Published version of its own title (New Version sets it)."""
	if not doc.supersedes:
		return
	found = frappe.db.get_value(DOCTYPE, doc.supersedes, ["title", "status"], as_dict=True)
	if not found or found.title != doc.title or found.status != rules.PUBLISHED:
		frappe.throw(
			_("A new version supersedes the published version of its own title; {0} is not one.").format(
				frappe.bold(doc.supersedes)
			),
			exc=WordingLockedError,
			title=_("Not saved"),
		)


def on_trash(doc: Document) -> None:
	try:
		rules.check_removal(stored_status(doc.name) or doc.status, "delete")
	except Refused as refusal:
		refuse_locked(refusal, _("Not deleted"))


def before_rename(doc: Document, old: str) -> None:
	try:
		rules.check_removal(stored_status(old) or doc.status, "rename")
	except Refused as refusal:
		refuse_locked(refusal, _("Not renamed"))
	frappe.throw(
		_("A Consent Wording is named by its title and version; make a new one instead of renaming it."),
		exc=WordingLockedError,
		title=_("Not renamed"),
	)


def stored_status(name: str) -> str | None:
	return frappe.db.get_value(DOCTYPE, name, "status")


# --- Publish and New Version --------------------------------------------------------------------------


def publish(name: str) -> Document:
	"""Publish a Draft; the title's Published version (if any) becomes Superseded, in one transaction."""
	doc = frappe.get_doc(DOCTYPE, name, for_update=True)
	doc.check_permission("write")
	try:
		rules.check_publish(doc.status, doc.text, doc.channels)
	except Refused as refusal:
		refuse_locked(refusal, _("Not published"))
	now = now_datetime()
	table = frappe.qb.DocType(DOCTYPE)
	previous = [
		row[0]
		for row in (
			frappe.qb.from_(table)
			.select(table.name)
			.where(table.title == doc.title)
			.where(table.status == rules.PUBLISHED)
			.where(table.name != doc.name)
			.for_update()
		).run()
	]
	for other in previous:
		old = frappe.get_doc(DOCTYPE, other, for_update=True)
		old.status = rules.SUPERSEDED
		old.superseded_on = now
		old.superseded_by = doc.name
		old.flags.wording_transition = True
		old.save(ignore_permissions=True)  # the caller may write the new version; this one follows it
	doc.status = rules.PUBLISHED
	doc.published_on = now
	doc.published_by = frappe.session.user
	doc.text_hash = rules.text_hash(doc.text)
	if not doc.supersedes and previous:
		doc.supersedes = previous[0]
	doc.flags.wording_transition = True
	doc.save()
	return doc


def new_version(name: str) -> Document:
	"""A Draft copying a Published version's title, channels, methods and text, superseding it once
	published."""
	source = frappe.get_doc(DOCTYPE, name)
	source.check_permission("read")
	frappe.has_permission(DOCTYPE, "create", throw=True)
	if source.status != rules.PUBLISHED:
		frappe.throw(
			_("A new version is made from the Published version; {0} is {1}.").format(
				frappe.bold(source.name), _(source.status)
			),
			exc=WordingLockedError,
			title=_("Not created"),
		)
	draft = frappe.get_doc(
		{
			"doctype": DOCTYPE,
			"title": source.title,
			"channels": source.channels,
			METHODS_FIELD: [{"method": method} for method in methods_of(source)],
			"text": source.text,
			"supersedes": source.name,
		}
	)
	return draft.insert()


# --- what the desk offers, and what an action seals ---------------------------------------------------


def load(name: str) -> rules.Wording | None:
	"""A version as the rules see it, read without the caller's permissions (it is checked as evidence)."""
	if not name or not isinstance(name, str):
		return None
	row = frappe.db.get_value(
		DOCTYPE,
		name,
		["name", "status", "channels", "text", "published_on", "superseded_on", "text_hash"],
		as_dict=True,
	)
	if not row:
		return None
	methods = frappe.get_all(
		"Consent Wording Method",
		filters={"parenttype": DOCTYPE, "parent": row.name, "parentfield": METHODS_FIELD},
		pluck="method",
	)
	return to_rules(row, methods)


def to_rules(row, methods) -> rules.Wording:
	try:
		channels = rules.parse_channels(row.channels)
	except Refused:
		channels = ()
	return rules.Wording(
		name=row.name,
		status=row.status,
		channels=channels,
		methods=tuple(sorted(methods)),
		text=row.text or "",
		published_on=get_datetime(row.published_on) if row.published_on else None,
		superseded_on=get_datetime(row.superseded_on) if row.superseded_on else None,
		stored_hash=row.text_hash or None,
	)


def method_requires_wording(method: str | None) -> bool:
	if not method or not isinstance(method, str):
		return False
	return bool(cint(frappe.get_cached_value("Opt Method", method, "requires_wording")))


def evidence(action: str, channel: str, method: str | None, wording: str | None, event_at) -> dict:
	"""``wording`` and ``wording_hash`` for the log row of an action, or :class:`Refused` (raised)."""
	return rules.check_for_action(
		action,
		channel,
		method,
		wording,
		load(wording) if wording else None,
		event_at,
		method_requires_wording(method),
	)


def offered(channel: str | None, method: str | None) -> dict:
	"""The Published versions for ``channel`` and ``method`` that the caller may read, with their text, and
	whether the method requires one."""
	rows = frappe.get_list(
		DOCTYPE,
		filters={"status": rules.PUBLISHED},
		fields=[
			"name",
			"title",
			"version",
			"status",
			"channels",
			"text",
			"published_on",
			"superseded_on",
			"text_hash",
		],
		order_by="name asc",
		limit_page_length=0,
	)
	methods: dict[str, list[str]] = {}
	if rows:
		for row in frappe.get_all(
			"Consent Wording Method",
			filters={"parenttype": DOCTYPE, "parent": ["in", [r.name for r in rows]]},
			fields=["parent", "method"],
		):
			methods.setdefault(row.parent, []).append(row.method)
	by_name = {row.name: row for row in rows}
	current = rules.current((to_rules(row, methods.get(row.name, ())) for row in rows), channel, method)
	return {
		"required": method_requires_wording(method),
		"wordings": [
			{
				"name": w.name,
				"title": by_name[w.name].title,
				"version": by_name[w.name].version,
				"text": w.text,
				"text_hash": rules.text_hash(w.text),
			}
			for w in current
		],
	}
