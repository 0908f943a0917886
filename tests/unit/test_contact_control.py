"""Contact Control's pure rules: caps, holds, allowed hours in every possible zone, the next allowed moment
(property tests: it is allowed, and no earlier minute is), rule parsing and the Regulation F template."""

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from opt_consent.contact_control import rules as cc
from opt_consent.model.channels import CALL, EMAIL_CHANNEL, TEXT
from opt_consent.model.messages import Refused

# --- the independent direct check the property tests hold cc.evaluate to ----------------------------------


def allowed_at(rules, subject, attempts, moment, *, holidays=(), fallback_zones=("UTC",)) -> bool:
	"""Whether every rule allows ``moment`` (the attempts known then being those up to it), checked directly:
	no next moment is computed. The property tests hold :func:`cc.evaluate` to this."""
	moment = moment.astimezone(cc.UTC)
	attempts = list(attempts)
	zones = subject.zones or tuple(fallback_zones)
	for rule in rules:
		if not cc.applies(rule, subject):
			continue
		if rule.kind == cc.ALLOWED_HOURS:
			if not all(in_hours(rule, name, moment, holidays) for name in zones):
				return False
			continue
		limit = rule.max_attempts if rule.kind == cc.FREQUENCY_CAP else 1
		inside = sum(
			1
			for a in attempts
			if cc.counted(rule, subject, a) and moment - rule.window < a.at.astimezone(cc.UTC) <= moment
		)
		if inside >= limit:
			return False
	return True


def in_hours(rule, zone_name: str, moment: dt.datetime, holidays=()) -> bool:
	"""Whether ``moment`` is inside the rule's hours on its local day in one zone."""
	local = moment.astimezone(cc.zone(zone_name))
	day = local.date()
	if day.weekday() not in rule.weekdays or (rule.skip_holidays and day in holidays):
		return False
	tz = cc.zone(zone_name)
	return (
		dt.datetime.combine(day, rule.start, tzinfo=tz)
		<= moment
		< dt.datetime.combine(day, rule.end, tzinfo=tz)
	)


UTC = dt.timezone.utc
NY = "America/New_York"
LA = "America/Los_Angeles"
T0 = dt.datetime(2026, 3, 2, 15, 0, tzinfo=UTC)  # Monday 10:00 in New York


def cap(n=3, days=7, per=cc.PER_ADDRESS, channels=(CALL,), **kw):
	return cc.Rule(
		"cap",
		cc.FREQUENCY_CAP,
		frozenset(channels),
		per,
		max_attempts=n,
		window=dt.timedelta(days=days),
		**kw,
	)


def hold(days=7, per=cc.PER_ADDRESS, outcomes=(cc.CONVERSATION,)):
	return cc.Rule(
		"hold",
		cc.HOLD_AFTER_OUTCOME,
		frozenset({CALL}),
		per,
		window=dt.timedelta(days=days),
		outcomes=frozenset(outcomes),
	)


def hours(start=(8, 0), end=(21, 0), weekdays=range(7), skip_holidays=False, name="hours", **kw):
	return cc.Rule(
		name,
		cc.ALLOWED_HOURS,
		frozenset({CALL, TEXT}),
		start=dt.time(*start),
		end=dt.time(*end),
		weekdays=frozenset(weekdays),
		skip_holidays=skip_holidays,
		**kw,
	)


def subject(address="+12125550100", zones=(NY,), **kw):
	return cc.Subject(CALL, address, zones=tuple(zones), **kw)


def call(at, outcome=cc.NO_ANSWER, address="+12125550100", **kw):
	return cc.Attempt(at, CALL, outcome, address, **kw)


# --- caps and holds ------------------------------------------------------------------------------------


def test_no_rules_allows_now():
	verdict = cc.evaluate([], subject(), [], T0)
	assert verdict.allowed and verdict.reason == cc.ALLOWED and verdict.next_allowed_at == T0


