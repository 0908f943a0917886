"""Consent Wording rules: versions, the status lifecycle, the text's hash, which versions apply."""

import datetime as dt
import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from opt_consent.ledger.rules import wording as w
from opt_consent.model.channels import CHANNELS
from opt_consent.model.messages import Refused

T0 = dt.datetime(2026, 3, 1, 9, 0)


def make(**fields) -> w.Wording:
	values = {
		"name": "Web Form v1",
		"status": w.PUBLISHED,
		"channels": ("Text",),
		"methods": (),
		"text": "I agree to receive texts.",
		"published_on": T0,
		"superseded_on": None,
	}
	values.update(fields)
	return w.Wording(**values)


def act(wording=None, name="Web Form v1", action="Opt In", channel="Text", method="Web Form", **kw):
	at = kw.pop("at", T0 + dt.timedelta(days=1))
	required = kw.pop("required", False)
	return w.check_for_action(action, channel, method, name, wording, at, required)


def refused(code, fn, *args, **kwargs):
	with pytest.raises(Refused) as caught:
		fn(*args, **kwargs)
	assert caught.value.code == code, caught.value
	return caught.value


# --- the text's hash -----------------------------------------------------------------------------------


def test_text_hash_is_sha256_hex_of_the_utf8_text():
	assert w.text_hash("Oui, j’accepte.") == hashlib.sha256("Oui, j’accepte.".encode()).hexdigest()
	assert w.text_hash(None) == w.text_hash("") == hashlib.sha256(b"").hexdigest()
	assert len(w.text_hash("x")) == 64


@given(st.text(max_size=200), st.text(max_size=200))
def test_different_texts_hash_differently(a, b):
	assert (w.text_hash(a) == w.text_hash(b)) == (a == b)


# --- names and versions --------------------------------------------------------------------------------


def test_versions_count_up_per_title():
	assert w.next_version([]) == 1
	assert w.next_version([1, 3, 2]) == 4
	assert w.next_version([None, 0]) == 1
	assert w.version_name("Call Script", 2) == "Call Script v2"


def test_titles():
	assert w.check_title("  Web   Form \n checkbox ") == "Web Form checkbox"
	refused("missing_title", w.check_title, "  ")
	refused("missing_title", w.check_title, None)
	refused("long_title", w.check_title, "x" * 121)
	refused("bad_title", w.check_title, "a/b")
	refused("bad_title", w.check_title, "<b>x</b>")


# --- channels ------------------------------------------------------------------------------------------


def test_channels_from_a_comma_list_in_the_description_order():
	assert w.parse_channels("Text, call") == ("Call", "Text")
	assert w.parse_channels(["Email"]) == ("Email",)
	assert w.parse_channels("Call,\nText,,") == ("Call", "Text")
	assert w.format_channels(w.parse_channels("text,call,Text")) == "Call, Text"
	refused("missing_channels", w.parse_channels, " , ")
	refused("missing_channels", w.parse_channels, None)
	error = refused("unknown_channel", w.parse_channels, "Call, Fax")
	assert "Fax" in str(error)


@given(st.lists(st.sampled_from(list(CHANNELS)), min_size=1))
def test_any_choice_of_known_channels_round_trips(chosen):
	parsed = w.parse_channels(", ".join(chosen))
	assert set(parsed) == set(chosen)
	assert w.parse_channels(w.format_channels(parsed)) == parsed


# --- the lifecycle -------------------------------------------------------------------------------------


def test_a_new_version_starts_as_a_draft():
	w.check_change(None, w.DRAFT, set(), False)
	refused("new_not_draft", w.check_change, None, w.PUBLISHED, set(), False)


def test_a_draft_is_edited_but_not_its_system_fields():
	w.check_change(w.DRAFT, w.DRAFT, {"text", "channels", "methods"}, False)
	refused("system_field", w.check_change, w.DRAFT, w.PUBLISHED, {"status"}, False)
	refused("system_field", w.check_change, w.DRAFT, w.DRAFT, {"published_on"}, False)
	refused("system_field", w.check_change, w.DRAFT, w.DRAFT, {"version"}, False)
	refused("system_field", w.check_change, w.DRAFT, w.DRAFT, {"supersedes"}, False)


@pytest.mark.parametrize("status", [w.PUBLISHED, w.SUPERSEDED])
@pytest.mark.parametrize("field", ["text", "title", "channels", "methods", "status", "supersedes"])
def test_a_published_or_superseded_version_never_changes(status, field):
	error = refused("published_edit", w.check_change, status, status, {field}, False)
	assert "New Version" in str(error)
	w.check_change(status, status, set(), False)  # a save that changes nothing is harmless


def test_the_transitions_and_only_their_fields():
	w.check_change(w.DRAFT, w.PUBLISHED, {"status", "published_on", "published_by", "text_hash"}, True)
	w.check_change(w.PUBLISHED, w.SUPERSEDED, {"status", "superseded_on", "superseded_by"}, True)
	refused("published_edit", w.check_change, w.PUBLISHED, w.SUPERSEDED, {"status", "text"}, True)
	refused("bad_transition", w.check_change, w.PUBLISHED, w.DRAFT, {"status"}, True)
	refused("bad_transition", w.check_change, w.SUPERSEDED, w.PUBLISHED, {"status"}, True)
	refused("bad_transition", w.check_change, w.DRAFT, w.SUPERSEDED, {"status"}, True)


