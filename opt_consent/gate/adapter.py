"""Frappe adapter of the gate: look records up by normalised address, read their logs, ask the pure gate."""

from __future__ import annotations

import datetime as dt
import functools
import re

import frappe
from frappe import _
from frappe.utils import cint, escape_html, get_datetime, getdate, today

from opt_consent.gate import rules as gate
from opt_consent.ledger import site_purposes as purposes
from opt_consent.ledger.access import read_is_unrestricted
from opt_consent.ledger.refusals import refuse
from opt_consent.ledger.rules import engine
from opt_consent.ledger.rules import purposes as purpose_rules
from opt_consent.ledger.settings import get_policy, normalize
from opt_consent.model.channels import CHANNELS, OPT_OUT, PHONE, RECORDS, Channel
from opt_consent.model.evidence import LOG_DOCTYPE, LOG_TABLE_FIELD, REPLAY_FIELDS
from opt_consent.model.messages import Refused
from opt_consent.reauth import rules as reauth
from opt_consent.reauth.settings import get_rules

# Texting reauthorisation stores on each Phone the date its texting consent lapses.
LAPSES_ON = "text_consent_lapses_on"


def channel_spec(channel: str | None) -> Channel:
	spec = CHANNELS.get(channel or "") if isinstance(channel, str) else None
	if spec is None:
		frappe.throw(
			_("{0} is not a channel. Use one of: {1}.").format(
				frappe.bold(escape_html(str(channel or "")[:40])), ", ".join(CHANNELS)
			),
			title=_("Invalid channel"),
		)
	return spec


def parse_at(at) -> dt.datetime | None:
	if at is None or (isinstance(at, str) and not at.strip()):
		return None
	try:
		return get_datetime(at)
	except Exception:
		frappe.throw(
			_("{0} is not a valid date and time. Use YYYY-MM-DD HH:MM:SS.").format(str(at)[:40]),
			title=_("Invalid date"),
		)


def can_contact(
	channel: str | None,
	address: str | None,
	at=None,
	*,
	check_permission: bool = True,
	purpose: str | None = None,
) -> dict:
	"""May ``channel`` be used on ``address`` for ``purpose`` (default: the default purpose) now, or at the
	past moment ``at``?

	Returns ``{allowed, reason, doctype, record, address, at, purpose}``: ``record`` is the name of the
	record whose verdict stands (the most restrictive of every record for the address), None when there is
	none. With ``check_permission`` the caller needs read permission on the doctype and only records the
	caller may read are considered. An unknown purpose, or one that does not apply to the channel, is
	refused with a clear error.
	"""
	spec = channel_spec(channel)
	site = purposes.get_purposes()
	purpose = purpose_for(spec, purpose)
	doctype = spec.doctype
	if check_permission:
		frappe.has_permission(doctype, "read", throw=True)
	moment = parse_at(at)
	result = {
		"allowed": False,
		"doctype": doctype,
		"record": None,
		"address": None,
		"at": moment,
		"purpose": purpose,
	}
	key, records, logs = lookup_address(spec, address, purpose, site, moment, check_permission)
	if key is None:
		return {**result, "reason": gate.INVALID_ADDRESS}
	result["address"] = key
	if not records:
		return {**result, "reason": gate.UNKNOWN_ADDRESS}
	if purpose == site.default:
		decisions = decide_records(spec, records, moment)
	else:
		decisions = decide_for_purpose(spec, records, moment, purpose, site, logs)
	chosen = gate.most_restrictive(decisions)
	return {
		**result,
		"allowed": decisions[chosen].allowed,
		"reason": decisions[chosen].reason,
		"record": records[chosen].name,
	}


def lookup_address(
	spec: Channel, address, purpose: str, site: purpose_rules.Purposes, moment, check_permission: bool
) -> tuple[str | None, list, dict | None]:
	"""The records of ``address`` for :func:`can_contact`: (its stored form, the records, for a purpose
	other than the default now the rows that may cover it, else None); a key of None: not a valid address."""
	doctype = spec.doctype
	# An address already in its stored form is looked up as it is: every stored key was validated on save,
	# so a match proves it valid. Only an address that matches nothing is parsed and validated in full.
	# Another purpose now: the records and the rows that may decide the purpose in one query.
	joined = purpose != site.default and moment is None
	if joined and check_permission and not read_is_unrestricted(doctype):
		joined = False

	def lookup(key):
		if joined:
			return records_with_covering_rows(spec, key, purpose, site.default)
		return find_records(spec, key, check_permission=check_permission), None

	key = stored_form(spec, address)
	records, logs = lookup(key) if key else ([], None)
	if not records:
		try:
			normalized = normalize(spec.doctype, address)
		except Refused:
			return None, [], None
		if normalized != key:
			records, logs = lookup(normalized)
		key = normalized
	return key, records, logs


