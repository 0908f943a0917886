"""Chunk planning (:mod:`opt_consent.jobs.rules`): disjoint ranges that cover every key, stable job ids."""

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from opt_consent.jobs import rules as chunks

names = st.text(alphabet="ABCDEFGHIJ-0123456789", min_size=1, max_size=8)


@given(st.lists(names, unique=True), st.lists(names))
def test_every_key_falls_in_exactly_one_chunk(boundaries, keys):
	planned = chunks.plan([(b,) for b in sorted(boundaries)])
	assert len(planned) == len(boundaries) + 1
	assert [c.no for c in planned] == list(range(len(planned)))
	for key in keys + boundaries:
		assert sum(c.contains((key,)) for c in planned) == 1


def test_a_boundary_closes_its_chunk_and_opens_the_next():
	first, second, last = chunks.plan([("B",), ("D",)])
	assert (first.after, first.upto) == (None, ("B",))
	assert first.contains(("B",)) and not second.contains(("B",))
	assert second.contains(("C",)) and second.contains(("D",)) and last.contains(("E",))


def test_unsorted_or_repeated_boundaries_are_refused():
	with pytest.raises(ValueError):
		chunks.plan([("B",), ("A",)])
	with pytest.raises(ValueError):
		chunks.plan([("B",), ("B",)])


@given(st.lists(st.tuples(st.dates(), names), unique=True, max_size=20))
def test_keys_with_dates_survive_the_round_trip_through_text(keys):
	for key in keys:
		assert chunks.decode_key(chunks.encode_key(key)) == key
	assert chunks.encode_key(None) is None and chunks.decode_key(None) is None
	assert chunks.decode_key(chunks.encode_key((dt.date(2026, 1, 2), "P-1"))) == (dt.date(2026, 1, 2), "P-1")


def test_the_job_id_is_one_per_run_and_chunk():
	assert chunks.job_id("OCR-00001", 3) == chunks.job_id("OCR-00001", 3)
	assert len({chunks.job_id(r, n) for r in ("OCR-1", "OCR-2") for n in (0, 1)}) == 4
