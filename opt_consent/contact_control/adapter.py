"""Frappe adapter of Contact Control: the settings' rules, the attempts, where a person is, the verdicts.

- :func:`check` answers one address (the gate's consent verdict first, then the rules), :func:`scrub` a
  whole list, set-based: one query per chunk for the records, one for their attempts, one for their
  parties' addresses, and the pure rules (:mod:`opt_consent.contact_control.rules`) per address with the
  allowed-hours answer shared by every address in the same zones.
- :func:`record_attempt` records one attempt (a call placed, a text or an email sent) as a ``Contact
  Attempt`` (and, for calls reported through the API, a ``Communication`` on the party's timeline).

Times: Frappe stores naive datetimes in the site's time zone; the pure rules take aware ones. Answers
carry ``next_allowed_at`` in the site's time (like every Datetime Frappe returns) and the person's local
times beside it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from zoneinfo import ZoneInfo

import frappe
from frappe import _
from frappe.utils import cstr, extract_email_id, get_system_timezone, now_datetime
from phonenumbers.tzdata import TIMEZONE_LONGEST_PREFIX

from opt_consent.contact_control import rules as cc
from opt_consent.gate import adapter as gate_adapter
from opt_consent.gate import rules as gate
from opt_consent.ledger import site_purposes as purposes
from opt_consent.ledger.access import read_is_unrestricted
from opt_consent.ledger.refusals import refuse
from opt_consent.ledger.settings import SETTINGS, holiday_calendar, normalize
from opt_consent.model.addresses import number_region, number_zones
from opt_consent.model.channels import CALL, CHANNELS, EMAIL_CHANNEL, PHONE, RECORDS, Channel
from opt_consent.model.messages import Refused

ATTEMPT = "Contact Attempt"
RULES_FIELD = "contact_rules"
RULE_DOCTYPE = "Opt Consent Contact Rule"
CHUNK = 5000
ZONE_PREFIX = TIMEZONE_LONGEST_PREFIX


# ---------------------------------------------------------------- settings


def settings_rules(rows: Iterable) -> list[cc.Rule]:
	"""The enabled rows of the settings' table as rules; a row that makes no sense is refused."""
	rules = []
	for row in rows:
		if not int(row.get("enabled") or 0):
			continue
		try:
			rules.append(cc.make_rule(row.as_dict() if hasattr(row, "as_dict") else dict(row)))
		except Refused as refusal:
			refuse(refusal, title=_("Invalid Contact Control rule"))
	return rules


def rules() -> list[cc.Rule]:
	return settings_rules(frappe.get_cached_doc(SETTINGS).get(RULES_FIELD) or ())


def override_role() -> str | None:
	return frappe.get_cached_doc(SETTINGS).get("override_role") or None


def site_zone() -> ZoneInfo:
	return ZoneInfo(get_system_timezone() or "UTC")


def aware(moment: dt.datetime) -> dt.datetime:
	"""A naive site-time datetime (Frappe's) as an aware one."""
	return moment.replace(tzinfo=site_zone()) if moment.tzinfo is None else moment


def site_naive(moment: dt.datetime | None) -> dt.datetime | None:
	return None if moment is None else moment.astimezone(site_zone()).replace(tzinfo=None)


# ---------------------------------------------------------------- where people are


def countries() -> dict:
	"""Every Country by name, with its ISO code and time zones (once per request)."""
	cache = getattr(frappe.local, "opt_consent_countries", None)
	if cache is None:
		rows = frappe.get_all("Country", fields=["name", "code", "time_zones"])
		cache = {
			"by_name": {row.name: row for row in rows},
			"by_code": {cstr(row.code).upper(): row.name for row in rows if row.code},
		}
		frappe.local.opt_consent_countries = cache
	return cache


def party_addresses(parties: set[tuple[str, str]]) -> dict[tuple[str, str], tuple[str | None, str | None]]:
	"""(country, state) of each party's address (its primary one first), through the Address links."""
	found: dict[tuple[str, str], tuple[str | None, str | None]] = {}
	parties = [p for p in parties if p[0] and p[1]]
	if not parties:
		return found
	address, link = frappe.qb.DocType("Address"), frappe.qb.DocType("Dynamic Link")
	for start in range(0, len(parties), 1000):
		chunk = parties[start : start + 1000]
		names = list({name for _type, name in chunk})
		rows = (
			frappe.qb.from_(address)
			.join(link)
			.on((link.parent == address.name) & (link.parenttype == "Address"))
			.select(
				link.link_doctype, link.link_name, address.country, address.state, address.is_primary_address
			)
			.where(link.link_name.isin(names) & (address.disabled == 0))
			.orderby(address.is_primary_address, order=frappe.qb.desc)
			.orderby(address.creation)
		).run(as_dict=True)
		wanted = set(chunk)
		for row in rows:
			key = (row.link_doctype, row.link_name)
			if key in wanted and key not in found:
				found[key] = (row.country or None, row.state or None)
	return found


