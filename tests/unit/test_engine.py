"""The consent engine's rules and refusals, without Frappe."""

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from opt_consent.ledger.rules import engine
from opt_consent.ledger.rules.engine import LastEvent, Method, Policy
from opt_consent.model import channels
from opt_consent.model.channels import CALL, EMAIL, EMAIL_CHANNEL, OPT_IN, OPT_OUT, PHONE, TEXT, TEXT_REAUTH
from opt_consent.model.messages import Refused

NOW = dt.datetime(2026, 11, 26, 12, 0, 0)
VERBAL = Method("Verbal")


REQUEST_FIELDS = ("purpose", "wording", "system_revocation")


def decide(action, channel, state=None, doctype=PHONE, date="2026-11-25", time="10:30", method=VERBAL, **kw):
	kw.setdefault("now", NOW)
	kw.setdefault("phone_type", "Cell")
	state = channels.initial_state(doctype) if state is None else state
	asked = {key: kw.pop(key) for key in REQUEST_FIELDS if key in kw}
	return engine.decide(
		engine.Request(
			doctype, action, channel, date, time, method.name if method else None, method, **asked
		),
		engine.Context(state, **kw),
	)


def refused(code, *args, **kwargs):
	with pytest.raises(Refused) as info:
		decide(*args, **kwargs)
	assert info.value.code == code
	return info.value


def test_new_record_is_active_and_opted_in_to_nothing():
	assert channels.initial_state(PHONE) == {
		"active": 1,
		"do_not_call": 0,
		"call_opt": 0,
		"call_opt_in_date": None,
		"call_opt_in_method": None,
		"call_opt_out_date": None,
		"call_opt_out_method": None,
		"text_opt": 0,
		"text_opt_in_date": None,
		"text_opt_in_method": None,
		"text_opt_out_date": None,
		"text_opt_out_method": None,
	}
	assert channels.initial_state(EMAIL)["email_opt"] == 0
	assert channels.initial_state(EMAIL)["do_not_email"] == 0


@pytest.mark.parametrize("channel", [CALL, TEXT])
def test_phone_opt_in_checks_box_records_date_method_activates_and_clears_do_not_call(channel):
	prefix = channel.lower()
	state = {**channels.initial_state(PHONE), "active": 0, "do_not_call": 1}
	outcome = decide(OPT_IN, channel, state)
	assert outcome.changes == {
		f"{prefix}_opt": 1,
		f"{prefix}_opt_in_date": dt.date(2026, 11, 25),
		f"{prefix}_opt_in_method": "Verbal",
		"active": 1,
		"do_not_call": 0,
	}
	assert outcome.log == {
		"channel": channel,
		"action": OPT_IN,
		"event_date": dt.date(2026, 11, 25),
		"event_time": dt.time(10, 30),
		"method": "Verbal",
	}


@pytest.mark.parametrize("channel", [CALL, TEXT])
def test_phone_opt_out_unchecks_box_records_date_method_deactivates_and_sets_do_not_call(channel):
	prefix = channel.lower()
	state = {**channels.initial_state(PHONE), f"{prefix}_opt": 1}
	outcome = decide(OPT_OUT, channel, state, method=Method("Written"))
	assert outcome.changes == {
		f"{prefix}_opt": 0,
		f"{prefix}_opt_out_date": dt.date(2026, 11, 25),
		f"{prefix}_opt_out_method": "Written",
		"active": 0,
		"do_not_call": 1,
	}
	assert outcome.log["action"] == OPT_OUT