def test_cap_refuses_the_attempt_over_the_limit_until_the_oldest_leaves_the_window():
	attempts = [call(T0 - dt.timedelta(days=d, hours=1)) for d in (5, 3, 1)]
	verdict = cc.evaluate([cap(3, 7)], subject(), attempts, T0)
	assert not verdict.allowed and verdict.reason == cc.REASON_FREQUENCY_CAP and verdict.rule == "cap"
	assert verdict.next_allowed_at == T0 - dt.timedelta(days=5, hours=1) + dt.timedelta(days=7)
	assert cc.evaluate([cap(4, 7)], subject(), attempts, T0).allowed


def test_cap_window_is_open_at_its_old_end():
	first = T0 - dt.timedelta(days=7)
	verdict = cc.evaluate([cap(1, 7)], subject(), [call(first)], T0)
	assert verdict.allowed  # the attempt exactly 7 days ago has left (moment - window, moment]


def test_cap_counts_per_address_party_and_reference():
	party, other = "Contact/A", "Contact/B"
	attempts = [
		call(T0 - dt.timedelta(hours=3), address="+12125550199", party=party, reference="DEBT-1"),
		call(T0 - dt.timedelta(hours=2), address="+12125550100", party=party, reference="DEBT-2"),
		call(T0 - dt.timedelta(hours=1), address="+12125550100", party=other, reference="DEBT-1"),
	]
	me = subject(party=party, reference="DEBT-1")
	assert cc.evaluate([cap(2, per=cc.PER_ADDRESS)], me, attempts, T0).allowed is False  # 2 on this number
	assert cc.evaluate([cap(2, per=cc.PER_PARTY)], me, attempts, T0).allowed is False  # 2 for party A
	assert (
		cc.evaluate([cap(2, per=cc.PER_PARTY_REFERENCE)], me, attempts, T0).allowed is True
	)  # 1 about DEBT-1
	no_reference = subject(party=party)
	assert cc.evaluate([cap(2, per=cc.PER_PARTY_REFERENCE)], no_reference, attempts, T0).allowed is False
	# with no party, a per-party rule counts the address
	assert cc.evaluate([cap(3, per=cc.PER_PARTY)], subject(), attempts, T0).allowed is True


def test_cap_counts_only_its_channels():
	attempts = [cc.Attempt(T0 - dt.timedelta(hours=1), TEXT, cc.SENT, "+12125550100")] * 3
	assert cc.evaluate([cap(1)], subject(), attempts, T0).allowed


def test_hold_after_conversation_only():
	attempts = [
		call(T0 - dt.timedelta(days=2), cc.CONVERSATION),
		call(T0 - dt.timedelta(hours=1), cc.VOICEMAIL),
	]
	verdict = cc.evaluate([hold(7)], subject(), attempts, T0)
	assert not verdict.allowed and verdict.reason == cc.REASON_CONVERSATION_HOLD
	assert verdict.next_allowed_at == T0 + dt.timedelta(days=5)
	assert cc.evaluate([hold(7)], subject(), attempts[1:], T0).allowed


def test_attempts_after_the_moment_are_not_known_then():
	later = [call(T0 + dt.timedelta(minutes=5), cc.CONVERSATION)]
	assert cc.evaluate([hold(7)], subject(), later, T0).allowed


# --- allowed hours -------------------------------------------------------------------------------------


def test_hours_in_the_persons_zone():
	early = dt.datetime(2026, 3, 2, 12, 30, tzinfo=UTC)  # 07:30 in New York
	verdict = cc.evaluate([hours()], subject(), [], early)
	assert not verdict.allowed and verdict.reason == cc.REASON_OUTSIDE_HOURS
	assert verdict.next_allowed_at == dt.datetime(2026, 3, 2, 13, 0, tzinfo=UTC)  # 08:00 New York


