"""The one confirmation text (47 CFR 64.1200(a)(12)): when it is sent, retried or given up, and what it
may say. Pure: no Frappe."""

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from opt_consent.model.messages import Refused
from opt_consent.revocation.rules import confirmation as c

RECEIVED = dt.datetime(2027, 2, 1, 9, 0, 0)


def at(seconds: int) -> dt.datetime:
	return RECEIVED + dt.timedelta(seconds=seconds)


def test_a_pending_confirmation_inside_the_five_minutes_is_sent():
	assert c.next_step(c.PENDING, 0, RECEIVED, at(10)) == c.SEND
	assert c.next_step(c.PENDING, 2, RECEIVED, at(299)) == c.SEND


def test_past_the_five_minutes_or_out_of_attempts_it_is_given_up():
	assert c.next_step(c.PENDING, 0, RECEIVED, at(301)) == c.GIVE_UP
	assert c.next_step(c.PENDING, c.MAX_ATTEMPTS, RECEIVED, at(10)) == c.GIVE_UP


@given(
	state=st.sampled_from([c.SENT, c.FAILED, c.UNKNOWN, c.OFF, c.NONE]),
	attempts=st.integers(0, 10),
	seconds=st.integers(0, 100_000),
)
def test_a_final_state_is_never_sent_again(state, attempts, seconds):
	assert c.next_step(state, attempts, RECEIVED, at(seconds)) == c.NOTHING


@given(attempts=st.integers(0, 10), seconds=st.integers(0, 100_000))
def test_a_claim_that_never_reported_is_never_retried(attempts, seconds):
	"""Sending may have left: it becomes Unknown (once stale), never another attempt."""
	assert c.next_step(c.SENDING, attempts, RECEIVED, at(seconds)) in (c.NOTHING, c.MARK_UNKNOWN)


def test_after_an_attempt():
	assert c.after_attempt(True, 1, RECEIVED, at(5)) == c.SENT
	assert c.after_attempt(False, 1, RECEIVED, at(5)) == c.PENDING
	assert c.after_attempt(False, c.MAX_ATTEMPTS, RECEIVED, at(5)) == c.FAILED
	assert c.after_attempt(False, 1, RECEIVED, at(400)) == c.FAILED


@pytest.mark.parametrize(
	"text",
	[
		"You are unsubscribed and will get no more texts from us.",
		"Acme Collections: you will receive no more text messages.",
		"Ha sido dado de baja. No recibirá más mensajes.",
	],
)
def test_plain_confirmations_are_accepted(text):
	assert c.check_text(f"  {text} ") == text


@pytest.mark.parametrize(
	"text, code",
	[
		("", "confirmation_empty"),
		("   ", "confirmation_empty"),
		(None, "confirmation_empty"),
		("x" * 161, "confirmation_long"),
		("Unsubscribed. Manage at https://acme.example/prefs", "confirmation_link"),
		("Unsubscribed. www.acme.com", "confirmation_link"),
		("Unsubscribed. See acme.com", "confirmation_link"),
		("Unsubscribed. Come back for 20% off!", "confirmation_marketing"),
		("Unsubscribed. Our sale ends Friday.", "confirmation_marketing"),
		("Dado de baja. Oferta especial para usted.", "confirmation_marketing"),
	],
)
def test_a_confirmation_that_does_more_than_confirm_is_refused(text, code):
	with pytest.raises(Refused) as refused:
		c.check_text(text)
	assert refused.value.code == code