def test_email_opt_in_and_out_use_do_not_email():
	outcome = decide(OPT_IN, EMAIL_CHANNEL, doctype=EMAIL, phone_type=None)
	assert outcome.changes == {
		"email_opt": 1,
		"email_opt_in_date": dt.date(2026, 11, 25),
		"email_opt_in_method": "Verbal",
		"active": 1,
		"do_not_email": 0,
	}
	state = {**channels.initial_state(EMAIL), **outcome.changes}
	outcome = decide(OPT_OUT, EMAIL_CHANNEL, state, doctype=EMAIL, phone_type=None)
	assert outcome.changes == {
		"email_opt": 0,
		"email_opt_out_date": dt.date(2026, 11, 25),
		"email_opt_out_method": "Verbal",
		"active": 0,
		"do_not_email": 1,
	}


def test_text_reauth_records_opt_in_texts_fields_and_checks_text_opt_only():
	state = {**channels.initial_state(PHONE), "active": 0, "do_not_call": 1, "call_opt": 0}
	outcome = decide(TEXT_REAUTH, TEXT, state)
	assert outcome.changes == {
		"text_opt": 1,
		"text_opt_in_date": dt.date(2026, 11, 25),
		"text_opt_in_method": "Verbal",
	}
	assert outcome.log["action"] == TEXT_REAUTH


def test_text_reauth_renews_consent_already_given():
	state = {**channels.initial_state(PHONE), "text_opt": 1, "text_opt_in_date": dt.date(2025, 1, 1)}
	last = LastEvent(dt.datetime(2025, 1, 1, 9), OPT_IN)
	assert decide(TEXT_REAUTH, TEXT, state, last=last).changes["text_opt_in_date"] == dt.date(2026, 11, 25)


def test_text_reauth_restores_lapsed_consent():
	last = LastEvent(dt.datetime(2026, 1, 1, 9), channels.LAPSED)
	assert decide(TEXT_REAUTH, TEXT, last=last).changes["text_opt"] == 1


def test_text_reauth_does_not_override_an_explicit_opt_out():
	refused("reauth_after_opt_out", TEXT_REAUTH, TEXT, last=LastEvent(dt.datetime(2026, 1, 1), OPT_OUT))


def test_text_reauth_only_on_text():
	refused("wrong_channel", TEXT_REAUTH, CALL)


def test_policy_can_keep_text_opt_out_away_from_calls():
	state = {**channels.initial_state(PHONE), "text_opt": 1}
	outcome = decide(OPT_OUT, TEXT, state, policy=Policy(text_opt_out_blocks_calls=False))
	assert "do_not_call" not in outcome.changes and "active" not in outcome.changes
	outcome = decide(OPT_OUT, CALL, {**state, "call_opt": 1}, policy=Policy(text_opt_out_blocks_calls=False))
	assert outcome.changes["do_not_call"] == 1


def test_policy_can_keep_opt_outs_from_blocking():
	state = {**channels.initial_state(PHONE), "call_opt": 1}
	outcome = decide(OPT_OUT, CALL, state, policy=Policy(opt_out_blocks=False))
	assert "do_not_call" not in outcome.changes and "active" not in outcome.changes


# Refusals


def test_opt_in_when_already_in_is_refused():
	refused("already_in", OPT_IN, CALL, {**channels.initial_state(PHONE), "call_opt": 1})


def test_opt_out_when_already_out_is_refused():
	refused("already_out", OPT_OUT, CALL, last=LastEvent(dt.datetime(2026, 1, 1), OPT_OUT))


def test_opt_out_of_a_number_never_opted_in_is_recorded():
	assert decide(OPT_OUT, CALL).changes["do_not_call"] == 1


def test_opt_out_after_lapse_is_recorded():
	assert (
		decide(OPT_OUT, TEXT, last=LastEvent(dt.datetime(2026, 1, 1), channels.LAPSED)).changes["text_opt"]
		== 0
	)


@pytest.mark.parametrize(
	"method, code",
	[
		(None, "missing_method"),
		(Method("Disabled", enabled=False), "disabled_method"),
		(Method("Out only", for_opt_in=False), "method_direction"),
	],
)
def test_bad_methods_for_opt_in_are_refused(method, code):
	refused(code, OPT_IN, CALL, method=method)