def test_end_of_hours_is_exclusive_and_moves_to_next_day():
	late = dt.datetime(2026, 3, 3, 2, 0, tzinfo=UTC)  # 21:00 Monday in New York
	verdict = cc.evaluate([hours()], subject(), [], late)
	assert verdict.next_allowed_at == dt.datetime(2026, 3, 3, 13, 0, tzinfo=UTC)


def test_several_zones_must_all_allow():
	# 08:30 in New York is 05:30 in Los Angeles: not allowed until 08:00 Los Angeles (11:00 New York)
	moment = dt.datetime(2026, 3, 2, 13, 30, tzinfo=UTC)
	assert cc.evaluate([hours()], subject(zones=(NY,)), [], moment).allowed
	verdict = cc.evaluate([hours()], subject(zones=(NY, LA)), [], moment)
	assert not verdict.allowed
	assert verdict.next_allowed_at == dt.datetime(2026, 3, 2, 16, 0, tzinfo=UTC)


def test_zones_with_no_common_hours_never_allow():
	verdict = cc.evaluate([hours((8, 0), (9, 0))], subject(zones=(NY, "Asia/Tokyo")), [], T0)
	assert not verdict.allowed and verdict.next_allowed_at is None


def test_days_of_week_and_holidays():
	saturday = dt.datetime(2026, 3, 7, 15, 0, tzinfo=UTC)
	rule = hours(weekdays=range(5), skip_holidays=True)
	holiday = dt.date(2026, 3, 9)  # the Monday after
	verdict = cc.evaluate([rule], subject(), [], saturday, holidays={holiday})
	assert verdict.next_allowed_at == dt.datetime(2026, 3, 10, 12, 0, tzinfo=UTC)  # Tuesday 08:00 EDT


def test_daylight_saving_change():
	# New York springs forward on 2026-03-08: 08:00 is 12:00 UTC from then on
	sunday_early = dt.datetime(2026, 3, 8, 11, 0, tzinfo=UTC)
	assert cc.evaluate([hours()], subject(), [], sunday_early).next_allowed_at == dt.datetime(
		2026, 3, 8, 12, 0, tzinfo=UTC
	)


def test_fallback_zone_when_the_location_is_unknown():
	moment = dt.datetime(2026, 3, 2, 7, 30, tzinfo=UTC)
	assert not cc.evaluate([hours()], subject(zones=()), [], moment).allowed  # UTC 07:30
	assert cc.evaluate([hours()], subject(zones=()), [], moment, fallback_zones=("Asia/Kolkata",)).allowed


def test_jurisdiction():
	rule = hours(country="United States", region="NY")
	outside = dt.datetime(2026, 3, 2, 5, 0, tzinfo=UTC)
	assert not cc.evaluate([rule], subject(country="united states", region="ny"), [], outside).allowed
	assert cc.evaluate([rule], subject(country="United States", region="CA"), [], outside).allowed
	assert cc.evaluate([rule], subject(country="Canada"), [], outside).allowed


def test_combined_rules_and_the_deciding_rule():
	# capped until Tuesday 11:00 UTC (06:00 New York): the hours then push it to 08:00 New York
	attempts = [call(dt.datetime(2026, 2, 24, 11, 0, tzinfo=UTC) + dt.timedelta(hours=i)) for i in range(3)]
	moment = dt.datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
	verdict = cc.evaluate([cap(3, 7), hours()], subject(), attempts, moment - dt.timedelta(days=1))
	assert not verdict.allowed and verdict.rule == "cap" and verdict.refused_by == ("cap",)
	assert verdict.next_allowed_at == dt.datetime(2026, 3, 3, 13, 0, tzinfo=UTC)


def test_next_allowed_rounds_up_to_a_whole_minute():
	attempt = call(T0 - dt.timedelta(days=7) + dt.timedelta(seconds=30))
	verdict = cc.evaluate([cap(1, 7)], subject(), [attempt], T0)
	assert verdict.next_allowed_at == T0 + dt.timedelta(minutes=1)