_E164 = re.compile(r"^\+[1-9]\d{6,14}$")


def stored_form(spec: Channel, address) -> str | None:
	"""``address`` when it is already written the way records store it (E.164, lower-case email)."""
	if not isinstance(address, str):
		return None
	if spec.doctype == PHONE:
		return address if _E164.match(address) else None
	return address if address == address.strip().lower() and "@" in address else None


def find_records(spec: Channel, key: str, *, check_permission: bool = True) -> list:
	"""Every record of the channel's doctype whose normalised address is ``key`` (the indexed column),
	with the fields the gate reads for that channel.

	With ``check_permission`` only records the user may read count: ``frappe.get_list`` applies the
	user's restrictions; a user without any (the usual case) gets the same rows from one plain query.
	"""
	doctype = spec.doctype
	fields = record_fields(spec)
	if check_permission and not read_is_unrestricted(doctype):
		return frappe.get_list(
			doctype, filters={RECORDS[doctype].key_field: key}, fields=fields, order_by="creation asc"
		)
	return frappe.db.sql(records_query(doctype, tuple(fields)), (key,), as_dict=True)


def record_fields(spec: Channel) -> list[str]:
	"""What the gate reads of a record for ``spec``'s channel."""
	fields = ["name", "creation", "active", spec.opt_field, spec.block_field]
	if spec.doctype == PHONE:
		fields += ["phone_type", LAPSES_ON]
	return fields


@functools.cache
def records_query(doctype: str, fields: tuple[str, ...]) -> str:
	"""The one plain indexed query of :func:`find_records`, built once per doctype and fields: it runs on
	every check, where building it through the query builder each time cost as much as running it."""
	columns = ", ".join(f"`{field}`" for field in fields)
	return f"select {columns} from `tab{doctype}` where `{RECORDS[doctype].key_field}` = %s order by `creation` asc"


def logs_by_record(doctype: str, names: list[str]) -> dict[str, list]:
	rows = frappe.get_all(
		LOG_DOCTYPE,
		filters={"parenttype": doctype, "parentfield": LOG_TABLE_FIELD, "parent": ["in", names]},
		fields=list(REPLAY_FIELDS),
		order_by="parent asc, idx asc",
	)
	logs: dict[str, list] = {name: [] for name in names}
	for row in rows:
		logs[row.parent].append(row)
	return logs


def decide_records(spec: Channel, records: list, moment: dt.datetime | None) -> list[gate.Decision]:
	"""The gate's decision for each record, now (its fields) or at ``moment`` (its log replayed).

	Now, the log only tells why a channel that is off is off (an opt out, or never in): it is read for
	those records alone.
	"""
	if moment is None:
		names = [r.name for r in records if not cint(r.get(spec.opt_field))]
	else:
		names = [r.name for r in records]
	logs = logs_by_record(spec.doctype, names) if names else {}
	decisions = []
	# now, a record without log rows to read is decided by its fields alone: records alike share a decision
	alike: dict[tuple, gate.Decision] = {}
	for record in records:
		rows = logs.get(record.name, [])
		if moment is None and not rows:
			lapsed = is_lapsed(spec, record)
			fields = (
				record.get(spec.opt_field),
				record.get(spec.block_field),
				record.get("active"),
				record.get("phone_type"),
				lapsed,
			)
			if fields not in alike:
				alike[fields] = gate.decide(spec.name, record, phone_type=fields[3], lapsed=lapsed)
			decisions.append(alike[fields])
			continue
		if moment is None:
			state = record
			last = gate.last_actions(rows)
			lapsed = is_lapsed(spec, record)
		else:
			state, last = gate.state_at(spec.doctype, rows, moment, get_policy())
			lapsed = False
		decisions.append(
			gate.decide(
				spec.name,
				state,
				last_action=last.get(spec.name),
				phone_type=record.get("phone_type"),
				lapsed=lapsed,
			)
		)
	return decisions