def test_unknown_method_is_refused():
	with pytest.raises(Refused) as info:
		engine.decide(
			engine.Request(PHONE, OPT_IN, CALL, "2026-11-25", "10:00", "Carrier pigeon", None),
			engine.Context(channels.initial_state(PHONE), now=NOW),
		)
	assert info.value.code == "unknown_method"
	assert "Carrier pigeon" in str(info.value)


def test_method_not_for_opt_out_is_refused():
	refused("method_direction", OPT_OUT, CALL, method=Method("In only", for_opt_out=False))


def test_reauth_needs_an_opt_in_method():
	refused("method_direction", TEXT_REAUTH, TEXT, method=Method("Out only", for_opt_in=False))


@pytest.mark.parametrize(
	"date, time, code",
	[
		(None, "10:00", "missing_date"),
		("", "10:00", "missing_date"),
		("2026-11-25", None, "missing_time"),
		("2026-11-25", "", "missing_time"),
		("25/11/2026", "10:00", "bad_date"),
		("2026-02-30", "10:00", "bad_date"),
		("yesterday", "10:00", "bad_date"),
		("2026-11-25", "25:00", "bad_time"),
		("2026-11-25", "10:61", "bad_time"),
		("2026-11-25", "ten", "bad_time"),
		("2026-11-25", dt.timedelta(days=1, seconds=5), "bad_time"),
		("2026-11-27", "09:00", "future"),
		("2026-11-26", "12:03", "future"),
		("2016-11-25", "10:00", "too_old"),
	],
)
def test_bad_dates_and_times_are_refused(date, time, code):
	refused(code, OPT_IN, CALL, date=date, time=time)


def test_clock_skew_of_a_minute_is_forgiven():
	assert decide(OPT_IN, CALL, date="2026-11-26", time="12:01").log["event_time"] == dt.time(12, 1)


def test_time_accepts_database_and_json_forms():
	assert engine.parse_time(dt.timedelta(hours=9, minutes=5)) == dt.time(9, 5)
	assert engine.parse_time("09:05:07.250000") == dt.time(9, 5, 7, 250000)
	assert engine.parse_time("9:05") == dt.time(9, 5)
	assert engine.parse_date(dt.datetime(2026, 1, 2, 3, 4)) == dt.date(2026, 1, 2)


@pytest.mark.parametrize(
	"doctype, channel", [(EMAIL, CALL), (EMAIL, TEXT), (PHONE, EMAIL_CHANNEL), (PHONE, "Fax"), (PHONE, None)]
)
def test_channel_must_belong_to_the_doctype(doctype, channel):
	refused("wrong_channel", OPT_IN, channel, doctype=doctype)


def test_only_phone_and_email_records():
	refused("bad_doctype", OPT_IN, CALL, doctype="User")


def test_unknown_action_is_refused():
	refused("bad_action", "Opt Sideways", CALL)


@pytest.mark.parametrize("phone_type", ["Home", "Work", "Other", None])
def test_texting_consent_is_given_only_on_a_cell_phone(phone_type):
	for action in (OPT_IN, TEXT_REAUTH):
		refused("not_cell", action, TEXT, phone_type=phone_type)
	assert decide(OPT_IN, CALL, phone_type=phone_type).changes["call_opt"] == 1


@pytest.mark.parametrize("phone_type", ["Home", "Work", "Other", None])
def test_a_texting_opt_out_is_recorded_whatever_the_phone_type(phone_type):
	"""A revocation is never refused for the record's type: a type changed back later cannot revive texting."""
	state = dict(channels.initial_state(PHONE), text_opt=1)
	outcome = decide(OPT_OUT, TEXT, state=state, phone_type=phone_type)
	assert outcome.changes["text_opt"] == 0


