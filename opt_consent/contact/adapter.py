"""Consent on Frappe's Contact: every number and address on a Contact has its consent record.

- :func:`on_contact_update` (``doc_events`` Contact ``on_update``, which Frappe runs on insert and on save,
  from the form, REST, ``frappe.client`` and Data Import alike) finds or creates the Phone and Email records
  whose party is the Contact. Set-based: one indexed query per record doctype for the Contact's existing
  records by (party, key), then one bulk insert of the missing ones, named by Frappe's naming.
- :func:`on_record_update` (``doc_events`` Phone / Email ``on_update``) puts a consent action on the
  Contact's timeline.
- :func:`section` is what the Contact form's Consent section shows.

Removing a number from a Contact leaves its record (evidence) linked to the Contact; adding it back finds it.
Frappe's rename and merge rewrite the records' party (a Dynamic Link) themselves.
"""

from __future__ import annotations

import re

import frappe
from frappe import _
from frappe.model.naming import set_new_name
from frappe.utils import escape_html, format_date, format_time, get_link_to_form, now_datetime

from opt_consent.contact import rules as party
from opt_consent.contact_control.adapter import desk_verdict
from opt_consent.ledger import settings
from opt_consent.ledger import site_purposes as purposes
from opt_consent.ledger.log import latest_per_channel
from opt_consent.ledger.refusals import translate
from opt_consent.model.channels import CHANNELS, OPT_IN, PHONE, RECORDS, TEXT_REAUTH, channels_of
from opt_consent.model.evidence import LOG_TABLE_FIELD

CONTACT = "Contact"
PARTY_TYPE, PARTY = "link_doctype", "link_name"
# What the Consent section reads of a Phone besides the channels' fields (texting reauthorisation).
PHONE_EXTRA = ("text_reauth_status", "text_reauth_due_on", "text_consent_lapses_on")


# ---------------------------------------------------------------- sync


def on_contact_update(doc, method=None) -> None:
	"""``doc_events`` hook of Contact: find or create the consent record of each number and address."""
	sync(doc)


def addresses_of(contact) -> tuple[list[tuple[str, bool]], list[str]]:
	"""The Contact's numbers (number, is its primary mobile) and addresses: its tables and the fields Frappe
	keeps in step with them (``mobile_no``, ``phone``, ``email_id``)."""
	phones = [(row.phone, bool(row.is_primary_mobile_no)) for row in contact.get("phone_nos") or ()]
	phones += [(contact.get("mobile_no"), True), (contact.get("phone"), False)]
	emails = [row.email_id for row in contact.get("email_ids") or ()] + [contact.get("email_id")]
	return phones, emails


def sync(contact) -> list[str]:
	"""Create the records the Contact lacks; returns their names. Never changes or deletes a record.

	The sync is the app's own bookkeeping of a save the user was allowed to make, so it does not ask for
	create permission on Phone / Email (a CRM user without the app's roles still gets the records). A number
	that is not valid (or has no country code and no default country) is skipped with a message; the
	Contact is saved all the same.
	"""
	phones, emails = addresses_of(contact)
	wanted, skipped = party.plan(phones, emails, settings.normalize)
	if skipped:
		tell_skipped(skipped)
	if not wanted:
		return []
	found = existing_keys(contact.doctype, contact.name, wanted)
	missing: dict[str, list[party.Wanted]] = {}
	for item in wanted:
		if (item.doctype, item.key) not in found:
			missing.setdefault(item.doctype, []).append(item)
	if not missing:
		return []
	names = reserve_names({doctype: len(items) for doctype, items in missing.items()})
	created = []
	for doctype, items in missing.items():
		created += create_records(doctype, contact.doctype, contact.name, items, names.get(doctype))
	return created


def existing_keys(party_type: str, party_name: str, wanted: list[party.Wanted]) -> set[tuple[str, str]]:
	"""(doctype, key) of the records the party already has among ``wanted``: one query on the records'
	``party_index``, every record doctype at once."""
	selects, values = [], []
	for doctype, record in RECORDS.items():
		keys = [w.key for w in wanted if w.doctype == doctype]
		if keys:
			selects.append(
				f"select %s, `{record.key_field}` from `tab{doctype}` "
				f"where `{PARTY_TYPE}` = %s and `{PARTY}` = %s and `{record.key_field}` in %s"
			)
			values += [doctype, party_type, party_name, tuple(keys)]
	rows = frappe.db.sql(" union all ".join(selects), values)
	return {(row[0], row[1]) for row in rows}