def where(
	spec: Channel, key: str, location: tuple[str | None, str | None] | None
) -> tuple[str | None, str | None, tuple[str, ...]]:
	"""(country, region, zones) of a person: from the party's address when there is one, else from the
	number (every zone it may be in). An email address alone says nothing: empty (the site's zone is used)."""
	table = countries()
	if location and location[0]:
		country, region = location
		row = table["by_name"].get(country)
		listed = cstr(row.time_zones).split("\n") if row else ()
		zones = cc.usable_zones(cc.address_zones(country, region, listed))
		return country, region, zones
	if spec.doctype == PHONE:
		region = number_region(key)
		country = table["by_code"].get(region or "")
		return country, None, cc.usable_zones(number_zones(key))
	return None, None, ()


# ---------------------------------------------------------------- attempts


def attempts_for(
	keys: Sequence[str], parties: Sequence[tuple[str, str]], since: dt.datetime, until: dt.datetime, channels
) -> list[cc.Attempt]:
	"""The attempts on ``keys`` or by ``parties`` between ``since`` and ``until`` (site time), as the rules
	read them. Two indexed queries per chunk: by address, and by party (plain parameterised SQL, rows as
	tuples: a scrub reads tens of thousands)."""
	channels = list(channels)
	if not channels:
		return []
	# without parties to count per (every rule counts per address), an attempt's party and reference
	# decide nothing: not read
	party_columns = ", party_type, party, reference" if parties else ""
	# the moment as text, read by fromisoformat: Frappe's converter parses each DATETIME with strptime,
	# which cost a scrub more than its query
	select = (
		f"select name, cast(attempted_at as char), channel, outcome, address{party_columns} "
		"from `tabContact Attempt` where attempted_at > %s and attempted_at <= %s "
		f"and channel in ({', '.join(['%s'] * len(channels))}) and "
	)
	rows: dict[str, tuple] = {}
	for column, values in (("address", list(keys)), ("party", list({name for _type, name in parties}))):
		for start in range(0, len(values), CHUNK):
			chunk = values[start : start + CHUNK]
			query = select + f"{column} in ({', '.join(['%s'] * len(chunk))})"
			rows.update((row[0], row) for row in frappe.db.sql(query, [since, until, *channels, *chunk]))
	zone = site_zone()
	moment = dt.datetime.fromisoformat
	if not parties:
		return [
			cc.Attempt(moment(attempted_at).replace(tzinfo=zone), channel, outcome, address)
			for _name, attempted_at, channel, outcome, address in rows.values()
		]
	return [
		cc.Attempt(
			moment(attempted_at).replace(tzinfo=zone),
			channel,
			outcome,
			address,
			party_key(party_type, party),
			reference or None,
		)
		for _name, attempted_at, channel, outcome, address, party_type, party, reference in rows.values()
	]


def party_key(party_type: str | None, party: str | None) -> str | None:
	return f"{party_type}/{party}" if party_type and party else None


# ---------------------------------------------------------------- verdicts


