"""The classifier of inbound replies: the labelled corpus, properties, the site's words, email replies."""

import csv
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from opt_consent.model.messages import Refused
from opt_consent.revocation.rules import replies
from opt_consent.revocation.rules.replies import HELP, OPT_IN, OTHER, REVOCATION, Vocabulary, classify

CORPUS = Path(__file__).resolve().parents[1] / "data" / "replies.csv"


def corpus() -> list[dict]:
	with CORPUS.open(encoding="utf-8", newline="") as f:
		return list(csv.DictReader(f))


ROWS = corpus()
REVOCATIONS = [row["text"] for row in ROWS if row["kind"] == REVOCATION]
CERTAIN = [row["text"] for row in ROWS if row["kind"] == REVOCATION and row["certain"] == "1"]

# --- the corpus ---------------------------------------------------------------------------------------


def test_the_corpus_is_large_and_well_formed():
	kinds = Counter(row["kind"] for row in ROWS)
	assert set(kinds) == set(replies.KINDS)
	assert len(ROWS) >= 320
	assert kinds[REVOCATION] >= 120 and kinds[OTHER] >= 120
	assert all(row["certain"] in ("0", "1") for row in ROWS if row["kind"] == REVOCATION)
	assert all(row["language"] in ("", "en", "es") for row in ROWS)
	texts = [row["text"] for row in ROWS]
	assert len(texts) == len(set(texts)), "a text is labelled twice"
	assert {row["language"] for row in ROWS if row["kind"] == REVOCATION} == {"en", "es"}


def test_the_corpus(terminal_summary, record_property):
	kinds = Counter(row["kind"] for row in ROWS)
	right: Counter = Counter()
	wrong = []
	wrong_certainty = []
	for row in ROWS:
		reading = classify(row["text"])
		if reading.kind == row["kind"]:
			right[row["kind"]] += 1
		else:
			wrong.append((row["text"], row["kind"], reading))
		if row["certain"] in ("0", "1") and reading.certain != (row["certain"] == "1"):
			wrong_certainty.append((row["text"], row["certain"], reading))
	recall = right[REVOCATION] / kinds[REVOCATION]
	false_revocations = sum(
		1 for _text, kind, reading in wrong if kind == OTHER and reading.kind == REVOCATION
	)
	false_rate = false_revocations / kinds[OTHER]
	lines = [
		f"replies corpus: {len(ROWS)} rows ({', '.join(f'{k} {kinds[k]}' for k in replies.KINDS)})",
		f"revocation recall {recall:.3f} ({right[REVOCATION]}/{kinds[REVOCATION]}), "
		f"false-revocation rate {false_rate:.3f} ({false_revocations}/{kinds[OTHER]})",
		"per-class accuracy: "
		+ ", ".join(f"{k} {right[k] / kinds[k]:.3f} ({right[k]}/{kinds[k]})" for k in replies.KINDS),
	]
	print("\n" + "\n".join(lines))
	terminal_summary.extend(lines)
	# the figures docs/RELIABILITY.md reports (scripts/reliability.py)
	record_property("reply_revocations", kinds[REVOCATION])
	record_property("reply_revocations_read", right[REVOCATION])
	record_property("reply_others", kinds[OTHER])
	record_property("reply_false_revocations", false_revocations)
	assert recall == 1.0, [w for w in wrong if w[1] == REVOCATION]
	assert false_rate == 0, [w for w in wrong if w[1] == OTHER]
	assert not wrong, wrong
	assert not wrong_certainty, wrong_certainty


def test_the_corpus_languages():
	for row in ROWS:
		if row["kind"] != OTHER and row["language"]:
			assert classify(row["text"]).language == row["language"], row["text"]


def test_matched_is_what_decided():
	assert classify("Opt-Out!!").matched == "opt out"
	assert classify("STOP please").matched == "stop"
	assert classify("No más").matched == "no mas"
	assert classify("wrong number, stop texting").matched == "wrong number"
	assert classify("Stop texting me").matched == "stop"
	assert classify("what is my balance").matched == ""