@given(
	st.sampled_from(w.STATUSES),
	st.sampled_from(w.STATUSES),
	st.sets(
		st.sampled_from(["text", "title", "channels", "methods", "status", "published_on", "superseded_on"])
	),
	st.booleans(),
)
def test_a_version_once_published_keeps_its_text_whatever_is_tried(old, new, fields, transition):
	try:
		w.check_change(old, new, fields, transition)
	except Refused:
		return
	if old != w.DRAFT:
		assert not fields & {"text", "title", "channels", "methods"}


def test_publish_needs_a_draft_with_text_and_channels():
	assert w.check_publish(w.DRAFT, "Yes", "Text") == ("Text",)
	refused("publish_not_draft", w.check_publish, w.PUBLISHED, "Yes", "Text")
	refused("missing_text", w.check_publish, w.DRAFT, "  \n", "Text")
	refused("missing_channels", w.check_publish, w.DRAFT, "Yes", "")


def test_only_a_draft_is_deleted_and_none_is_renamed_once_published():
	w.check_removal(w.DRAFT, "delete")
	for status in (w.PUBLISHED, w.SUPERSEDED):
		refused("published_delete", w.check_removal, status, "delete")
		refused("published_rename", w.check_removal, status, "rename")


def test_changed_compares_empty_and_none_alike():
	before = {"text": "a", "note": None, "methods": ("Verbal",)}
	assert w.changed(before, {"text": "a", "note": "", "methods": ["Verbal"]}, before) == set()
	assert w.changed(before, {"text": "b", "note": "", "methods": ()}, before) == {"text", "methods"}


# --- which versions apply ------------------------------------------------------------------------------


def test_current_offers_published_versions_for_the_channel_and_method():
	wordings = [
		make(name="B v1", channels=("Text",)),
		make(name="A v2", channels=("Call", "Text"), methods=("Verbal",)),
		make(name="A v1", status=w.SUPERSEDED, channels=("Text",)),
		make(name="C v1", status=w.DRAFT, channels=("Text",)),
		make(name="D v1", channels=("Email",)),
	]
	assert [x.name for x in w.current(wordings, "Text", "Verbal")] == ["A v2", "B v1"]
	assert [x.name for x in w.current(wordings, "Text", "Web Form")] == ["B v1"]
	assert [x.name for x in w.current(wordings, "Email", None)] == ["D v1"]
	assert w.current(wordings, "Call", "Web Form") == []


# --- an action under a wording -------------------------------------------------------------------------


def test_consent_under_a_published_wording_seals_its_name_and_text_hash():
	wording = make()
	assert act(wording) == {
		"wording": "Web Form v1",
		"wording_hash": w.text_hash("I agree to receive texts."),
	}
	assert act(wording, action="Text Reauth")["wording"] == "Web Form v1"


def test_no_wording():
	assert act(None, name=None) == {}
	assert act(None, name=None, action="Opt Out", required=True) == {}
	error = refused("missing_wording", act, None, name=None, required=True)
	assert "Web Form" in str(error)
	refused("missing_wording", act, None, name="", action="Text Reauth", required=True)


def test_refusals():
	refused("unknown_wording", act, None, name="Nope v1")
	refused("wording_on_revocation", act, make(), action="Opt Out")
	refused("draft_wording", act, make(status=w.DRAFT, published_on=None))
	refused("wording_channel", act, make(channels=("Call",)))
	refused("wording_method", act, make(methods=("Verbal",)), method="Web Form")
	assert act(make(methods=("Verbal", "Web Form")))["wording"] == "Web Form v1"
	refused("wording_not_yet", act, make(), at=T0 - dt.timedelta(minutes=1))
	changed = make(stored_hash=w.text_hash("the text it was published with"))
	refused("wording_changed", act, changed)
	assert act(make(stored_hash=w.text_hash("I agree to receive texts.")))["wording"] == "Web Form v1"


def test_a_superseded_wording_serves_only_consent_given_before_it_was_superseded():
	superseded_on = T0 + dt.timedelta(days=10)
	old = make(status=w.SUPERSEDED, superseded_on=superseded_on)
	assert act(old, at=superseded_on - dt.timedelta(seconds=1))["wording"] == "Web Form v1"
	refused("wording_superseded", act, old, at=superseded_on)
	refused("wording_superseded", act, old, at=superseded_on + dt.timedelta(days=1))
	refused("wording_superseded", act, make(status=w.SUPERSEDED, superseded_on=None))


@given(
	st.sampled_from(w.STATUSES),
	st.integers(-5, 20),
	st.one_of(st.none(), st.integers(0, 15)),
	st.sampled_from(["Opt In", "Text Reauth", "Opt Out"]),
)
def test_an_accepted_wording_was_in_force_when_consent_was_given(status, event_day, superseded_day, action):
	"""Whatever the version's state and the event's moment: a wording is sealed only with consent given,
	published at or before the event and not superseded at it."""
	superseded_on = None if superseded_day is None else T0 + dt.timedelta(days=superseded_day)
	wording = make(status=status, published_on=None if status == w.DRAFT else T0, superseded_on=superseded_on)
	at = T0 + dt.timedelta(days=event_day)
	try:
		sealed = act(wording, action=action, at=at)
	except Refused:
		return
	assert action != "Opt Out" and status != w.DRAFT and at >= T0
	if status == w.SUPERSEDED:
		assert superseded_on is not None and at < superseded_on
	assert sealed["wording_hash"] == w.text_hash(wording.text)