class Scrubber:
	"""Contact Control for many addresses of one channel at one moment: the rules, holidays and attempts read
	once, the allowed-hours answer shared by every address in the same zones."""

	def __init__(self, spec: Channel, at: dt.datetime, reference: str | None = None):
		self.spec = spec
		self.at = aware(at)
		self.reference = (reference or "").strip() or None
		self.rules = [rule for rule in rules() if spec.name in rule.channels]
		self.holidays = holiday_calendar()[0] if self.rules else set()
		self.fallback = (get_system_timezone() or "UTC",)
		self.by_key: dict[str, list[cc.Attempt]] = {}
		self.by_party: dict[str, list[cc.Attempt]] = {}
		self.locations: dict = {}
		self._hours: dict = {}
		self._places: dict = {}
		self._zones: dict = {}
		self._naive: dict = {}
		# a rule naming a jurisdiction needs each number's region; without one, only its zones matter
		self.by_place = any(rule.country or rule.region for rule in self.rules)
		self.counting = [rule for rule in self.rules if rule.kind != cc.ALLOWED_HOURS]
		self.at_utc = self.at.astimezone(cc.UTC)

	def load(self, records_by_key: dict[str, list]) -> None:
		"""Read the attempts and the parties' addresses the rules need for these records."""
		if not self.rules:
			return
		parties = {
			(r.get("link_doctype"), r.get("link_name"))
			for records in records_by_key.values()
			for r in records
			if r.get("link_doctype") and r.get("link_name")
		}
		self.locations = party_addresses(parties)
		counting = [rule for rule in self.rules if rule.kind != cc.ALLOWED_HOURS]
		if not counting:
			return
		longest = max(rule.window for rule in counting)
		channels = set().union(*(rule.channels for rule in counting))
		at_site = site_naive(self.at)
		per_party = [p for p in parties] if any(r.per != cc.PER_ADDRESS for r in counting) else []
		for attempt in attempts_for(list(records_by_key), per_party, at_site - longest, at_site, channels):
			self.by_key.setdefault(attempt.address, []).append(attempt)
			if attempt.party:
				self.by_party.setdefault(attempt.party, []).append(attempt)

	def verdict(self, key: str, records: list) -> cc.Verdict:
		"""The most restrictive verdict over the parties of the address's records (usually one)."""
		if not self.rules:
			return cc.Verdict(True, cc.ALLOWED, None, self.at_utc)
		if len(records) == 1:
			record = records[0]
			link = record.get("link_name")
			return self.one(key, (record.get("link_doctype"), link) if link else (None, None))
		return self.over_parties(key, records)

	def over_parties(self, key: str, records: list) -> cc.Verdict:
		"""The general case of :meth:`verdict`: each party of the records answered on its own, the most
		restrictive verdict kept (a refusal whose next allowed moment is latest)."""
		parties = list(
			dict.fromkeys((r.get("link_doctype"), r.get("link_name")) for r in records if r.get("link_name"))
		) or [(None, None)]
		verdicts = [self.one(key, party) for party in parties]
		refused = [v for v in verdicts if not v.allowed]
		if not refused:
			return verdicts[0]
		far = dt.datetime.max.replace(tzinfo=cc.UTC)
		return max(refused, key=lambda v: v.next_allowed_at or far)

	def place(self, key: str, party: tuple) -> tuple[str | None, str | None, tuple[str, ...]]:
		""":func:`where`, remembered per address of a party (it does not depend on the number then), and for
		a number alone reduced to its zones when no rule names a jurisdiction (its region is not read)."""
		location = self.locations.get(party)
		if location and location[0]:
			if location not in self._places:
				self._places[location] = where(self.spec, key, location)
			return self._places[location]
		if self.spec.doctype == PHONE and not self.by_place:
			# a number's zones depend on its leading digits alone (the longest prefix of the zone data)
			prefix = key[: ZONE_PREFIX + 1]
			if prefix not in self._zones:
				self._zones[prefix] = cc.usable_zones(number_zones(key))
			return None, None, self._zones[prefix]
		return where(self.spec, key, location)

	def one(self, key: str, party: tuple) -> cc.Verdict:
		country, region, zones = self.place(key, party)
		subject = cc.Subject(
			self.spec.name, key, party_key(*party), self.reference, country, region, tuple(zones)
		)
		attempts = self.by_key.get(key, ())
		if subject.party and subject.party in self.by_party:
			attempts = [*attempts, *(a for a in self.by_party[subject.party] if a.address != key)]
		if not attempts or self.under_limits(subject, attempts):
			# no attempt that counts against a limit: only the allowed hours decide, the same for everyone
			# in the same zones and place
			memo = (subject.zones, country, region)
			if memo not in self._hours:
				self._hours[memo] = self.evaluate(subject, ())
			return self._hours[memo]
		return self.evaluate(subject, list(attempts))

	def under_limits(self, subject: cc.Subject, attempts) -> bool:
		"""Whether no cap or hold refuses the moment (each leaves it as it is): then the attempts change
		nothing in :func:`opt_consent.contact_control.rules.evaluate`'s verdict."""
		at = self.at_utc
		for rule in self.counting:
			if not cc.applies(rule, subject):
				continue
			times = [a.at.astimezone(cc.UTC) for a in attempts if cc.counted(rule, subject, a)]
			if times and cc.count_threshold(rule, times, at) != at:
				return False
		return True

	def site_naive(self, moment: dt.datetime | None) -> dt.datetime | None:
		""":func:`site_naive`, remembered: the addresses refused alike share their next allowed moment."""
		if moment not in self._naive:
			self._naive[moment] = site_naive(moment)
		return self._naive[moment]

	def evaluate(self, subject: cc.Subject, attempts) -> cc.Verdict:
		return cc.evaluate(
			self.rules, subject, attempts, self.at, holidays=self.holidays, fallback_zones=self.fallback
		)