def test_naive_moment_is_refused():
	with pytest.raises(ValueError):
		cc.evaluate([], subject(), [], dt.datetime(2026, 3, 2))


# --- property: next_allowed_at is allowed, and no earlier minute is -------------------------------------

minutes = st.integers(min_value=0, max_value=14 * 24 * 60)


@st.composite
def scenarios(draw):
	rules = []
	if draw(st.booleans()):
		rules.append(cap(draw(st.integers(1, 4)), draw(st.integers(1, 8)), per=draw(st.sampled_from(cc.PER))))
	if draw(st.booleans()):
		rules.append(hold(draw(st.integers(1, 8))))
	for i in range(draw(st.integers(0, 2))):
		start = draw(st.integers(0, 22 * 60))
		end = draw(st.integers(start + 1, 24 * 60 - 1))
		days = draw(st.frozensets(st.integers(0, 6), min_size=1))
		rules.append(hours(divmod(start, 60), divmod(end, 60), days, draw(st.booleans()), name=f"hours{i}"))
	at = T0 + dt.timedelta(minutes=draw(minutes), seconds=draw(st.integers(0, 59)))
	attempts = [
		call(
			at - dt.timedelta(minutes=draw(st.integers(0, 10 * 24 * 60)), seconds=draw(st.integers(0, 59))),
			draw(st.sampled_from(cc.CALL_OUTCOMES)),
			address=draw(st.sampled_from(["+12125550100", "+12125550101"])),
			party=draw(st.sampled_from([None, "Contact/A"])),
			reference=draw(st.sampled_from([None, "D1", "D2"])),
		)
		for _ in range(draw(st.integers(0, 8)))
	]
	zones = tuple(
		draw(
			st.lists(
				st.sampled_from([NY, LA, "Europe/London", "Asia/Kolkata", "Australia/Sydney"]),
				max_size=3,
				unique=True,
			)
		)
	)
	who = subject(
		zones=zones,
		party=draw(st.sampled_from([None, "Contact/A"])),
		reference=draw(st.sampled_from([None, "D1"])),
	)
	holidays = set(draw(st.lists(st.dates(dt.date(2026, 3, 1), dt.date(2026, 3, 31)), max_size=4)))
	return rules, who, attempts, at, holidays, draw(st.randoms(use_true_random=False))


@settings(max_examples=200, deadline=None)
@given(scenarios())
def test_next_allowed_is_allowed_and_no_earlier_minute_is(scenario):
	rules, who, attempts, at, holidays, rnd = scenario
	verdict = cc.evaluate(rules, who, attempts, at, holidays=holidays)
	check = lambda moment: allowed_at(rules, who, attempts, moment, holidays=holidays)  # noqa: E731
	assert verdict.allowed == check(at)
	if verdict.allowed:
		assert verdict.next_allowed_at == at
		return
	if verdict.next_allowed_at is None:
		# never within the horizon: a sample of moments over the next weeks is refused too
		for _ in range(50):
			assert not check(at + dt.timedelta(minutes=rnd.randint(0, 60 * 24 * 60)))
		return
	nxt = verdict.next_allowed_at
	assert nxt > at and nxt.second == 0 and nxt.microsecond == 0
	assert check(nxt)
	first_minute = cc.ceil_minute(at)
	span = int((nxt - first_minute) / cc.MINUTE)
	earlier = {nxt - cc.MINUTE, first_minute} | {
		first_minute + cc.MINUTE * rnd.randrange(max(span, 1)) for _ in range(60)
	}
	for moment in earlier:
		if at <= moment < nxt:
			assert not check(moment), moment