def purpose_for(spec: Channel, purpose) -> str:
	"""The purpose a check is for: the one named (it must exist and apply to the channel) or the default."""
	site = purposes.get_purposes()
	if purpose is None or (isinstance(purpose, str) and not purpose.strip()):
		return site.default
	try:
		return purpose_rules.resolve(site, str(purpose).strip(), spec.name, granting=False).name
	except Refused as refusal:
		refuse(refusal, title=_("Invalid purpose"))


def decide_for_purpose(
	spec: Channel,
	records: list,
	moment: dt.datetime | None,
	purpose: str,
	site: purpose_rules.Purposes,
	logs: dict | None = None,
) -> list[gate.Decision]:
	"""The gate's decision for each record for a purpose other than the default: the purpose's state is
	its log's latest covering row (:func:`opt_consent.ledger.rules.purposes.purpose_state`); Active, the block
	field and the phone type are the record's, as they stood at ``moment`` when one is given.

	Now, only the rows that may cover the purpose are read (:func:`covering_rows`); at ``moment`` the whole
	log, which the replay of the record's fields needs. ``logs``: the covering rows already read (now)."""
	rules_of = get_rules(purpose) if spec.reauth_label else None
	if moment is None and logs is None and rules_of is None and all(LAST_ACTION in r for r in records):
		return decide_by_last_action(spec, records)
	names = [r.name for r in records]
	if moment is not None:
		logs = logs_by_record(spec.doctype, names)
	elif logs is None:
		logs = covering_rows(spec, names, purpose, site.default)
	policy = get_policy()
	decisions = []
	alike: dict[tuple, gate.Decision] = {}  # now, records with no covering row decide by their fields alone
	for record in records:
		if moment is None:
			rows = logs.get(record.name, [])
			if not rows:
				decisions.append(decide_unlogged(spec, record, alike))
				continue
			state = record
		else:
			rows = gate.logs_until(logs.get(record.name, []), moment)
			state = engine.replay(spec.doctype, rows, policy)
		state, last = purpose_rules.purpose_state(state, spec.name, purpose, site.default, rows)
		lapsed = moment is None and lapsed_now(rules_of, rows, spec, purpose, site.default)
		decisions.append(
			gate.decide(
				spec.name, state, last_action=last, phone_type=record.get("phone_type"), lapsed=lapsed
			)
		)
	return decisions


def decide_unlogged(spec: Channel, record, alike: dict) -> gate.Decision:
	"""The decision now for a record with no row covering the purpose: never opted in to it; records alike
	in their block field, Active and phone type share one decision (``alike``, filled here)."""
	kind = (record.get(spec.block_field), record.get("active"), record.get("phone_type"))
	if kind not in alike:
		alike[kind] = gate.decide(spec.name, {**record, spec.opt_field: 0}, phone_type=kind[2])
	return alike[kind]


def lapsed_now(rules_of, rows: list, spec: Channel, purpose: str, default: str) -> bool:
	"""Whether the purpose's consent in ``rows`` has lapsed today under its reauthorisation ``rules_of``
	(None: the channel or purpose has no period)."""
	if rules_of is None:
		return False
	granted = purpose_rules.granted_on(rows, spec.name, purpose, default)
	if granted is None:
		return False
	lapses_on = reauth.lapse_date(rules_of, getdate(granted["event_date"]), granted.get("method"))
	return lapses_on is not None and lapses_on <= getdate(today())


def decide_by_last_action(spec: Channel, records: list) -> list[gate.Decision]:
	""":func:`decide_for_purpose` now, for records read with their purpose's latest covering action
	(:data:`LAST_ACTION`, from :func:`last_action_column`): no log row is read, and records alike in
	what decides (block field, Active, phone type, that action) share one decision. Only where no
	reauthorisation period can lapse the purpose's consent (a lapse needs the granting row's date)."""
	decisions = []
	alike: dict[tuple, gate.Decision] = {}
	for record in records:
		action = record[LAST_ACTION]
		kind = (record.get(spec.block_field), record.get("active"), record.get("phone_type"), action)
		if kind not in alike:
			state, last = purpose_rules.state_for_action(record, spec.name, action)
			alike[kind] = gate.decide(spec.name, state, last_action=last, phone_type=kind[2])
		decisions.append(alike[kind])
	return decisions