def test_a_system_revocation_is_not_refused_for_the_method():
	disabled = Method("Text Reply", enabled=False, for_opt_out=False)
	refused("disabled_method", OPT_OUT, TEXT, method=disabled)
	assert decide(OPT_OUT, TEXT, method=disabled, system_revocation=True).changes["text_opt"] == 0
	assert (
		engine.decide(
			engine.Request(PHONE, OPT_OUT, TEXT, "2026-11-25", "10:30", None, None, system_revocation=True),
			engine.Context(channels.initial_state(PHONE), now=NOW, phone_type="Cell"),
		).log["method"]
		is None
	)
	# only a revocation: a system opt in still needs a usable method
	refused(
		"disabled_method", OPT_IN, TEXT, method=Method("Text Reply", enabled=False), system_revocation=True
	)


def test_date_and_time_entered_in_another_zone_are_stored_in_the_site_zone():
	assert engine.to_site_time("2026-11-26", "09:30", "Asia/Kolkata", "UTC") == (
		dt.date(2026, 11, 26),
		dt.time(4, 0),
	)
	assert engine.to_site_time("2026-11-26", "01:00", "America/New_York", "Asia/Kolkata") == (
		dt.date(2026, 11, 26),
		dt.time(11, 30),
	)
	assert engine.to_site_time("2026-11-26", "09:30", None, "UTC") == (dt.date(2026, 11, 26), dt.time(9, 30))
	with pytest.raises(Refused) as info:
		engine.to_site_time("2026-11-26", "09:30", "Mars/Olympus", "UTC")
	assert info.value.code == "bad_zone"


def test_back_dated_event_cannot_override_a_newer_one():
	last = LastEvent(dt.datetime(2026, 11, 25, 11, 0), OPT_OUT)
	error = refused("out_of_order", OPT_IN, CALL, date="2026-11-25", time="10:59", last=last)
	assert "2026-11-25 11:00:00" in str(error)
	assert decide(OPT_IN, CALL, date="2026-11-25", time="11:00", last=last).changes["call_opt"] == 1


def test_refusal_messages_are_templates_with_arguments():
	error = refused("already_in", OPT_IN, CALL, {**channels.initial_state(PHONE), "call_opt": 1})
	assert error.message == "{0} is already opted in."
	assert error.args_ == (CALL,)


# Replaying the log gives the fields


PHONE_STEPS = st.tuples(
	st.sampled_from([OPT_IN, OPT_OUT, TEXT_REAUTH]),
	st.sampled_from([CALL, TEXT]),
	st.integers(min_value=0, max_value=3 * 24 * 60),  # minutes after the previous event
	st.sampled_from(
		[VERBAL, Method("Written"), Method("Out only", for_opt_in=False), Method("Off", enabled=False)]
	),
)


@settings(max_examples=300, deadline=None)
@given(
	steps=st.lists(PHONE_STEPS, max_size=30),
	phone_type=st.sampled_from(["Cell", "Home"]),
	policy=st.builds(Policy, st.booleans(), st.booleans()),
)
def test_any_sequence_of_accepted_actions_equals_replaying_the_log(steps, phone_type, policy):
	state = channels.initial_state(PHONE)
	log = []
	at = dt.datetime(2025, 1, 1, 8, 0)
	last = {}
	for action, channel, minutes, method in steps:
		at = at + dt.timedelta(minutes=minutes)
		try:
			outcome = engine.decide(
				engine.Request(
					PHONE, action, channel, at.date().isoformat(), at.time().isoformat(), method.name, method
				),
				engine.Context(state, now=NOW, last=last.get(channel), phone_type=phone_type, policy=policy),
			)
		except Refused:
			continue
		state.update(outcome.changes)
		log.append(outcome.log)
		last[channel] = LastEvent(outcome.event_at, action)
	assert engine.replay(PHONE, log, policy) == state
	for channel in (CALL, TEXT):
		in_log = [row for row in log if row["channel"] == channel]
		if in_log:
			assert state[f"{channel.lower()}_opt"] == (in_log[-1]["action"] != OPT_OUT)