def answer(consent: dict, verdict: cc.Verdict | None, zones: Sequence[str] = ()) -> dict:
	"""The gate's consent answer completed by Contact Control: ``allowed``, ``reason``, ``rule``,
	``next_allowed_at`` (site time; None when only a new opt in could allow it) and the local times."""
	result = {**consent, "rule": None, "next_allowed_at": None, "local_next_allowed_at": []}
	if not consent["allowed"]:
		return result  # consent first: no rule can make a refused consent allowed
	moment = consent.get("at") or now_datetime()
	if verdict is None or verdict.allowed:
		return {**result, "allowed": True, "next_allowed_at": moment}
	return {
		**result,
		"allowed": False,
		"reason": verdict.reason,
		"rule": verdict.rule,
		"refused_by": list(verdict.refused_by),
		"next_allowed_at": site_naive(verdict.next_allowed_at),
		"local_next_allowed_at": local_times(verdict.next_allowed_at, zones),
	}


def local_times(moment: dt.datetime | None, zones: Sequence[str]) -> list[dict]:
	if moment is None:
		return []
	return [
		{"zone": name, "at": moment.astimezone(ZoneInfo(name)).replace(tzinfo=None)}
		for name in dict.fromkeys(zones)
	]


def check(
	channel: str | None,
	address: str | None,
	at=None,
	reference: str | None = None,
	*,
	check_permission: bool = True,
	purpose: str | None = None,
) -> dict:
	"""May ``channel`` be used on ``address`` at ``at`` (default now) for ``purpose`` (default: the default
	purpose), and if not, when next?

	The consent verdict (:func:`opt_consent.gate.adapter.can_contact`) comes first; Contact Control's rules
	then apply to an address consent allows. A past ``at`` replays consent from the log and counts the
	attempts made up to it.
	"""
	consent = gate_adapter.can_contact(
		channel, address, at, check_permission=check_permission, purpose=purpose
	)
	if not consent["allowed"]:
		return answer(consent, None)
	spec = CHANNELS[channel]
	moment = consent["at"] or now_datetime()
	records = gate_adapter.find_records(spec, consent["address"], check_permission=check_permission)
	records = [frappe._dict(r) for r in records]
	add_parties(spec, records)
	scrubber = Scrubber(spec, moment, reference)
	scrubber.load({consent["address"]: records})
	verdict = scrubber.verdict(consent["address"], records)
	zones = zones_of(scrubber, consent["address"], records)
	return answer({**consent, "at": moment}, verdict, zones)


def zones_of(scrubber: Scrubber, key: str, records: list) -> tuple[str, ...]:
	parties = [(r.get("link_doctype"), r.get("link_name")) for r in records if r.get("link_name")] or [
		(None, None)
	]
	zones: list[str] = []
	for party in parties:
		zones += where(scrubber.spec, key, scrubber.locations.get(party))[2]
	return tuple(dict.fromkeys(zones)) or scrubber.fallback


def add_parties(spec: Channel, records: list) -> None:
	"""Fill in each record's party (the gate's lookup reads only the consent fields)."""
	missing = [r.name for r in records if "link_name" not in r]
	if not missing:
		return
	rows = frappe.get_all(
		spec.doctype, filters={"name": ["in", missing]}, fields=["name", "link_doctype", "link_name"]
	)
	by_name = {row.name: row for row in rows}
	for record in records:
		row = by_name.get(record.name)
		record["link_doctype"] = row.link_doctype if row else None
		record["link_name"] = row.link_name if row else None


# ---------------------------------------------------------------- scrubbing a list