CHUNK = 5000
PURPOSE_INDEX = "log_purpose_index"  # opt_consent.install.INDEXES
# A record read with its purpose's latest covering action (:func:`last_action_column`) carries it here.
LAST_ACTION = "_purpose_last_action"


def last_action_column(spec: Channel, purpose: str, default: str) -> tuple[str, list]:
	"""A column for a query of ``spec``'s records aliased ``r``: the action of the record's latest log row
	that covers ``purpose``, as :func:`opt_consent.ledger.rules.purposes.last_covering` picks it (event date,
	then time, then log order), or NULL when none does; with its parameters.

	A row covers a purpose when it names it, when it names none and the purpose is the default
	(:func:`opt_consent.ledger.rules.coverage.covers`), or when it revokes every purpose of the channel
	(revoke-all, FCC 24-24; 47 CFR 64.1200(a)(10)). One aggregate per record in the purpose index: the
	greatest "date time idx|action", whose date, time and zero-padded idx have the same width in every row
	of a column (so text order is event order, then log order); the action is what follows the "|"."""
	also = " or l.`purpose` is null or l.`purpose` = ''" if purpose == default else ""
	column = f"""substring_index((select max(concat(l.`event_date`, ' ', l.`event_time`, ' ',
				lpad(l.`idx`, 10, '0'), '|', l.`action`))
		from `{LOG_TABLE}` l force index (`{PURPOSE_INDEX}`)
		where l.`parent` = r.`name` and l.`parenttype` = %s and l.`channel` = %s
			and (l.`purpose` = %s or (l.`scope` = %s and l.`action` = %s){also})), '|', -1)"""
	return column, [spec.doctype, spec.name, purpose, purpose_rules.ALL, OPT_OUT]


# What a purpose's state is decided by (:func:`opt_consent.ledger.rules.purposes.purpose_state`, ``granted_on``):
# what a replay reads.
COVERING_FIELDS = REPLAY_FIELDS


def covering_rows(spec: Channel, names: list[str], purpose: str, default: str) -> dict[str, list]:
	"""Each record's log rows of ``spec``'s channel that may cover ``purpose``, in log order: the rows naming
	it, every revocation of all purposes, and for the default purpose the rows naming none (a superset of
	what :func:`opt_consent.ledger.rules.coverage.covers` accepts; the caller applies it). Plain SQL per chunk of
	records, filtered in the purpose index (:data:`PURPOSE_INDEX`): a check reads no other channel's or
	purpose's rows."""
	logs: dict[str, list] = {name: [] for name in names}
	for start in range(0, len(names), CHUNK):
		chunk = names[start : start + CHUNK]
		rows = frappe.db.sql(
			covering_query(len(chunk), purpose == default),
			[*chunk, spec.doctype, spec.name, purpose, purpose_rules.ALL],
			as_dict=True,
		)
		for row in rows:
			logs[row.parent].append(row)
	return logs


def records_with_covering_rows(spec: Channel, key: str, purpose: str, default: str) -> tuple[list, dict]:
	"""The records of ``key`` (as :func:`find_records` reads them, without row-level restrictions) and the
	rows of each that may cover ``purpose`` (as :func:`covering_rows`), in one query: a check for a purpose
	costs one round trip, as one for the default purpose does."""
	doctype = spec.doctype
	fields = record_fields(spec)
	also = " or l.`purpose` is null or l.`purpose` = ''" if purpose == default else ""
	query = f"""select {", ".join(f"r.`{f}` as `{f}`" for f in fields)},
			{", ".join(f"l.`{f}` as `log_{f}`" for f in COVERING_FIELDS)}
		from `tab{doctype}` r
		left join `{LOG_TABLE}` l force index (`{PURPOSE_INDEX}`)
			on l.`parent` = r.`name` and l.`parenttype` = %s and l.`channel` = %s
			and (l.`purpose` = %s or l.`scope` = %s{also})
		where r.`{RECORDS[doctype].key_field}` = %s
		order by r.`creation` asc, r.`name` asc, l.`idx` asc"""
	rows = frappe.db.sql(query, (doctype, spec.name, purpose, purpose_rules.ALL, key), as_dict=True)
	records: dict[str, frappe._dict] = {}
	logs: dict[str, list] = {}
	for row in rows:
		if row.name not in records:
			records[row.name] = frappe._dict({f: row[f] for f in fields})
			logs[row.name] = []
		if row.log_idx is not None:
			logs[row.name].append(frappe._dict({f: row[f"log_{f}"] for f in COVERING_FIELDS}))
	return list(records.values()), logs