@settings(max_examples=200, deadline=None)
@given(steps=st.lists(st.tuples(st.sampled_from([OPT_IN, OPT_OUT]), st.integers(0, 600)), max_size=20))
def test_email_sequences_replay(steps):
	state = channels.initial_state(EMAIL)
	log = []
	at = dt.datetime(2025, 6, 1)
	for action, minutes in steps:
		at += dt.timedelta(minutes=minutes)
		try:
			outcome = engine.decide(
				engine.Request(EMAIL, action, EMAIL_CHANNEL, at.date(), at.time(), "Verbal", VERBAL),
				engine.Context(state, now=NOW),
			)
		except Refused as refusal:
			assert refusal.code in ("already_in", "already_out")
			continue
		state.update(outcome.changes)
		log.append(outcome.log)
	assert engine.replay(EMAIL, log) == state


ZONES = [
	"UTC",
	"Asia/Kolkata",
	"America/New_York",
	"Europe/London",
	"Pacific/Auckland",
	"Australia/Lord_Howe",
]


@settings(max_examples=300, deadline=None)
@given(
	at=st.datetimes(min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2040, 1, 1)),
	entered=st.sampled_from(ZONES),
	# a site's naive wall clock is ambiguous in its own daylight-saving fall-back hour (Frappe stores naive
	# site times), so the property is stated for sites on zones without one
	site=st.sampled_from(["UTC", "Asia/Kolkata", "Asia/Tokyo"]),
)
def test_a_time_typed_in_any_zone_lands_on_the_same_instant_in_the_site_zone(at, entered, site):
	from zoneinfo import ZoneInfo

	# typed text carries no fold: a wall time a daylight-saving fall-back repeats is read as its first
	# occurrence (to_site_time's rule; pinned by the next test), so the typed moment is the fold-0 one
	at = at.replace(microsecond=0, fold=0)
	date, time = engine.to_site_time(at.date().isoformat(), at.strftime("%H:%M:%S"), entered, site)
	stored = dt.datetime.combine(date, time).replace(tzinfo=ZoneInfo(site))
	# compared as UTC instants: Python never calls two aware datetimes of different zones equal when one is
	# in a daylight-saving fold (PEP 495), e.g. 01:00 on 2010-11-07 typed in New York
	utc = dt.timezone.utc
	assert stored.astimezone(utc) == at.replace(tzinfo=ZoneInfo(entered)).astimezone(utc)


@pytest.mark.parametrize(
	("entered", "typed", "first_utc"),
	[
		# Lord Howe falls back half an hour (02:00 daylight -> 01:30 standard): 01:45 happens twice
		("Australia/Lord_Howe", "2013-04-07 01:45:00", "2013-04-06 14:45:00"),
		("America/New_York", "2010-11-07 01:30:00", "2010-11-07 05:30:00"),
	],
)
def test_a_wall_time_a_fall_back_repeats_is_read_as_its_first_occurrence(entered, typed, first_utc):
	date, time = typed.split(" ")
	assert engine.to_site_time(date, time, entered, "UTC") == (
		dt.date.fromisoformat(first_utc[:10]),
		dt.time.fromisoformat(first_utc[11:]),
	)


@settings(max_examples=200, deadline=None)
@given(
	phone_type=st.sampled_from(["Cell", "Home", "Work", "Other", None]),
	text_opt=st.booleans(),
	last=st.sampled_from([None, OPT_IN, TEXT_REAUTH, "Lapsed"]),
)
def test_a_texting_revocation_is_never_refused_for_the_type_or_a_prior_grant(phone_type, text_opt, last):
	state = dict(channels.initial_state(PHONE), text_opt=int(text_opt))
	previous = LastEvent(dt.datetime(2026, 11, 1, 9, 0), last) if last else None
	outcome = decide(OPT_OUT, TEXT, state=state, phone_type=phone_type, last=previous)
	assert outcome.changes["text_opt"] == 0