def scrub(
	channel: str | None,
	addresses: Sequence[str],
	at=None,
	reference: str | None = None,
	*,
	check_permission: bool = True,
	now: dt.datetime | None = None,
	purpose: str | None = None,
) -> list[dict]:
	"""Each address's verdict, reason, deciding rule and next allowed moment at ``at``, in the order given:
	address by address what :func:`check` answers at ``at``.

	Without ``at``: consent now (the records' fields) and the rules at ``now`` (default: the present; a long
	job passes the moment it started). With ``at`` (past, present or future): consent as it stood then, as
	:func:`opt_consent.gate.adapter.can_contact` replays it, and the attempts made up to it.

	Set-based: per chunk of addresses one query for their records, one for their logs (now: of the records
	not opted in, why; at a moment: each record's deciding rows up to it), one for the attempts and one for
	the parties' addresses. With ``check_permission`` only records the caller may read count.
	"""
	spec = gate_adapter.channel_spec(channel)
	if check_permission:
		frappe.has_permission(spec.doctype, "read", throw=True)
	purpose = gate_adapter.purpose_for(spec, purpose)
	consent_at = gate_adapter.parse_at(at)
	moment = consent_at or now or now_datetime()
	results: list[dict] = []
	for start in range(0, len(addresses), CHUNK):
		results += scrub_chunk(
			spec, addresses[start : start + CHUNK], moment, consent_at, reference, check_permission, purpose
		)
	return results


def scrub_chunk(
	spec: Channel, addresses: Sequence, moment, consent_at, reference, check_permission, purpose=None
) -> list[dict]:
	"""One chunk of :func:`scrub`: its addresses' records, consent verdicts and attempts read set-based,
	then each address answered in order (:func:`scrub_answer`)."""
	keys = [scrub_key(spec, address) for address in addresses]
	unique = [k for k in dict.fromkeys(keys) if k]
	now_for = purpose if consent_at is None else None  # now: each record's purpose read with it
	records_by_key = records_for(spec, unique, check_permission, purpose=now_for)
	consent = consent_verdicts(spec, records_by_key, consent_at, purpose)
	scrubber = Scrubber(spec, moment, reference)
	scrubber.load({k: v for k, v in records_by_key.items() if consent[k][0].allowed})
	return [
		scrub_answer(address, key, records_by_key.get(key), consent.get(key), scrubber, moment)
		for address, key in zip(addresses, keys, strict=True)
	]


def scrub_key(spec: Channel, address) -> str | None:
	"""The stored form of ``address`` (as it is when already stored so, else normalised), None if invalid."""
	key = gate_adapter.stored_form(spec, address)
	if key is not None:
		return key
	try:
		return normalize(spec.doctype, address)
	except Refused:
		return None


def scrub_answer(address, key, records, consent, scrubber: Scrubber, moment) -> dict:
	"""One address's answer: invalid, unknown, refused by consent, or Contact Control's verdict."""
	row = {"address": address, "key": key, "record": None}

	def refused(reason):
		return {**row, "allowed": False, "reason": reason, "rule": None, "next_allowed_at": None}

	if key is None:
		return refused(gate.INVALID_ADDRESS)
	if not records:
		return refused(gate.UNKNOWN_ADDRESS)
	decision, record = consent
	row["record"] = record
	if not decision.allowed:
		return refused(decision.reason)
	verdict = scrubber.verdict(key, records)
	return {
		**row,
		"allowed": verdict.allowed,
		"reason": verdict.reason if not verdict.allowed else gate.OPTED_IN,
		"rule": verdict.rule,
		"next_allowed_at": moment if verdict.allowed else scrubber.site_naive(verdict.next_allowed_at),
	}