@settings(max_examples=60, deadline=None)
@given(scenarios())
def test_no_earlier_minute_exhaustively_within_a_day(scenario):
	rules, who, attempts, at, holidays, _rnd = scenario
	verdict = cc.evaluate(rules, who, attempts, at, holidays=holidays)
	if verdict.allowed or verdict.next_allowed_at is None:
		return
	moment = cc.ceil_minute(at)
	stop = min(verdict.next_allowed_at, moment + dt.timedelta(days=1))
	while moment < stop:
		assert not allowed_at(rules, who, attempts, moment, holidays=holidays), moment
		moment += cc.MINUTE


# --- settings rows -------------------------------------------------------------------------------------


def test_make_rule_from_rows():
	rows = cc.regulation_f_template()
	rules = [cc.make_rule(row) for row in rows]
	assert [r.kind for r in rules] == [cc.FREQUENCY_CAP, cc.HOLD_AFTER_OUTCOME, cc.ALLOWED_HOURS]
	assert rules[0].max_attempts == 7 and rules[0].window == dt.timedelta(days=7)
	assert rules[0].per == cc.PER_PARTY_REFERENCE and rules[0].channels == {CALL}
	assert rules[1].outcomes == {cc.CONVERSATION} and rules[1].reason == cc.REASON_CONVERSATION_HOLD
	assert (
		rules[2].start == dt.time(8)
		and rules[2].end == dt.time(21)
		and rules[2].channels == {CALL, TEXT, EMAIL_CHANNEL}
	)
	assert all(row["enabled"] == 0 and row["country"] == "United States" for row in rows)


@pytest.mark.parametrize(
	"row",
	[
		{"kind": "Sometimes", "channels": "Call"},
		{"kind": cc.FREQUENCY_CAP, "channels": "Fax", "max_attempts": 1, "window_days": 1},
		{"kind": cc.FREQUENCY_CAP, "channels": "", "max_attempts": 1, "window_days": 1},
		{"kind": cc.FREQUENCY_CAP, "channels": "Call", "max_attempts": 0, "window_days": 1},
		{"kind": cc.FREQUENCY_CAP, "channels": "Call", "max_attempts": 1, "window_days": 0},
		{"kind": cc.HOLD_AFTER_OUTCOME, "channels": "Call", "window_days": 7, "outcomes": ""},
		{"kind": cc.HOLD_AFTER_OUTCOME, "channels": "Call", "window_days": 7, "outcomes": "Shouting"},
		{"kind": cc.ALLOWED_HOURS, "channels": "Call", "start_time": "21:00", "end_time": "08:00"},
		{"kind": cc.ALLOWED_HOURS, "channels": "Call", "start_time": "", "end_time": "08:00"},
		{
			"kind": cc.ALLOWED_HOURS,
			"channels": "Call",
			"start_time": "8",
			"end_time": "9",
			"days_of_week": "Funday",
		},
		{
			"kind": cc.FREQUENCY_CAP,
			"channels": "Call",
			"max_attempts": 1,
			"window_days": 1,
			"counts_per": "Moon",
		},
	],
)
def test_bad_rows_are_refused(row):
	with pytest.raises(Refused):
		cc.make_rule(row)


def test_times_from_the_database_and_text():
	assert cc.as_time(dt.timedelta(hours=8, minutes=30)) == dt.time(8, 30)
	assert cc.as_time("21:00:00") == dt.time(21)
	assert cc.as_time("x") is None
	assert cc.parse_weekdays("mon, Tuesday,SAT") == {0, 1, 5}
	assert cc.parse_weekdays("") == set(range(7))


def test_address_zones():
	assert cc.address_zones("United States", "New York") == (NY,)
	assert cc.address_zones("United States", "TX") == ("America/Chicago", "America/Denver")
	assert cc.address_zones("India", "Kerala", ["Asia/Kolkata"]) == ("Asia/Kolkata",)
	assert cc.address_zones(None, None) == ()
	assert cc.usable_zones(["Etc/Unknown", NY, NY, "Nowhere/Land"]) == (NY,)
	for zones in cc.US_STATE_ZONES.values():
		assert cc.usable_zones(zones) == zones
