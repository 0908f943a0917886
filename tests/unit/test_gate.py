"""The gate's pure rules: keywords, the decision per record, the most restrictive rule, business days,
and replaying a log up to a moment."""

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from opt_consent.gate import rules as gate
from opt_consent.gate.rules import Decision
from opt_consent.ledger.rules import business_days, engine
from opt_consent.model import channels
from opt_consent.revocation.rules import replies

# --- keywords -----------------------------------------------------------------------------------------


# The inbound keywords the gate once matched exactly are read by revocation.rules.replies now (a revocation by any
# reasonable means, 47 CFR 64.1200(a)(10)): each old keyword keeps its meaning, in any case and padding.
OLD_OPT_OUT_KEYWORDS = ("STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT")


@pytest.mark.parametrize("word", OLD_OPT_OUT_KEYWORDS)
def test_every_opt_out_keyword_in_any_case_and_padding(word):
	for text in (word, word.lower(), word.title(), f"  {word.lower()}\n", f"\t{word}  "):
		reading = replies.classify(text)
		assert (reading.kind, reading.certain) == (replies.REVOCATION, True)


@pytest.mark.parametrize("word", ["START", "YES", "UNSTOP"])
def test_opt_in_keywords(word):
	assert replies.classify(f" {word.lower()} ").kind == replies.OPT_IN


@pytest.mark.parametrize("word", ["HELP", "help", " Info "])
def test_help_keywords(word):
	assert replies.classify(word).kind == replies.HELP


def test_the_families_still_hold_the_old_lists():
	assert {w.lower() for w in OLD_OPT_OUT_KEYWORDS} <= set(replies.ENGLISH_REVOCATION_KEYWORDS)
	assert set(replies.OPT_IN_KEYWORDS) == {"start", "yes", "unstop"}
	assert set(replies.HELP_KEYWORDS) == {"help", "info"}


@pytest.mark.parametrize("text", ["stop please", "please stop", "stop.", "STOP!", "stopp", "opt out"])
def test_what_was_once_dropped_as_unrecognised_now_revokes(text):
	assert replies.classify(text).kind == replies.REVOCATION


@pytest.mark.parametrize("text", ["no", "", "   ", None, "yes yes"])
def test_no_keyword_is_no_action(text):
	assert replies.classify(text).kind == replies.OTHER


@given(st.text(max_size=30))
def test_an_opt_in_or_help_message_is_one_known_word(text):
	reading = replies.classify(text)
	if reading.kind in (replies.OPT_IN, replies.HELP):
		assert replies.normalise(text).strip() in {*replies.OPT_IN_KEYWORDS, *replies.HELP_KEYWORDS, "ayuda"}


# --- one record ---------------------------------------------------------------------------------------


def phone(**fields):
	state = channels.initial_state(channels.PHONE)
	state.update(fields)
	return state


def email(**fields):
	state = channels.initial_state(channels.EMAIL)
	state.update(fields)
	return state


def test_new_phone_is_not_opted_in():
	assert gate.decide("Call", phone()) == Decision(False, gate.NOT_OPTED_IN)
	assert gate.decide("Text", phone(), phone_type="Cell") == Decision(False, gate.NOT_OPTED_IN)


def test_opted_in_channels_are_allowed():
	assert gate.decide("Call", phone(call_opt=1), last_action="Opt In") == Decision(True, gate.OPTED_IN)
	assert gate.decide("Text", phone(text_opt=1), last_action="Text Reauth", phone_type="Cell").allowed
	assert gate.decide("Email", email(email_opt=1), last_action="Opt In") == Decision(True, gate.OPTED_IN)


def test_opt_out_beats_the_blocks_it_sets():
	state = phone(call_opt=0, active=0, do_not_call=1)
	assert gate.decide("Call", state, last_action="Opt Out") == Decision(False, gate.OPTED_OUT)


def test_a_call_opt_out_blocks_texts_through_do_not_call():
	state = phone(call_opt=0, text_opt=1, active=0, do_not_call=1)
	assert gate.decide("Text", state, last_action="Opt In", phone_type="Cell") == Decision(
		False, gate.DO_NOT_CALL
	)


def test_do_not_email_and_inactive():
	assert gate.decide("Email", email(email_opt=1, do_not_email=1)) == Decision(False, gate.DO_NOT_EMAIL)
	assert gate.decide("Email", email(email_opt=1, active=0)) == Decision(False, gate.INACTIVE)
	assert gate.decide("Call", phone(call_opt=1, active=0)) == Decision(False, gate.INACTIVE)


def test_text_needs_a_cell_phone():
	assert gate.decide("Text", phone(text_opt=1), phone_type="Home") == Decision(False, gate.NOT_CELL)
	assert gate.decide("Call", phone(call_opt=1), phone_type="Home").allowed


def test_lapsed_texting():
	assert gate.decide("Text", phone(text_opt=1), phone_type="Cell", lapsed=True) == Decision(
		False, gate.LAPSED
	)
	after_lapse_row = phone(text_opt=0)
	assert gate.decide("Text", after_lapse_row, last_action="Lapsed", phone_type="Cell").reason == gate.LAPSED