def records_for(
	spec: Channel, keys: list[str], check_permission: bool, purpose: str | None = None
) -> dict[str, list]:
	"""Every record of ``keys`` (one query), with the consent and party fields, grouped by key, each key's
	records in creation order.

	Only the fields the gate and the rules read (a scrub reads a row per address: each column costs). With
	``check_permission`` and row restrictions on the user, through ``frappe.get_list``; otherwise one plain
	parameterised query, which for ``purpose`` (other than the default, on a channel no reauthorisation
	lapses) also reads each record's latest action covering it
	(:func:`opt_consent.gate.adapter.last_action_column`), so the gate reads no log row."""
	doctype, key_field = spec.doctype, RECORDS[spec.doctype].key_field
	fields = ["name", "active", spec.opt_field, spec.block_field, key_field, "link_doctype", "link_name"]
	if doctype == PHONE and spec.cell_only:  # texts: the type and the texting consent's lapse decide too
		fields.append("phone_type")
		if spec.reauth_label:
			fields.append(gate_adapter.LAPSES_ON)
	if not keys:
		return {}
	grouped: dict[str, list] = {}
	if check_permission and not read_is_unrestricted(doctype):
		rows = frappe.get_list(
			doctype,
			filters={key_field: ["in", keys]},
			fields=fields,
			order_by="creation asc",
			limit_page_length=0,
		)
		for row in rows:
			grouped.setdefault(row[key_field], []).append(row)
		return grouped
	key_index = fields.index(key_field)
	columns = ", ".join(f"r.`{field}`" for field in fields)
	extra: list = []
	site = purposes.get_purposes()
	if purpose and purpose != site.default and not spec.reauth_label:
		column, extra = gate_adapter.last_action_column(spec, purpose, site.default)
		columns += f", {column}"
		fields = [*fields, gate_adapter.LAST_ACTION]
	for start in range(0, len(keys), CHUNK):
		chunk = keys[start : start + CHUNK]
		query = (
			f"select {columns} from `tab{doctype}` r "
			f"where r.`{key_field}` in ({', '.join(['%s'] * len(chunk))}) order by r.creation"
		)
		for row in frappe.db.sql(query, [*extra, *chunk]):
			grouped.setdefault(row[key_index], []).append(frappe._dict(zip(fields, row, strict=True)))
	return grouped


def consent_verdicts(
	spec: Channel, records_by_key: dict[str, list], at: dt.datetime | None = None, purpose: str | None = None
) -> dict[str, tuple[gate.Decision, str]]:
	"""The gate's consent decision per key now, or as it stood at ``at`` (the most restrictive record), with
	the deciding record, for ``purpose`` (None: the default purpose)."""
	every = [record for records in records_by_key.values() for record in records]
	site = purposes.get_purposes()
	if not every:
		decisions = []
	elif purpose and purpose != site.default:
		decisions = gate_adapter.decide_for_purpose(spec, every, at, purpose, site)
	elif at is None:
		decisions = gate_adapter.decide_records(spec, every, None)
	else:
		decisions = gate_adapter.decisions_at(spec, every, at)
	by_name = {record.name: decision for record, decision in zip(every, decisions, strict=True)}
	out = {}
	for key, records in records_by_key.items():
		if len(records) == 1:
			out[key] = (by_name[records[0].name], records[0].name)
			continue
		chosen = gate.most_restrictive([by_name[r.name] for r in records])
		out[key] = (by_name[records[chosen].name], records[chosen].name)
	return out


# ---------------------------------------------------------------- recording attempts


def new_attempt(
	spec: Channel,
	key: str,
	outcome: str,
	at: dt.datetime,
	source: str,
	*,
	record=None,
	reference: str | None = None,
	communication: str | None = None,
	refused: dict | None = None,
	override_reason: str | None = None,
	purpose: str | None = None,
):
	"""Insert one Contact Attempt (in the caller's transaction)."""
	doc = frappe.get_doc(
		{
			"doctype": ATTEMPT,
			"channel": spec.name,
			"address": key,
			"outcome": outcome,
			"attempted_at": at,
			"source": source,
			"party_type": record.get("link_doctype") if record else None,
			"party": record.get("link_name") if record else None,
			"record_doctype": spec.doctype if record else None,
			"record": record.get("name") if record else None,
			"reference": reference,
			"communication": communication,
			"recorded_by": frappe.session.user,
			"override": 1 if refused else 0,
			"refused_reason": (refused or {}).get("reason"),
			"refused_rule": (refused or {}).get("rule"),
			"override_reason": override_reason,
			"purpose": purpose,
		}
	)
	doc.flags.from_contact_control = True
	doc.insert(ignore_permissions=True)
	return doc


def record_sent(channel: str, addresses: Iterable[str], source: str, reference: str | None = None) -> int:
	"""Record texts or mail that left through Frappe's own doors (the SMS door, the email queue) as attempts
	with the outcome Sent, for the addresses that have a consent record (one query for them all)."""
	spec = CHANNELS[channel]
	keys = []
	for address in addresses:
		try:
			keys.append(normalize(spec.doctype, address))
		except Refused:
			continue
	keys = list(dict.fromkeys(keys))
	if not keys:
		return 0
	records = records_for(spec, keys, check_permission=False)
	now = now_datetime()
	count = 0
	for key in keys:
		record = (records.get(key) or [None])[0]
		if record is None:
			continue  # nobody the app keeps consent for: not a person's attempt to count
		new_attempt(spec, key, cc.SENT, now, source, record=record, reference=reference)
		count += 1
	return count


