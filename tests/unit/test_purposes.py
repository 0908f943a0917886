"""Consent for a purpose and the revocation scope (revoke-all): the pure rules, with property tests."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from opt_consent.gate import rules as gate
from opt_consent.ledger.rules import engine
from opt_consent.ledger.rules import purposes as rules
from opt_consent.model import channels
from opt_consent.model.messages import Refused

NOW = dt.datetime(2027, 6, 1, 12, 0)
SERVICING, MARKETING = "Servicing", "Marketing"
VERBAL = engine.Method("Verbal")
WRITTEN = engine.Method("Written", written=True)


def site(scope=rules.SCOPE_REVOKE_ALL, since=rules.REVOKE_ALL_DATE, written_marketing=False):
	return rules.Purposes(
		SERVICING,
		{
			SERVICING: rules.Purpose(SERVICING),
			MARKETING: rules.Purpose(
				MARKETING,
				requires_written=written_marketing,
				legal_basis=rules.PRIOR_EXPRESS_WRITTEN_CONSENT,
			),
		},
		scope,
		since,
	)


class Record:
	"""A Phone with its log, driven through the engine as the adapter drives it."""

	def __init__(self, purposes, phone_type=channels.CELL):
		self.purposes = purposes
		self.state = channels.initial_state(channels.PHONE)
		self.rows: list[dict] = []
		self.phone_type = phone_type

	def last(self, channel):
		mine = [r for r in self.rows if r["channel"] == channel]
		if not mine:
			return None
		row = mine[-1]
		return engine.LastEvent(engine.event_datetime(row["event_date"], row["event_time"]), row["action"])

	def others(self, channel):
		result = {}
		for name in self.purposes.of_channel(channel):
			if name != self.purposes.default:
				last = rules.last_covering(self.rows, channel, name, self.purposes.default)
				result[name] = last["action"] if last else None
		return result

	def act(self, action, channel, at, purpose=None, method=VERBAL, wording=None):
		outcome = engine.decide(
			engine.Request(
				channels.PHONE,
				action,
				channel,
				at.date(),
				at.time(),
				method.name,
				method,
				purpose=purpose,
				wording=wording,
			),
			engine.Context(
				self.state,
				now=NOW,
				last=self.last(channel),
				phone_type=self.phone_type,
				purposes=self.purposes,
				others=self.others(channel),
			),
		)
		self.state.update(outcome.changes)
		self.rows.append({**outcome.log, "idx": len(self.rows) + 1})
		return outcome

	def allowed(self, channel, purpose):
		state, last = rules.purpose_state(self.state, channel, purpose, self.purposes.default, self.rows)
		return gate.decide(channel, state, last_action=last, phone_type=self.phone_type).allowed


def at(day, hour=9):
	return dt.datetime(2027, 1, 1, hour) + dt.timedelta(days=day)


# --- the two regimes ----------------------------------------------------------------------------------


def test_per_purpose_scope_stops_marketing_and_keeps_servicing():
	record = Record(site(rules.SCOPE_PURPOSE))
	record.act(channels.OPT_IN, channels.TEXT, at(1), SERVICING)
	record.act(channels.OPT_IN, channels.TEXT, at(2), MARKETING)
	out = record.act(channels.OPT_OUT, channels.TEXT, at(3), MARKETING)
	assert out.log["purpose"] == MARKETING and out.log["scope"] == ""
	assert not record.allowed(channels.TEXT, MARKETING)
	assert record.allowed(channels.TEXT, SERVICING)
	# the record stays open: a revocation of one purpose among several blocks nothing else
	assert record.state["active"] == 1 and record.state["do_not_call"] == 0


def test_revoke_all_from_its_date_ends_every_purpose():
	record = Record(site(rules.SCOPE_REVOKE_ALL, since=dt.date(2027, 1, 31)))
	record.act(channels.OPT_IN, channels.TEXT, at(1), SERVICING)
	record.act(channels.OPT_IN, channels.TEXT, at(2), MARKETING)
	before = record.act(channels.OPT_OUT, channels.TEXT, at(3), MARKETING)  # 4 January: before the date
	assert before.log["scope"] == "" and record.allowed(channels.TEXT, SERVICING)
	record.act(channels.OPT_IN, channels.TEXT, at(4), MARKETING)
	after = record.act(channels.OPT_OUT, channels.TEXT, at(40), MARKETING)  # 10 February
	assert after.log["scope"] == rules.ALL
	assert not record.allowed(channels.TEXT, SERVICING) and not record.allowed(channels.TEXT, MARKETING)
	assert record.state["text_opt"] == 0


def test_a_revocation_naming_no_purpose_covers_every_purpose_in_either_regime():
	for scope in rules.SCOPE_SETTINGS:
		record = Record(site(scope, since=dt.date(2030, 1, 1)))
		record.act(channels.OPT_IN, channels.TEXT, at(1), SERVICING)
		record.act(channels.OPT_IN, channels.TEXT, at(2), MARKETING)
		stop = record.act(channels.OPT_OUT, channels.TEXT, at(3))
		assert stop.log["scope"] == rules.ALL and stop.log["purpose"] == SERVICING
		assert not record.allowed(channels.TEXT, MARKETING) and not record.allowed(channels.TEXT, SERVICING)


def test_a_written_purpose_needs_a_written_method_and_its_wording():
	record = Record(site(written_marketing=True))
	with pytest.raises(Refused) as refused:
		record.act(channels.OPT_IN, channels.TEXT, at(1), MARKETING)
	assert refused.value.code == "not_written"
	with pytest.raises(Refused) as refused:
		record.act(channels.OPT_IN, channels.TEXT, at(1), MARKETING, method=WRITTEN)
	assert refused.value.code == "no_written_wording"
	record.act(channels.OPT_IN, channels.TEXT, at(1), MARKETING, method=WRITTEN, wording="Texts v1")
	assert record.allowed(channels.TEXT, MARKETING) and not record.allowed(channels.TEXT, SERVICING)
	# a revocation of a written purpose needs nothing written
	record.act(channels.OPT_OUT, channels.TEXT, at(2), MARKETING)


def test_unknown_purpose_wrong_channel_and_disabled_purpose_are_refused_but_a_revocation_is_taken():
	purposes = rules.Purposes(
		SERVICING,
		{
			SERVICING: rules.Purpose(SERVICING),
			"Calls Only": rules.Purpose("Calls Only", frozenset({channels.CALL})),
			"Old": rules.Purpose("Old", enabled=False),
		},
		rules.SCOPE_PURPOSE,
	)
	record = Record(purposes)
	for purpose, code in (("Nope", "unknown_purpose"), ("Calls Only", "purpose_channel"), ("Old", "disabled_purpose")):
		with pytest.raises(Refused) as refused:
			record.act(channels.OPT_IN, channels.TEXT, at(1), purpose)
		assert refused.value.code == code
	assert record.rows == []
	record.act(channels.OPT_OUT, channels.TEXT, at(1), "Old")  # a revocation is never lost


def test_a_single_purpose_site_behaves_exactly_as_before_purposes():
	"""The seed: the same fields change, the record is blocked by an opt out, nothing else differs."""
	for action_list in (
		[(channels.OPT_IN, channels.TEXT), (channels.OPT_OUT, channels.TEXT)],
		[(channels.OPT_IN, channels.CALL), (channels.OPT_OUT, channels.CALL), (channels.OPT_IN, channels.CALL)],
		[(channels.OPT_IN, channels.TEXT), (channels.TEXT_REAUTH, channels.TEXT), (channels.OPT_OUT, channels.TEXT)],
	):
		with_purposes, without = Record(rules.single()), Record(None)
		without.others = lambda channel: {}
		for day, (action, channel) in enumerate(action_list, 1):
			a = with_purposes.act(action, channel, at(day))
			b = engine.decide(
				engine.Request(
					channels.PHONE, action, channel, at(day).date(), at(day).time(), "Verbal", VERBAL
				),
				engine.Context(without.state, now=NOW, last=without.last(channel), phone_type=channels.CELL),
			)
			without.state.update(b.changes)
			without.rows.append({**b.log, "idx": len(without.rows) + 1})
			assert a.changes == b.changes
			if action == channels.OPT_OUT:
				assert a.log["scope"] == rules.ALL  # one purpose: "this purpose" is "every purpose"
		assert with_purposes.state == without.state
		assert engine.replay(channels.PHONE, with_purposes.rows, engine.Policy(default_purpose=rules.DEFAULT_PURPOSE)) == without.state


# --- properties ---------------------------------------------------------------------------------------

PURPOSES = (SERVICING, MARKETING)
steps = st.lists(
	st.tuples(
		st.sampled_from((channels.OPT_IN, channels.OPT_OUT, channels.TEXT_REAUTH)),
		st.sampled_from((*PURPOSES, None)),
		st.integers(min_value=-3, max_value=3),  # days relative to the previous event: negative back-dates
	),
	min_size=1,
	max_size=12,
)


def run(record, plan):
	"""Apply each step the engine accepts; return (step, outcome or None, moment)."""
	moment = at(0)
	done = []
	for action, purpose, delta in plan:
		moment = moment + dt.timedelta(days=delta, minutes=1)
		try:
			outcome = record.act(action, channels.TEXT, moment, purpose)
		except Refused:
			outcome = None
		done.append(((action, purpose), outcome, moment))
	return done


@settings(max_examples=300, deadline=None)
@given(plan=steps)
def test_under_revoke_all_no_purpose_is_allowed_after_a_revocation_until_its_own_new_opt_in(plan):
	record = Record(site(rules.SCOPE_REVOKE_ALL, since=dt.date(2020, 1, 1)))
	run(record, plan)
	revocations = [r for r in record.rows if r["action"] == channels.OPT_OUT]
	if not revocations:
		return
	last_out = revocations[-1]["idx"]
	assert all(r["scope"] == rules.ALL for r in revocations)
	for purpose in PURPOSES:
		later = [
			r for r in record.rows
			if r["idx"] > last_out and r["purpose"] == purpose and r["action"] in channels.GRANTING
		]
		if not later:
			assert not record.allowed(channels.TEXT, purpose), (purpose, record.rows)


@settings(max_examples=300, deadline=None)
@given(plan=steps, scope=st.sampled_from(rules.SCOPE_SETTINGS))
def test_a_revocation_is_never_narrowed_by_a_later_older_or_back_dated_event(plan, scope):
	record = Record(site(scope, since=dt.date(2027, 1, 10)))
	done = run(record, plan)
	latest = dt.datetime.min
	for (_action, _purpose), outcome, moment in done:
		if outcome is None:
			continue
		# accepted events never go back in time: a back-dated event cannot slip before a revocation
		assert outcome.event_at >= latest
		latest = outcome.event_at
	for purpose in PURPOSES:
		covering = [r for r in record.rows if rules.covers(r, purpose, SERVICING)]
		if covering and covering[-1]["action"] == channels.OPT_OUT:
			# revoked: only an opt in for this very purpose after the revocation could reopen it, and there is none
			assert not record.allowed(channels.TEXT, purpose)
		if any(r["action"] == channels.OPT_OUT for r in covering):
			out_idx = max(r["idx"] for r in covering if r["action"] == channels.OPT_OUT)
			own_grants = [
				r for r in record.rows
				if r["idx"] > out_idx and r["action"] in channels.GRANTING and rules.covers(r, purpose, SERVICING)
			]
			if not own_grants:
				assert not record.allowed(channels.TEXT, purpose)


@settings(max_examples=200, deadline=None)
@given(plan=steps, scope=st.sampled_from(rules.SCOPE_SETTINGS))
def test_the_record_fields_are_the_replay_of_the_log(plan, scope):
	"""What verify_state checks: the record's own fields are exactly the default purpose's replayed log."""
	record = Record(site(scope, since=dt.date(2027, 1, 10)))
	run(record, plan)
	policy = engine.Policy(default_purpose=SERVICING)
	assert engine.replay(channels.PHONE, record.rows, policy) == record.state


def test_scope_of_follows_the_settings_and_the_date():
	purposes = site(rules.SCOPE_REVOKE_ALL, since=dt.date(2027, 1, 31))
	assert rules.scope_of(purposes, channels.TEXT, dt.date(2027, 1, 30), True) == ""
	assert rules.scope_of(purposes, channels.TEXT, dt.date(2027, 1, 31), True) == rules.ALL
	assert rules.scope_of(purposes, channels.TEXT, dt.date(2027, 1, 30), False) == rules.ALL
	per = site(rules.SCOPE_PURPOSE)
	assert rules.scope_of(per, channels.TEXT, dt.date(2030, 1, 1), True) == ""
	assert rules.scope_of(rules.single(), channels.TEXT, dt.date(2020, 1, 1), True) == rules.ALL
	assert rules.REVOKE_ALL_DATE == dt.date(2027, 1, 31)


def test_rows_before_purposes_belong_to_the_default():
	old = {"channel": channels.TEXT, "action": channels.OPT_OUT, "purpose": None, "scope": None}
	assert rules.covers(old, SERVICING, SERVICING) and not rules.covers(old, MARKETING, SERVICING)
	assert rules.blocks_record(old, SERVICING)


@pytest.mark.parametrize(
	"reply, every",
	[
		("ALL", True),
		("Stop all", True),
		("STOP ALL please", True),
		("everything", True),
		("todo", True),
		("all good", False),
		("is that all?", False),
		("STOP", False),
		("", False),
		(None, False),
	],
)
def test_an_answer_asking_to_stop_every_message(reply, every):
	assert rules.wants_every_purpose(reply) is every


def test_the_question_is_added_once():
	text = "You have been unsubscribed."
	asked = rules.with_question(text, rules.SCOPE_QUESTION)
	assert asked == f"{text} {rules.SCOPE_QUESTION}"
	assert rules.with_question(asked, rules.SCOPE_QUESTION) == asked
	assert rules.with_question(text, "") == text