# "PHN-.#####": a prefix and a counter in Frappe's tabSeries
_SERIES = re.compile(r"^(?P<key>[^.#]+)\.(?P<digits>#+)$")


def reserve_names(counts: dict[str, int]) -> dict[str, list[str]]:
	"""Names for ``counts[doctype]`` new records, from the series Frappe's naming (``getseries``) takes them
	from, reserved in two statements for every doctype at once. A doctype named otherwise (a Document Naming
	Rule, another autoname) is left out: its records are named by ``set_new_name`` one by one."""
	series: dict[str, tuple[str, int, int]] = {}  # doctype: (key, digits, count)
	for doctype, count in counts.items():
		match = _SERIES.match(frappe.get_meta(doctype).autoname or "")
		rules = frappe.cache_manager.get_doctype_map(
			"Document Naming Rule",
			doctype,
			filters={"document_type": doctype, "disabled": 0},
			order_by="priority desc",
		)
		if match and not rules:
			series[doctype] = (match["key"], len(match["digits"]), count)
	if not series:
		return {}
	keys = tuple(key for key, _digits, _count in series.values())
	current = dict(
		frappe.db.sql("select name, current from `tabSeries` where name in %s for update", (keys,))
	)
	for key in keys:
		if current.get(key) is None:
			frappe.db.sql("insert into `tabSeries` (`name`, `current`) values (%s, 0)", (key,))
			current[key] = 0
	cases = " ".join("when %s then %s" for _ in series)
	frappe.db.sql(
		f"update `tabSeries` set `current` = `current` + case `name` {cases} end where `name` in %s",
		[*(v for key, _digits, count in series.values() for v in (key, count)), keys],
	)
	return {
		doctype: [f"{key}{int(current[key]) + i:0{digits}d}" for i in range(1, count + 1)]
		for doctype, (key, digits, count) in series.items()
	}


def create_records(
	doctype: str, party_type: str, party_name: str, items: list[party.Wanted], names: list[str] | None
) -> list[str]:
	"""Insert the records in one statement, filled as Frappe fills a new record (the doctype's defaults, the
	consent fields' initial state, owner and timestamps), named from ``names`` or by ``set_new_name``.

	The controller's checks on a new record are met by construction: the key was normalised as its
	``set_address_key`` does, there is no log and no consent yet; the lapse and mail hooks do nothing
	on a record without a consent action.
	"""
	record = RECORDS[doctype]
	now, user = now_datetime(), frappe.session.user
	rows = []
	for i, item in enumerate(items):
		row = {
			**new_record_template(doctype),
			"owner": user,
			"modified_by": user,
			"creation": now,
			"modified": now,
			record.address_field: item.address,
			record.key_field: item.key,
			PARTY_TYPE: party_type,
			PARTY: party_name,
		}
		if item.record_type:
			row[record.type_field] = item.record_type
		if names:
			row["name"] = names[i]
		else:
			doc = frappe.get_doc({"doctype": doctype, **row})
			set_new_name(doc)
			row["name"] = doc.name
		rows.append(row)
	columns = list(rows[0])
	placeholders = ", ".join(["(" + ", ".join(["%s"] * len(columns)) + ")"] * len(rows))
	frappe.db.sql(
		f"insert into `tab{doctype}` ({', '.join(f'`{c}`' for c in columns)}) values {placeholders}",
		[row[c] for row in rows for c in columns],
	)
	return [row["name"] for row in rows]


def new_record_template(doctype: str) -> dict:
	"""The columns Frappe's insert writes for a new ``doctype`` record and their defaults (``frappe.new_doc``),
	built once per request or job."""
	templates = getattr(frappe.local, "opt_consent_record_templates", None)
	if templates is None:
		templates = frappe.local.opt_consent_record_templates = {}
	if doctype not in templates:
		doc = frappe.new_doc(doctype)
		templates[doctype] = doc.get_valid_dict(convert_dates_to_str=True, ignore_virtual=True)
		templates[doctype].pop("name", None)
	return templates[doctype]


def tell_skipped(skipped: list[party.Skipped]) -> None:
	"""Say which numbers or addresses got no consent record, and why; the Contact is saved all the same."""
	lines = "".join(f"<li>{translate(s.refusal)}</li>" for s in skipped)
	frappe.msgprint(
		_("No consent record was made for these; correct them on the Contact to record consent:")
		+ f"<ul>{lines}</ul>",
		title=_("Consent"),
		indicator="orange",
	)