@pytest.mark.parametrize("text", [None, "", " ", "\n\t ", "🙂", "!!!"])
def test_nothing_is_other(text):
	assert classify(text) == replies.Reading(OTHER, "", False, None)


@pytest.mark.parametrize("word", replies.FCC_REVOCATION_WORDS)
def test_every_fcc_word_alone_is_a_certain_revocation(word):
	for text in (word, word.upper(), word.title(), f" {word}. ", f"{word}!!!", f"{word} please"):
		reading = classify(text)
		assert (reading.kind, reading.certain, reading.language) == (REVOCATION, True, "en"), text


def test_the_fcc_words_are_the_rules_words():
	assert replies.FCC_REVOCATION_WORDS == (
		"stop",
		"quit",
		"end",
		"revoke",
		"opt out",
		"cancel",
		"unsubscribe",
	)


@pytest.mark.parametrize(
	"text", ["extend", "calendar", "friend", "stopwatch", "weekend", "ended", "stopped", "unsubscribed?"]
)
def test_whole_words_only(text):
	expected = REVOCATION if text.startswith("unsubscribed") else OTHER
	assert classify(text).kind == expected


# --- properties ---------------------------------------------------------------------------------------

PUNCTUATION = st.sampled_from(["", ".", "!", "!!!", "...", ",", " ", "  ", "*", "~", "-"])
EMOJI = st.sampled_from(["", "🛑", "😡", "🙏", "👍", "✋", "🤬", "❌", "💯"])
EN_PADDING = ["please", "pls", "now", "thanks", "thank you", "thx", "asap"]
ES_PADDING = ["por favor", "ya", "gracias"]


def recase(text: str, data) -> str:
	flags = data.draw(st.lists(st.booleans(), min_size=len(text), max_size=len(text)))
	return "".join(ch.upper() if flag else ch.lower() for ch, flag in zip(text, flags, strict=True))


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(REVOCATIONS), st.data())
def test_case_punctuation_and_emoji_never_change_a_revocation(text, data):
	changed = recase(text, data)
	changed = data.draw(PUNCTUATION) + data.draw(EMOJI) + changed + data.draw(PUNCTUATION) + data.draw(EMOJI)
	assert classify(changed).kind == REVOCATION, changed


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(REVOCATIONS), st.data())
def test_polite_padding_never_changes_a_revocation(text, data):
	spanish = any(row["text"] == text and row["language"] == "es" for row in ROWS)
	padding = data.draw(st.sampled_from(ES_PADDING if spanish else EN_PADDING))
	padded = data.draw(st.sampled_from([f"{padding} {text}", f"{text} {padding}", f"{text}, {padding}!"]))
	assert classify(padded).kind == REVOCATION, padded


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(CERTAIN), st.data())
def test_padding_keeps_a_keyword_certain(text, data):
	spanish = any(row["text"] == text and row["language"] == "es" for row in ROWS)
	padding = data.draw(st.sampled_from(ES_PADDING if spanish else EN_PADDING))
	padded = f"{data.draw(EMOJI)}{text} {padding}{data.draw(PUNCTUATION)}".strip()
	reading = classify(padded)
	assert (reading.kind, reading.certain) == (REVOCATION, True), padded


ORDINARY_WORDS = st.sampled_from(
	"i can pay friday tomorrow the my balance link please send again when how much is it on for you "
	"we would like to know what this about account paid today ok".split()
)


@settings(max_examples=300, deadline=None)
@given(
	st.sampled_from(["start", "START", "Start", "yes", "YES", "Yes", "unstop"]),
	st.lists(ORDINARY_WORDS, min_size=1, max_size=8),
	st.integers(min_value=0, max_value=8),
)
def test_free_text_never_grants_consent(keyword, words, where):
	words.insert(min(where, len(words)), keyword)
	assert classify(" ".join(words)).kind != OPT_IN


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(["start", "yes", "help", "info"]), st.sampled_from(replies.FCC_REVOCATION_WORDS))
def test_a_revocation_wins_over_a_keyword(other, revoking):
	for text in (f"{other} {revoking}", f"{revoking} {other}", f"{other}. {revoking}!"):
		reading = classify(text)
		assert (reading.kind, reading.certain) == (REVOCATION, False), text


