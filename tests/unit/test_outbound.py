"""The door texts leave by: send, withhold or send as exempt, given the gate's verdict and the settings."""

from hypothesis import given
from hypothesis import strategies as st

from opt_consent.gate import rules as gate
from opt_consent.outbound import rules as outbound

REFUSALS = [r for r in gate.PRECEDENCE if r != gate.OPTED_IN] + [gate.UNKNOWN_ADDRESS, gate.INVALID_ADDRESS]


def test_consent_in_force_is_sent_and_not_recorded():
	outcome = outbound.decide(True, gate.OPTED_IN)
	assert outcome == outbound.Outcome(True, outbound.SENT, gate.OPTED_IN)
	assert not outcome.recorded


def test_every_refusal_is_withheld_and_recorded_by_default():
	for reason in REFUSALS:
		outcome = outbound.decide(False, reason)
		assert (outcome.send, outcome.outcome, outcome.reason, outcome.recorded) == (
			False,
			outbound.WITHHELD,
			reason,
			True,
		)


def test_no_record_setting_sends_unknown_numbers_only():
	sent = outbound.decide(False, gate.UNKNOWN_ADDRESS, no_record=outbound.NO_RECORD_SEND)
	assert (sent.send, sent.outcome, sent.recorded) == (True, outbound.SENT_NO_RECORD, True)
	# an invalid number, an opt out, a lapse: still withheld
	for reason in (gate.INVALID_ADDRESS, gate.OPTED_OUT, gate.LAPSED, gate.NOT_OPTED_IN, gate.NOT_CELL):
		assert outbound.decide(False, reason, no_record=outbound.NO_RECORD_SEND).outcome == outbound.WITHHELD


def test_an_unset_or_unknown_no_record_setting_withholds():
	for value in (None, "", "send", "SEND", "Yes", 1):
		assert outbound.no_record_policy(value) == outbound.NO_RECORD_WITHHOLD
		assert not outbound.decide(False, gate.UNKNOWN_ADDRESS, no_record=value).send


def test_an_exempt_notification_sends_and_records_the_override():
	outcome = outbound.decide(False, gate.OPTED_OUT, exempt=True)
	assert (outcome.send, outcome.outcome, outcome.reason, outcome.recorded) == (
		True,
		outbound.SENT_EXEMPT,
		gate.OPTED_OUT,
		True,
	)
	assert not outbound.decide(True, gate.OPTED_IN, exempt=True).recorded


def test_every_gate_reason_has_a_label():
	for reason in [*gate.PRECEDENCE, gate.UNKNOWN_ADDRESS, gate.INVALID_ADDRESS]:
		if reason == gate.DO_NOT_EMAIL:
			continue  # never a Text verdict
		assert outbound.reason_label(reason) != reason
	assert outbound.reason_label("something_new") == "something_new"


numbers = st.lists(
	st.one_of(
		st.none(), st.just(""), st.just("  "), st.text(alphabet="+0123456789 ", min_size=1, max_size=14)
	),
	max_size=12,
)
verdicts = st.dictionaries(
	st.text(alphabet="+0123456789 ", min_size=1, max_size=14),
	st.sampled_from([gate.OPTED_IN, *REFUSALS]),
)


@given(numbers, verdicts, st.booleans(), st.sampled_from([None, *outbound.NO_RECORD_CHOICES]))
def test_screen_sends_exactly_what_the_rules_allow(numbers, reasons, exempt, no_record):
	def verdict_of(number):
		reason = reasons.get(number, gate.UNKNOWN_ADDRESS)
		return {"allowed": reason == gate.OPTED_IN, "reason": reason}

	screened = outbound.screen(numbers, verdict_of, exempt=exempt, no_record=no_record)
	given_numbers = [str(n) for n in numbers if n is not None and str(n).strip()]
	assert [s.number for s in screened] == given_numbers  # every number screened once, in order
	sent = outbound.permitted(screened)
	held = outbound.withheld(screened)
	assert len(sent) + len(held) == len(given_numbers)
	for s in screened:
		reason = verdict_of(s.number)["reason"]
		allowed_by_rules = (
			reason == gate.OPTED_IN
			or exempt
			or (reason == gate.UNKNOWN_ADDRESS and no_record == outbound.NO_RECORD_SEND)
		)
		assert s.outcome.send is allowed_by_rules
		assert s.outcome.reason == reason
		# whatever was not sent on consent in force is kept as evidence
		assert s.outcome.recorded is (reason != gate.OPTED_IN)
	if not exempt:
		assert all(verdict_of(n)["allowed"] or no_record == outbound.NO_RECORD_SEND for n in sent)