def desk_verdict(channel: str, key: str | None, reference: str | None = None) -> dict | None:
	"""What a form shows for one channel of a record: allowed now, or why not and when next (site time and
	the person's local times), with the reason in words. The caller's view of the records."""
	if not key:
		return None
	verdict = check(channel, key, None, reference)
	reason = verdict["reason"]
	return {
		"allowed": verdict["allowed"],
		"reason": reason,
		"reason_label": _(REASON_LABELS[reason]) if reason in REASON_LABELS else reason,
		"rule": verdict["rule"],
		"next_allowed_at": verdict["next_allowed_at"],
		"local_next_allowed_at": verdict["local_next_allowed_at"],
		"message": None if verdict["allowed"] else refusal_message(verdict),
	}


def on_email_queued(doc, method=None) -> None:
	"""``doc_events`` Email Queue ``after_insert``: each recipient with a consent record gets an attempt.

	Mail counts when Frappe queues it (its sending is a worker's status update, which raises no event).
	Recording never stops the mail: a failure is logged to the Error Log.
	"""
	recipients = [extract_email_id(row.recipient or "") for row in doc.get("recipients") or ()]
	try:
		record_sent(EMAIL_CHANNEL, [r for r in recipients if r], cc.SOURCE_EMAIL_QUEUE)
	except Exception:
		frappe.log_error(
			title=_("Contact attempt of queued mail not recorded"), reference_doctype="Email Queue"
		)


def refusal_message(verdict: dict) -> str:
	"""What a person is told when an attempt is refused: the reason, the rule and when next (escaped)."""
	reason = verdict.get("reason") or ""
	text = _(REASON_LABELS[reason]) if reason in REASON_LABELS else frappe.utils.escape_html(reason)
	if verdict.get("rule"):
		text = _("{0} (rule: {1})").format(text, frappe.bold(frappe.utils.escape_html(verdict["rule"])))
	if verdict.get("next_allowed_at"):
		text += " " + _("Next allowed at {0}.").format(
			frappe.utils.format_datetime(verdict["next_allowed_at"])
		)
	else:
		text += " " + _("No moment is allowed until the consent or the record changes.")
	return text


# The reasons in words (the one list, in the pure rules).
REASON_LABELS = cc.REASON_LABELS
CONTROL_REASONS = (
	cc.REASON_FREQUENCY_CAP,
	cc.REASON_CONVERSATION_HOLD,
	cc.REASON_OUTCOME_HOLD,
	cc.REASON_OUTSIDE_HOURS,
)
MAX_REASON = 500


class AttemptRefusedError(frappe.ValidationError):
	"""The gate refused an attempt; nothing was recorded."""


def record_attempt(
	channel: str | None,
	address: str | None,
	outcome: str | None,
	at=None,
	reference: str | None = None,
	override_reason: str | None = None,
	purpose: str | None = None,
) -> dict:
	"""Record one outbound attempt reported through the API (a dialer, another app, the desk), for
	``purpose`` (default: the default purpose; its consent is what is checked).

	The attempt is checked at its moment against consent and Contact Control, over every record of the
	address (a user who may not read a revocation must not be able to call past it). Consent refused:
	refused. A rule refused: refused, unless the user has the settings' override role and gives a reason;
	then it is recorded as an override with the refusal beside it. Locks the address's records, so two
	attempts at once cannot both pass a cap. A ``Communication`` goes on the party's timeline.
	"""
	frappe.has_permission(ATTEMPT, "create", throw=True)
	spec = gate_adapter.channel_spec(channel)
	moment, reference, override_reason = attempt_arguments(spec, outcome, at, reference, override_reason)
	lock_address(spec, address)
	verdict = check(spec.name, address, moment, reference, check_permission=False, purpose=purpose)
	refused = None
	if not verdict["allowed"]:
		refused = refusal_or_override(verdict, override_reason)
	records = records_for(spec, [verdict["address"]], check_permission=False).get(verdict["address"]) or [
		None
	]
	record = next((r for r in records if r and r.name == verdict.get("record")), records[0])
	communication = new_communication(
		spec, verdict["address"], outcome, moment, record, reference, override_reason
	)
	doc = new_attempt(
		spec,
		verdict["address"],
		outcome,
		moment,
		cc.SOURCE_API,
		record=record,
		reference=reference,
		communication=communication,
		refused=refused,
		override_reason=override_reason if refused else None,
		purpose=verdict.get("purpose"),
	)
	return {"name": doc.name, "override": bool(refused), "communication": communication, "verdict": verdict}