def covering_query(count: int, unnamed: bool) -> str:
	"""The query of :func:`covering_rows` for ``count`` records; ``unnamed``: rows naming no purpose too."""
	also = " or `purpose` is null or `purpose` = ''" if unnamed else ""
	# named: the optimizer prefers the (parent, channel, date) index, which reads every row of the channel
	# no parentfield: an Opt Log row is only ever in a record's opt_logs, and the test on it would read
	# every row of the channel from the table instead of the index
	return f"""select {", ".join(f"`{field}`" for field in COVERING_FIELDS)} from `{LOG_TABLE}`
		force index (`{PURPOSE_INDEX}`)
		where `parent` in ({", ".join(["%s"] * count)}) and `parenttype` = %s
			and `channel` = %s and (`purpose` = %s or `scope` = %s{also})
		order by `parent` asc, `idx` asc"""


def decisions_at(spec: Channel, records: list, moment: dt.datetime) -> list[gate.Decision]:
	"""The gate's decision for each record at ``moment``, set-based: the same as :func:`decide_records` at
	``moment`` (each whole log replayed), from one query per chunk of records that reads only each record's
	:func:`opt_consent.gate.rules.deciding_rows` (the channel's last event at or before the moment, and the
	last one that set Active and the block field)."""
	policy = get_policy()
	rows: dict[str, list] = {}
	names = list(dict.fromkeys(record.name for record in records))
	for start in range(0, len(names), CHUNK):
		for row in last_events(spec, names[start : start + CHUNK], moment, policy):
			rows.setdefault(row.parent, []).append(row)
	decisions = []
	alike: dict[tuple, gate.Decision] = {}  # most records decide alike: one decision per kind of rows
	for record in records:
		found = rows.get(record.name, ())
		phone_type = record.get("phone_type") if spec.cell_only else None
		kind = (phone_type, *((r.channel, r.action) for r in found))
		if len(found) > 1:
			kind += (found[0].idx > found[1].idx,)  # the replay's order: which of the two is later
		if kind not in alike:
			alike[kind] = gate.decide_at(spec.name, found, phone_type=phone_type, policy=policy)
		decisions.append(alike[kind])
	return decisions


def last_events(spec: Channel, names: list[str], moment: dt.datetime, policy) -> list:
	"""The :func:`opt_consent.gate.rules.deciding_rows` of each record of ``names`` at ``moment``, in the
	replay's order per record: one query (window functions over the log rows at or before the moment)."""
	blocking = sorted(gate.blocking_actions(spec.doctype, policy))
	pairs = ", ".join(["(%s, %s)"] * len(blocking))
	order = "order by event_date desc, event_time desc, idx desc"
	query = f"""
		select parent, channel, action, event_date, event_time, idx from (
			select parent, channel, action, event_date, event_time, idx,
				(channel, action) in ({pairs}) as blocks,
				row_number() over (partition by parent, channel = %s {order}) as by_channel,
				row_number() over (partition by parent, (channel, action) in ({pairs}) {order}) as by_block
			from `{LOG_TABLE}`
			where parenttype = %s and parentfield = %s and parent in ({", ".join(["%s"] * len(names))})
				and (event_date < %s or (event_date = %s and event_time <= %s))
		) rows_at
		where (by_channel = 1 and channel = %s) or (by_block = 1 and blocks)
		order by parent, event_date, event_time, idx"""
	flat = [value for pair in blocking for value in pair]
	day, time = moment.date(), moment.time()
	values = [*flat, spec.name, *flat, spec.doctype, LOG_TABLE_FIELD, *names, day, day, time, spec.name]
	return frappe.db.sql(query, values, as_dict=True)


LOG_TABLE = f"tab{LOG_DOCTYPE}"


def is_lapsed(spec: Channel, record) -> bool:
	"""Whether texting consent of ``record`` has run out by the reauthorisation rules, now.

	The daily job records a lapse as a Lapsed log row that clears Text Opt; until it has run, a phone
	whose ``text_consent_lapses_on`` has come is lapsed all the same.
	"""
	if not spec.reauth_label or not record.get(LAPSES_ON):
		return False
	return getdate(record.get(LAPSES_ON)) <= getdate(today())