# ---------------------------------------------------------------- timeline


def on_record_update(doc, method=None) -> None:
	"""``doc_events`` hook of Phone and Email: a consent action on a Contact's record goes on its timeline."""
	if not doc.flags.consent_action or doc.get(PARTY_TYPE) != CONTACT or not doc.get(PARTY):
		return
	rows = doc.get(LOG_TABLE_FIELD) or []
	if not rows or not frappe.db.exists(CONTACT, doc.get(PARTY)):
		return
	frappe.get_doc(
		{
			"doctype": "Comment",
			"comment_type": "Info",
			"comment_email": frappe.session.user,
			"reference_doctype": CONTACT,
			"reference_name": doc.get(PARTY),
			"content": timeline_text(doc, rows[-1]),
		}
	).insert(ignore_permissions=True)


def action_label(channel: str, action: str) -> str:
	spec = CHANNELS.get(channel)
	if spec is None:
		return f"{_(action)} {_(channel)}"
	if action == TEXT_REAUTH and spec.reauth_label:
		return _(spec.reauth_label)
	return _(spec.opt_in_label if action == OPT_IN else spec.opt_out_label)


def timeline_text(doc, row) -> str:
	"""What the timeline says after the user's name: what, on which record, when (site time), how."""
	record = RECORDS[doc.doctype]
	link = get_link_to_form(doc.doctype, doc.name, escape_html(doc.name))
	return _("recorded {0} on {1} {2} ({3}): {4} {5}, method {6}").format(
		escape_html(action_label(row.channel, row.action)),
		_(doc.doctype),
		link,
		escape_html(doc.get(record.address_field) or ""),
		escape_html(format_date(row.event_date)),
		escape_html(format_time(row.event_time)),
		escape_html(row.method or _("none")),
	)


# ---------------------------------------------------------------- the Consent section


def section(contact: str) -> dict:
	"""The Contact's records the user may read, with their state, the latest logged action of each channel
	and whether the user may record consent on them; whether each is still on the Contact."""
	contact_doc = frappe.get_doc(CONTACT, contact)
	contact_doc.check_permission("read")
	phones, emails = addresses_of(contact_doc)
	wanted, _skipped = party.plan(phones, emails, settings.normalize)
	on_contact = {(w.doctype, w.key) for w in wanted}
	result = {"records": [], "unreadable": []}
	for doctype, record in RECORDS.items():
		if not (frappe.has_permission(doctype, "read") or frappe.share.get_shared(doctype)):
			result["unreadable"].append(doctype)
			continue
		fields = ["name", record.address_field, record.key_field, record.type_field, "active"]
		fields += [record.block_field]
		for channel in channels_of(doctype):
			fields += [channel.opt_field, channel.in_date, channel.out_date]
		if doctype == PHONE:
			fields += PHONE_EXTRA
		rows = frappe.get_list(
			doctype,
			filters={PARTY_TYPE: CONTACT, PARTY: contact},
			fields=list(dict.fromkeys(fields)),
			order_by="creation asc",
			limit_page_length=0,
		)
		latest = latest_actions(doctype, [row.name for row in rows])
		several = purposes.get_purposes().several
		for row in rows:
			if several:  # consent per purpose at a glance, only on a site with more than the default
				row["purposes"] = purposes.states(frappe._dict(row, doctype=doctype))
			row.update(
				{
					"doctype": doctype,
					"address": row.get(record.address_field),
					"on_contact": (doctype, row.get(record.key_field)) in on_contact,
					"can_write": bool(frappe.has_permission(doctype, "write", doc=row.name)),
					"__onload": {"opt_last_actions": latest.get(row.name, {})},
					# Contact Control: allowed now, or why not and when next, per channel
					"next_allowed": {
						channel.name: desk_verdict(channel.name, row.get(record.key_field))
						for channel in channels_of(doctype)
					},
				}
			)
			result["records"].append(row)
	return result


def latest_actions(doctype: str, names: list[str]) -> dict[str, dict[str, str]]:
	"""Each record's latest logged action per channel (what the desk offers depends on it), in one query."""
	rows = latest_per_channel(doctype, names)
	found: dict[str, dict[str, str]] = {}
	for row in rows:
		found.setdefault(row.parent, {})[row.channel] = row.action
	return found