def test_opted_out_then_back_in_is_allowed():
	assert gate.decide("Call", phone(call_opt=1), last_action="Opt In").allowed


# --- several records ----------------------------------------------------------------------------------


def test_no_records_gives_none():
	assert gate.most_restrictive([]) is None


def test_any_refusal_beats_permissions():
	decisions = [
		Decision(True, gate.OPTED_IN),
		Decision(False, gate.NOT_OPTED_IN),
		Decision(True, gate.OPTED_IN),
	]
	assert gate.most_restrictive(decisions) == 1


def test_the_highest_ranked_refusal_wins():
	decisions = [
		Decision(False, gate.NOT_OPTED_IN),
		Decision(False, gate.INACTIVE),
		Decision(False, gate.OPTED_OUT),
		Decision(False, gate.DO_NOT_CALL),
	]
	assert gate.most_restrictive(decisions) == 2


def test_a_home_line_does_not_decide_texts_when_a_cell_record_exists():
	decisions = [Decision(False, gate.NOT_CELL), Decision(True, gate.OPTED_IN)]
	assert gate.most_restrictive(decisions) == 1
	assert gate.most_restrictive([Decision(False, gate.NOT_CELL)]) == 0


@given(st.lists(st.sampled_from(gate.PRECEDENCE), min_size=1, max_size=6))
def test_most_restrictive_is_order_independent_in_reason(reasons):
	decisions = [Decision(reason == gate.OPTED_IN, reason) for reason in reasons]
	chosen = decisions[gate.most_restrictive(decisions)]
	reversed_choice = list(reversed(decisions))[gate.most_restrictive(list(reversed(decisions)))]
	assert chosen.reason == reversed_choice.reason
	if any(not d.allowed and d.reason != gate.NOT_CELL for d in decisions):
		assert not chosen.allowed
	ranks = [gate.PRECEDENCE.index(d.reason) for d in decisions if d.reason != gate.NOT_CELL]
	if ranks:
		assert gate.PRECEDENCE.index(chosen.reason) == min(ranks)


# --- replay up to a moment ----------------------------------------------------------------------------


def row(channel, action, date, time="10:00:00", method="Verbal"):
	return {"channel": channel, "action": action, "event_date": date, "event_time": time, "method": method}


LOG = [
	row("Call", "Opt In", "2026-01-05"),
	row("Text", "Opt In", "2026-01-06"),
	row("Call", "Opt Out", "2026-02-01", "09:00:00"),
	row("Call", "Opt In", "2026-03-01"),
]


def test_state_at_each_moment():
	state, last = gate.state_at(channels.PHONE, LOG, dt.datetime(2026, 1, 1))
	assert (state["call_opt"], last) == (0, {})
	state, last = gate.state_at(channels.PHONE, LOG, dt.datetime(2026, 1, 6, 10, 0))
	assert (state["call_opt"], state["text_opt"], last) == (1, 1, {"Call": "Opt In", "Text": "Opt In"})
	state, last = gate.state_at(channels.PHONE, LOG, dt.datetime(2026, 2, 1, 8, 59, 59))
	assert state["call_opt"] == 1
	state, last = gate.state_at(channels.PHONE, LOG, dt.datetime(2026, 2, 15))
	assert (state["call_opt"], state["do_not_call"], state["active"], last["Call"]) == (0, 1, 0, "Opt Out")
	assert gate.decide("Call", state, last_action=last["Call"]).reason == gate.OPTED_OUT
	state, last = gate.state_at(channels.PHONE, LOG, dt.datetime(2026, 3, 2))
	assert gate.decide("Call", state, last_action=last["Call"]).allowed


def test_rows_are_replayed_in_event_order_whatever_the_list_order():
	shuffled = [LOG[3], LOG[1], LOG[0], LOG[2]]
	assert gate.state_at(channels.PHONE, shuffled, dt.datetime(2026, 2, 15)) == gate.state_at(
		channels.PHONE, LOG, dt.datetime(2026, 2, 15)
	)


def test_last_actions_of_the_whole_log():
	assert gate.last_actions(LOG) == {"Call": "Opt In", "Text": "Opt In"}
	assert gate.last_actions([]) == {}


# --- business days ------------------------------------------------------------------------------------

MONDAY = dt.date(2026, 11, 23)


def test_ten_business_days_after_a_monday_is_the_monday_two_weeks_on():
	assert business_days.add_business_days(MONDAY, 10) == dt.date(2026, 12, 7)


def test_weekend_receipt_counts_from_the_next_monday():
	saturday = dt.date(2026, 11, 28)
	assert business_days.add_business_days(saturday, 1) == dt.date(2026, 11, 30)
	assert business_days.add_business_days(saturday, 10) == dt.date(2026, 12, 11)


def test_friday_plus_one_is_monday():
	assert business_days.add_business_days(dt.date(2026, 11, 27), 1) == dt.date(2026, 11, 30)


