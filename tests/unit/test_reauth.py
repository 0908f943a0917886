"""The texting reauthorisation rule (pure, no Frappe)."""

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from opt_consent.model import channels
from opt_consent.model.messages import Refused
from opt_consent.reauth import rules as reauth

TODAY = dt.date(2026, 6, 15)


def ago(n: int) -> dt.date:
	return TODAY - dt.timedelta(days=n)


def status(rules, days_ago, method="Verbal", text_opt=1):
	return reauth.assess(rules, text_opt, ago(days_ago), method, TODAY)


def test_thirty_day_period_boundaries():
	rules = reauth.Rules.make(30, 1)
	lapsed = status(rules, 31)
	assert lapsed == reauth.Assessment(reauth.LAPSED, ago(1), ago(2))
	# the lapse date itself is the first day without consent
	assert status(rules, 30) == reauth.Assessment(reauth.LAPSED, TODAY, ago(1))
	# 29 days ago: lapses tomorrow, due from today with a lead of one day
	assert status(rules, 29) == reauth.Assessment(reauth.DUE, ago(-1), TODAY)
	assert status(rules, 28).status == reauth.OK


def test_without_lead_time_a_phone_is_never_due_before_it_lapses():
	rules = reauth.Rules.make(30, 0)
	assert status(rules, 29) == reauth.Assessment(reauth.OK, ago(-1), ago(-1))
	assert status(rules, 30).status == reauth.LAPSED


def test_lead_time_sets_the_due_date():
	rules = reauth.Rules.make(30, 7)
	assert status(rules, 22).status == reauth.OK  # lapses in 8 days
	assert status(rules, 23) == reauth.Assessment(reauth.DUE, ago(-7), TODAY)


@pytest.mark.parametrize("period", [0, None, ""])
def test_zero_or_empty_period_never_lapses(period):
	rules = reauth.Rules.make(period, 5)
	assert status(rules, 3650) == reauth.Assessment(reauth.NEVER)


def test_without_texting_consent_there_is_nothing_to_lapse():
	rules = reauth.Rules.make(30, 5)
	assert status(rules, 100, text_opt=0) == reauth.Assessment(reauth.NONE)
	assert reauth.assess(rules, 1, None, "Verbal", TODAY) == reauth.Assessment(reauth.NONE)


def test_per_method_override_longer_and_shorter_than_default():
	rules = reauth.Rules.make(30, 2, {"Written": 365, "Text Reply": 10})
	assert status(rules, 31, "Written").status == reauth.OK
	assert status(rules, 31, "Written").lapses_on == ago(31 - 365)
	assert status(rules, 31, "Verbal").status == reauth.LAPSED
	assert status(rules, 9, "Text Reply").status == reauth.DUE
	assert status(rules, 10, "Text Reply").status == reauth.LAPSED
	# a method without an override, or no method at all, takes the default
	assert status(rules, 29, None).status == reauth.DUE


def test_override_of_zero_never_lapses_even_with_a_default_period():
	rules = reauth.Rules.make(30, 0, [("Written", 0)])
	assert status(rules, 1000, "Written") == reauth.Assessment(reauth.NEVER)
	assert status(rules, 1000, "Verbal").status == reauth.LAPSED


def test_override_can_make_one_method_lapse_when_the_default_never_does():
	rules = reauth.Rules.make(0, 0, {"Verbal": 30})
	assert status(rules, 31, "Verbal").status == reauth.LAPSED
	assert status(rules, 31, "Written").status == reauth.NEVER


def test_period_changed_after_the_fact_moves_the_lapse_date():
	authorised = ago(40)
	before = reauth.assess(reauth.Rules.make(90, 10), 1, authorised, "Verbal", TODAY)
	after = reauth.assess(reauth.Rules.make(30, 10), 1, authorised, "Verbal", TODAY)
	assert before == reauth.Assessment(
		reauth.OK, authorised + dt.timedelta(90), authorised + dt.timedelta(80)
	)
	assert after == reauth.Assessment(
		reauth.LAPSED, authorised + dt.timedelta(30), authorised + dt.timedelta(20)
	)
	# and lengthening it again brings the phone back in force (until the job has lapsed it)
	assert reauth.assess(reauth.Rules.make(60, 25), 1, authorised, "Verbal", TODAY).status == reauth.DUE
	# adding an override for the method afterwards also applies to consent given before
	longer = reauth.Rules.make(30, 10, {"Verbal": 365})
	assert reauth.assess(longer, 1, authorised, "Verbal", TODAY).status == reauth.OK


def test_due_date_never_before_the_authorisation():
	rules = reauth.Rules.make(5, 5)
	assert status(rules, 0) == reauth.Assessment(reauth.DUE, ago(-5), TODAY)


@given(
	period=st.integers(min_value=1, max_value=400),
	lead=st.integers(min_value=0, max_value=400),
	age=st.integers(min_value=0, max_value=900),
)
def test_status_follows_the_dates(period, lead, age):
	lead = min(lead, period)
	result = reauth.assess(reauth.Rules.make(period, lead), 1, ago(age), None, TODAY)
	assert result.lapses_on == ago(age) + dt.timedelta(days=period)
	assert ago(age) <= result.due_from <= result.lapses_on
	expected = reauth.LAPSED if age >= period else reauth.DUE if age >= period - lead else reauth.OK
	assert result.status == expected


def test_valid_rules_pass():
	reauth.check_rules(30, 30, [("Written", 365), ("Verbal", 0)], 10)
	reauth.check_rules(0, 0, [], 0)
	reauth.check_rules(None, "", [], None)
	# a lead time with no period that lapses is harmless
	reauth.check_rules(0, 7, [("Written", 0)], 10)


@pytest.mark.parametrize(
	"args, code",
	[
		((-1, 0, [], 10), "negative"),
		((30, -1, [], 10), "negative"),
		((30, 0, [], -2), "negative"),
		((30, 31, [], 10), "lead_too_long"),
		((0, 8, [("Text Reply", 7)], 10), "lead_too_long"),
		((30, 0, [("Written", -5)], 10), "negative"),
		((30, 0, [("Written", 365), ("Written", 90)], 10), "duplicate_method"),
		((30, 0, [(None, 365)], 10), "missing_method"),
		(("thirty", 0, [], 10), "not_a_number"),
		((30, 0, [("Written", "x")], 10), "not_a_number"),
	],
)
def test_invalid_rules_are_refused(args, code):
	with pytest.raises(Refused) as refused:
		reauth.check_rules(*args)
	assert refused.value.code == code


def test_refusal_messages_name_the_setting():
	with pytest.raises(Refused, match="Reminder Lead Time"):
		reauth.check_rules(30, -1)
	with pytest.raises(
		Refused, match=r"lead time \(31 days\) cannot be longer than the period for the default"
	):
		reauth.check_rules(30, 31)
	with pytest.raises(Refused, match="Opt Method Written is listed twice"):
		reauth.check_rules(30, 0, [("Written", 1), ("Written", 2)])


def test_derived_fields_are_phone_only():
	assert "text_consent_lapses_on" in channels.derived_fields("Phone")
	assert channels.derived_fields("Email") == ()