@settings(max_examples=200, deadline=None)
@given(
	st.text(alphabet="abcdefghijklmnopqrstuvwxyzñáéíóú", min_size=4, max_size=12).filter(
		lambda w: replies.normalise(w) == w and classify(w).kind == OTHER
	),
	st.lists(ORDINARY_WORDS, max_size=5),
)
def test_site_revocation_words_are_recognised(word, before):
	site = Vocabulary(revocation=(word,))
	alone = classify(word.upper() + "!", site)
	assert (alone.kind, alone.certain, alone.language, alone.matched) == (REVOCATION, True, None, word)
	inside = classify(" ".join([*before, word, "please"]), site)
	assert inside.kind == REVOCATION
	assert classify(word).kind == OTHER


def test_site_words_phrase_and_language():
	site = replies.vocabulary(
		[(REVOCATION, "Arrêtez"), (OPT_IN, "SI"), (HELP, "Aide"), (REVOCATION, "lass mich")]
	)
	assert classify("arretez", site) == replies.Reading(REVOCATION, "arretez", True, None)
	assert classify("Bitte lass mich in Ruhe", site).kind == REVOCATION
	assert classify("Sí", site) == replies.Reading(OPT_IN, "si", True, None)
	assert classify("Sí", None).kind == OTHER
	assert classify("si, puedo pagar", site).kind == OTHER
	assert classify("aide!", site).kind == HELP
	assert classify("Aide arrêtez", site).kind == REVOCATION


def test_a_site_word_that_is_also_padding_is_the_sites_keyword():
	# hypothesis met "pleas" (padding: "stop pleas"); a site that names it as its revocation word means it
	site = Vocabulary(revocation=("pleas",))
	assert classify("PLEAS!", site) == replies.Reading(REVOCATION, "pleas", True, None)
	assert classify("pleas", None).kind == OTHER
	assert classify("stop pleas").kind == REVOCATION and classify("stop pleas").certain


# --- the site's words are checked ---------------------------------------------------------------------


@pytest.mark.parametrize(
	"word", ["stop", "Opt-Out", "cancelar", "STOP NOW", "optout", "yes stop", "no más", "end"]
)
def test_an_opt_in_word_may_not_take_away_a_revocation(word):
	with pytest.raises(Refused) as refused:
		replies.check_vocabulary((), (word,), ())
	assert refused.value.code == "reply_word_revokes"
	with pytest.raises(Refused):
		replies.check_vocabulary((), (), (word,))


def test_an_opt_in_word_may_not_read_as_a_revocation():
	for word in ("wrong number", "no me escriban", "leave me alone"):
		with pytest.raises(Refused):
			replies.check_vocabulary((), (word,), ())
	with pytest.raises(Refused):
		replies.check_vocabulary(("parada",), ("parada ya",), ())


@settings(max_examples=100, deadline=None)
@given(
	st.sampled_from(["SI", "alta", "unete", "go", "subscribe", "join", "ok go", "aide", "socorro", "menu"])
)
def test_harmless_words_are_accepted(word):
	replies.check_vocabulary(("parad", "arrêtez"), (word,), (word + "x",))
	site = replies.vocabulary([(OPT_IN, word), (REVOCATION, "arrêtez")])
	assert classify(word, site).kind == OPT_IN


@pytest.mark.parametrize(
	("word", "code"),
	[
		("", "empty_reply_word"),
		("   ", "empty_reply_word"),
		("x" * 141, "long_reply_word"),
		("123", "reply_word_without_letters"),
		("!!!", "reply_word_without_letters"),
		("🛑", "reply_word_without_letters"),
	],
)
def test_words_that_are_not_words(word, code):
	for args in (((word,), (), ()), ((), (word,), ()), ((), (), (word,))):
		with pytest.raises(Refused) as refused:
			replies.check_vocabulary(*args)
		assert refused.value.code == code