def test_holidays_are_skipped():
	thanksgiving = dt.date(2026, 11, 26)
	assert business_days.add_business_days(MONDAY, 10, {thanksgiving, dt.date(2026, 11, 27)}) == dt.date(
		2026, 12, 9
	)


def test_a_holiday_list_may_define_its_own_weekend():
	# An empty weekend: only the listed days are off.
	assert business_days.add_business_days(MONDAY, 7, holidays=(), weekend=()) == dt.date(2026, 11, 30)


def test_zero_days_is_the_same_day_and_negative_is_refused():
	assert business_days.add_business_days(MONDAY, 0) == MONDAY
	with pytest.raises(ValueError):
		business_days.add_business_days(MONDAY, -1)
	with pytest.raises(ValueError):
		business_days.add_business_days(MONDAY, 1, weekend=range(7))


@given(
	st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2090, 1, 1)),
	st.integers(min_value=0, max_value=40),
	st.sets(st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2090, 3, 1)), max_size=20),
)
def test_business_days_counted_exactly(start, days, holidays):
	end = business_days.add_business_days(start, days, holidays)
	between = [start + dt.timedelta(days=i) for i in range(1, (end - start).days + 1)]
	assert sum(business_days.is_business_day(d, holidays) for d in between) == days
	assert days == 0 or business_days.is_business_day(end, holidays)


# --- the rows that decide a channel at a moment -------------------------------------------------------

LOG_ROWS = st.lists(
	st.tuples(
		st.sampled_from(
			[
				("Call", "Opt In"),
				("Call", "Opt Out"),
				("Text", "Opt In"),
				("Text", "Opt Out"),
				("Text", "Text Reauth"),
				("Text", "Lapsed"),
			]
		),
		st.integers(min_value=0, max_value=20),  # the event's day: ties and rows out of log order
		st.sampled_from(["00:00:00", "09:30:00", "17:45:10"]),
	),
	max_size=12,
)


@settings(max_examples=500, deadline=None)
@given(
	log=LOG_ROWS,
	day=st.integers(min_value=-1, max_value=21),
	time=st.sampled_from(["00:00:00", "09:30:00", "23:59:59"]),
	channel=st.sampled_from(["Call", "Text"]),
	phone_type=st.sampled_from(["Cell", "Home"]),
	policy=st.builds(engine.Policy, st.booleans(), st.booleans()),
)
def test_the_deciding_rows_decide_as_the_whole_log_replayed(log, day, time, channel, phone_type, policy):
	"""Any log (in log order, events dated in any order, ties included) at any moment: the channel's last
	row and the last blocking row decide as replaying every row up to the moment does."""
	start = dt.date(2026, 3, 1)
	rows = [
		{
			**row(name, action, (start + dt.timedelta(days=d)).isoformat(), t),
			"idx": idx,
		}
		for idx, ((name, action), d, t) in enumerate(log, start=1)
	]
	at = dt.datetime.combine(start + dt.timedelta(days=day), dt.time.fromisoformat(time))
	state, last = gate.state_at(channels.PHONE, rows, at, policy)
	whole = gate.decide(channel, state, last_action=last.get(channel), phone_type=phone_type)
	deciding = gate.deciding_rows(channel, rows, at, policy)
	assert len(deciding) <= 2
	assert gate.decide_at(channel, deciding, phone_type=phone_type, policy=policy) == whole


@settings(max_examples=200, deadline=None)
@given(
	log=st.lists(st.tuples(st.sampled_from(["Opt In", "Opt Out"]), st.integers(0, 5)), max_size=8),
	day=st.integers(min_value=-1, max_value=6),
	policy=st.builds(engine.Policy, st.booleans(), st.booleans()),
)
def test_the_deciding_rows_of_an_email(log, day, policy):
	start = dt.date(2026, 3, 1)
	rows = [
		{**row("Email", action, (start + dt.timedelta(days=d)).isoformat()), "idx": idx}
		for idx, (action, d) in enumerate(log, start=1)
	]
	at = dt.datetime.combine(start + dt.timedelta(days=day), dt.time(12, 0))
	state, last = gate.state_at(channels.EMAIL, rows, at, policy)
	whole = gate.decide("Email", state, last_action=last.get("Email"))
	assert gate.decide_at("Email", gate.deciding_rows("Email", rows, at, policy), policy=policy) == whole


def test_the_blocking_actions_follow_the_policy():
	both = gate.blocking_actions(channels.PHONE)
	assert both == {("Call", "Opt In"), ("Text", "Opt In"), ("Call", "Opt Out"), ("Text", "Opt Out")}
	calls_only = gate.blocking_actions(channels.PHONE, engine.Policy(text_opt_out_blocks_calls=False))
	assert calls_only == {("Call", "Opt In"), ("Text", "Opt In"), ("Call", "Opt Out")}
	assert gate.blocking_actions(channels.EMAIL, engine.Policy(opt_out_blocks=False)) == {("Email", "Opt In")}