def attempt_arguments(spec: Channel, outcome, at, reference, override_reason) -> tuple:
	"""The checked arguments of :func:`record_attempt`: (moment, reference, override reason); a clear
	refusal for an outcome the channel has not, a moment in the future or an over-long reason."""
	allowed_outcomes = cc.CALL_OUTCOMES if spec.name == CALL else (cc.SENT,)
	if outcome not in allowed_outcomes:
		frappe.throw(
			_("{0} is not an outcome of a {1} attempt. Use one of: {2}.").format(
				frappe.bold(frappe.utils.escape_html(cstr(outcome)[:40])),
				_(spec.name),
				", ".join(_(o) for o in allowed_outcomes),
			),
			title=_("Not recorded"),
		)
	now = now_datetime()
	moment = gate_adapter.parse_at(at) or now
	if moment > now + dt.timedelta(minutes=1):
		frappe.throw(_("An attempt cannot be recorded in the future."), title=_("Not recorded"))
	reference = cstr(reference).strip()[:140] or None
	override_reason = cstr(override_reason).strip() or None
	if override_reason and len(override_reason) > MAX_REASON:
		frappe.throw(_("The override reason is longer than {0} characters.").format(MAX_REASON))
	return moment, reference, override_reason


def refusal_or_override(verdict: dict, override_reason: str | None) -> dict:
	"""The refusal an override stands beside, or an error: consent is never overridden, a rule only by the
	override role with a reason."""
	message = refusal_message(verdict)
	if verdict["reason"] not in CONTROL_REASONS:
		frappe.throw(_("Not allowed: {0}").format(message), exc=AttemptRefusedError, title=_("Not recorded"))
	role = override_role()
	if not override_reason or not role or role not in frappe.get_roles():
		hint = (
			_("A user with the role {0} may override it with a reason.").format(frappe.bold(_(role)))
			if role
			else _("No override role is set in Opt Consent Settings.")
		)
		frappe.throw(
			_("Not allowed now: {0} {1}").format(message, hint),
			exc=AttemptRefusedError,
			title=_("Not recorded"),
		)
	return {"reason": verdict["reason"], "rule": verdict.get("rule")}


def lock_address(spec: Channel, address) -> None:
	"""Lock the records of the address (``SELECT ... FOR UPDATE``) until the transaction ends."""
	key = gate_adapter.stored_form(spec, address)
	if key is None:
		try:
			key = normalize(spec.doctype, address)
		except Refused:
			return
	table = frappe.qb.DocType(spec.doctype)
	(
		frappe.qb.from_(table)
		.select(table.name)
		.where(table[RECORDS[spec.doctype].key_field] == key)
		.for_update()
	).run()


MEDIUM = {CALL: "Phone", "Text": "SMS", "Email": "Email"}


def new_communication(spec, key, outcome, moment, record, reference, override_reason) -> str:
	"""The attempt as a Frappe Communication, on the party's timeline (what staff already read)."""
	subject = _("{0} attempt: {1}").format(_(spec.name), _(outcome))
	content = subject
	if reference:
		content += "<br>" + _("Reference: {0}").format(frappe.utils.escape_html(reference))
	if override_reason:
		content += "<br>" + _("Override: {0}").format(frappe.utils.escape_html(override_reason))
	doc = frappe.get_doc(
		{
			"doctype": "Communication",
			"communication_type": "Communication",
			"communication_medium": MEDIUM[spec.name],
			"sent_or_received": "Sent",
			"subject": subject,
			"content": content,
			"communication_date": moment,
			"phone_no": key if spec.doctype == PHONE else None,
			"recipients": key if spec.doctype != PHONE else None,
			"status": "Linked",
			"seen": 1,
		}
	)
	if record and record.get("link_doctype") and record.get("link_name"):
		doc.append("timeline_links", {"link_doctype": record.link_doctype, "link_name": record.link_name})
	if record:
		doc.append("timeline_links", {"link_doctype": spec.doctype, "link_name": record.name})
	doc.insert(ignore_permissions=True)
	return doc.name