def test_vocabulary_from_rows():
	site = replies.vocabulary(
		[(REVOCATION, " Arrêtez "), (REVOCATION, "Arrêtez"), (OPT_IN, "SI"), (HELP, "aide")]
	)
	assert site == Vocabulary(revocation=("Arrêtez",), opt_in=("SI",), help=("aide",))
	with pytest.raises(Refused) as refused:
		replies.vocabulary([("opt_out", "x")])
	assert refused.value.code == "bad_reply_word_kind"
	with pytest.raises(Refused):
		replies.vocabulary([(OPT_IN, "Stop")])


def test_refusals_are_templates():
	with pytest.raises(Refused) as refused:
		replies.check_vocabulary((), ("please stop",), ())
	assert "{0}" in refused.value.message and "stop" in str(refused.value)


# --- email ----------------------------------------------------------------------------------------------


def test_email_phrases():
	for text in (
		"Please remove me from your mailing list",
		"no more emails",
		"Stop emailing me",
		"unsubscribe",
	):
		assert classify(text, channel="Email").kind == REVOCATION, text
	assert classify("Please unsubscribe me from your newsletter", channel="Email").kind == REVOCATION
	assert classify("I'll pay at the end of the month", channel="Email").kind == OTHER
	assert classify("Is this on your mailing list?", channel="Text").kind == OTHER


def test_email_subject_and_keyword_body():
	text = replies.email_reply_text("RE: Your payment reminder", "STOP\n\nSent from my iPhone")
	assert text == "Your payment reminder\nSTOP"
	reading = classify(text, channel="Email")
	assert (reading.kind, reading.certain, reading.matched) == (REVOCATION, False, "stop")
	assert classify(replies.email_reply_text("Unsubscribe", "unsubscribe"), channel="Email").certain


def test_email_reply_text_drops_the_quoted_original():
	body = (
		"I already paid, thanks\n\nOn Mon, 3 Mar 2025 at 10:00, Acme Collections <x@acme.test> wrote:\n"
		"> Reply STOP to stop these messages\n> end of month"
	)
	assert replies.email_reply_text("Re: Balance", body) == "Balance\nI already paid, thanks"
	assert classify(replies.email_reply_text("Re: Balance", body), channel="Email").kind == OTHER
	outlook = "ok\r\n\r\n-----Original Message-----\r\nFrom: Acme\r\nTo stop, reply STOP"
	assert replies.email_reply_text(None, outlook) == "ok"
	spanish = "Ya pagué\n\nEl lun, 3 mar 2025 a las 10:00, Acme <x@acme.test> escribió:\n> Responda ALTO"
	assert replies.email_reply_text("", spanish) == "Ya pagué"
	assert replies.email_reply_text("Hi", "> quoted only") == "Hi"
	assert replies.email_reply_text(None, None) == ""


def test_email_reply_text_strips_html():
	body = (
		"<html><head><style>p {color: red}</style></head><body><p>Please remove me</p><p>from your list</p>"
		'<div class="gmail_quote">On Mon someone wrote:<blockquote>Reply STOP</blockquote></div></body></html>'
	)
	assert replies.email_reply_text("Re: hi", body) == "hi\nPlease remove me\nfrom your list"


# --- speed ----------------------------------------------------------------------------------------------


def test_a_usable_vocabulary_drops_what_would_take_a_revocation_away_and_never_raises():
	vocabulary, refused = replies.usable_vocabulary(
		[
			(replies.REVOCATION, "arrête"),
			(replies.OPT_IN, "Stop"),
			(replies.OPT_IN, "oui"),
			(replies.HELP, "arrête"),
			(replies.HELP, "   "),
			("nonsense", "x"),
		]
	)
	assert vocabulary.revocation == ("arrête",) and vocabulary.opt_in == ("oui",) and vocabulary.help == ()
	assert len(refused) == 4
	assert classify("Stop", vocabulary).kind == replies.REVOCATION
	assert classify("arrête", vocabulary).kind == replies.REVOCATION
	assert classify("oui", vocabulary).kind == replies.OPT_IN
