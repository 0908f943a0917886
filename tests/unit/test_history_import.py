"""The pure parts of the consent history import: reading, validation, fingerprints, grouping, replay."""

import datetime as dt
import io
import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from opt_consent.history import rules as hi
from opt_consent.ledger.rules.engine import LastEvent, Method, Refused
from opt_consent.model.addresses import normalize_email, normalize_phone

NOW = dt.datetime(2026, 6, 1, 12, 0)
METHODS = {
	"Verbal": Method("Verbal"),
	"Written": Method("Written"),
	"Text Reply": Method("Text Reply", for_opt_in=False),
	"Old": Method("Old", enabled=False),
}
HEADER = "address,channel,action,date,time,method,operator,party,phone_type,external_id\n"


def normalize(doctype, address):
	return normalize_phone(address, "US") if doctype == "Phone" else normalize_email(address)


def reader(**kwargs):
	return hi.RowReader(
		normalize=normalize, site_zone="UTC", phone_types=("Cell", "Home", "Work", "Other"), **kwargs
	)


def raw(**values):
	row = {
		"address": "+1 415 555 0101",
		"channel": "Call",
		"action": "Opt In",
		"date": "2025-01-02",
		"time": "09:30",
		"method": "Verbal",
		"operator": "jsmith",
	}
	row.update(values)
	return row


def rows_of(text: str | bytes, max_bytes=None):
	data = text.encode("utf-8") if isinstance(text, str) else text
	return list(hi.read_rows(io.BytesIO(data), max_bytes))


# ---------------------------------------------------------------- reading the file


def test_reads_rows_with_header_names_in_any_case_and_a_bom():
	text = "\ufeffAddress,Channel,ACTION,Date,Time,Method,Operator,Phone Type\n+14155550101,Call,Opt In,2025-01-02,09:30,Verbal,x,Cell\n"
	rows = rows_of(text)
	assert rows == [
		(
			2,
			{
				"address": "+14155550101",
				"channel": "Call",
				"action": "Opt In",
				"date": "2025-01-02",
				"time": "09:30",
				"method": "Verbal",
				"operator": "x",
				"phone_type": "Cell",
			},
		)
	]


def test_missing_columns_are_named():
	with pytest.raises(hi.FileRefused) as refused:
		rows_of("address,channel,action,date\n")
	assert refused.value.code == "missing_columns"
	assert "time, method, operator" in str(refused.value)


def test_not_utf8_is_a_clear_refusal_with_the_line():
	data = (HEADER + "+14155550101,Call,Opt In,2025-01-02,09:30,Verbal,Jos\xe9,,,\n").encode("latin-1")
	with pytest.raises(hi.FileRefused) as refused:
		rows_of(data)
	assert refused.value.code == "encoding"
	assert "UTF-8" in str(refused.value)


ROW = "+14155550101,Call,Opt In,2025-01-02,09:30,Verbal,jsmith,,,\n"


def refusal_of_bytes(data: bytes) -> hi.FileRefused:
	with pytest.raises(hi.FileRefused) as refused:
		rows_of(data)
	assert refused.value.code == "encoding"
	return refused.value


def test_a_bad_byte_on_line_4_is_named_on_line_4_with_its_offset():
	good = (HEADER + ROW * 2).encode()
	data = good + b"+14155550102,Call,Opt In,2025-01-02,09:30,Verbal,Jos\xe9,,,\n" + ROW.encode()
	refused = refusal_of_bytes(data)
	assert refused.args_ == (4, len(good) + data[len(good) :].index(b"\xe9"))


def test_a_bad_byte_past_the_first_blocks_is_named_on_its_own_line():
	"""Line 2,501 of a 165 KB file: not the line at the start of the 64 KiB block that holds it."""
	good = (HEADER + ROW * 2499).encode()
	assert len(good) > 2 * (1 << 16)
	data = good + b"+14155550102,Call,Opt In,2025-01-02,09:30,Verbal,\xff,,,\n" + ROW.encode() * 10
	assert refusal_of_bytes(data).args_ == (2501, data.index(b"\xff"))


@pytest.mark.parametrize("cut", [1, 2, 3])
def test_a_character_cut_by_a_block_end_is_read_and_a_bad_one_found_there(cut):
	"""A four-byte character whose bytes fall either side of the 64 KiB boundary is UTF-8; one whose
	continuation is missing there is named on its line, at its first byte."""
	filler = (HEADER + ROW * 800).encode()
	pad = (1 << 16) - len(filler) % (1 << 16) - cut  # the character starts ``cut`` bytes before a boundary
	note = "x" * (pad - 1)
	good = filler + f"+14155550102,Call,Opt In,2025-01-02,09:30,Verbal,{note}\U0001f600,,,\n".encode()
	assert len(rows_of(good)) == 801
	bad = filler + f"+14155550102,Call,Opt In,2025-01-02,09:30,Verbal,{note}".encode() + b"\xf0\x9f\n"
	start = len(filler) + len(f"+14155550102,Call,Opt In,2025-01-02,09:30,Verbal,{note}")
	assert refusal_of_bytes(bad + ROW.encode()).args_ == (802, start)


def test_a_file_ending_inside_a_character_is_named_on_its_last_line():
	data = (HEADER + ROW).encode() + b"+14155550102,Call,Opt In,2025-01-02,09:30,Verbal,\xc3"
	assert refusal_of_bytes(data).args_ == (3, len(data) - 1)


def test_the_message_names_the_line_and_the_byte():
	refused = refusal_of_bytes((HEADER + ROW * 2).encode() + b"\xff\n")
	text = refused.message.format(*refused.args_)
	assert "line 4" in text and "byte" in text and str(refused.args_[1]) in text


def test_malformed_csv_is_refused_with_the_line():
	with pytest.raises(hi.FileRefused) as refused:
		rows_of(HEADER + '+14155550101,Call,Opt In,2025-01-02,09:30,"Verbal,x\n')
	assert refused.value.code == "malformed"


def test_empty_file_is_refused():
	with pytest.raises(hi.FileRefused) as refused:
		rows_of("")
	assert refused.value.code == "empty"


def test_a_stream_larger_than_the_limit_is_refused_before_it_is_read_whole():
	class Endless(io.RawIOBase):
		read_bytes = 0

		def readable(self):
			return True

		def readinto(self, buffer):
			chunk = (
				HEADER if not self.read_bytes else "+14155550101,Call,Opt In,2025-01-02,09:30,Verbal,x,,,\n"
			)
			data = (chunk * (len(buffer) // len(chunk) + 1)).encode()[: len(buffer)]
			buffer[: len(data)] = data
			self.read_bytes += len(data)
			return len(data)

	stream = Endless()
	with pytest.raises(hi.FileRefused) as refused:
		for _row in hi.read_rows(stream, max_bytes=1 << 20):
			pass
	assert refused.value.code == "too_large"
	assert stream.read_bytes < 2 << 20


def test_a_row_of_the_wrong_width_is_refused_alone():
	rows = rows_of(HEADER + "+14155550101,Call\n+14155550101,Call,Opt In,2025-01-02,09:30,Verbal,x,,,\n")
	with pytest.raises(Refused) as refused:
		reader().event(*rows[0])
	assert refused.value.code == "bad_width"
	assert reader().event(*rows[1]).channel == "Call"


# ---------------------------------------------------------------- one row


def test_a_valid_row_becomes_an_event():
	event = reader().event(7, raw(action="opt-in", channel="call", external_id="A-1", party="Jane"))
	assert event.doctype == "Phone"
	assert event.key == "+14155550101"
	assert (event.channel, event.action) == ("Call", "Opt In")
	assert event.at == dt.datetime(2025, 1, 2, 9, 30)
	assert event.operator == "jsmith"
	assert event.party == "Jane"
	assert event.line == 7
	assert event.dedupe.startswith("x-")


def test_email_rows_go_to_email_records():
	event = reader().event(2, raw(address="Some.One@Example.com", channel="Email"))
	assert (event.doctype, event.key) == ("Email", "some.one@example.com")


@pytest.mark.parametrize(
	"values,code",
	[
		({"address": "not-a-number"}, "bad_phone"),
		({"channel": "Fax"}, "bad_channel"),
		({"action": "Maybe"}, "bad_action"),
		({"date": "2025-02-30"}, "bad_date"),
		({"date": ""}, "missing_date"),
		({"time": "25:00"}, "bad_time"),
		({"time": "13:00 PM"}, "bad_time"),
		({"operator": "<script>x</script>"}, "markup_operator"),
		({"phone_type": "Pager"}, "bad_phone_type"),
		({"party": "<b>x</b>"}, "bad_party"),
		({"external_id": "x" * 200}, "bad_external_id"),
	],
)
def test_bad_values_are_refused_with_the_reason(values, code):
	with pytest.raises(Refused) as refused:
		reader().event(2, raw(**values))
	assert refused.value.code == code


def test_dates_in_other_formats_and_am_pm_times():
	event = reader(date_format="MM/DD/YYYY").event(2, raw(date="03/04/2025", time="1:05 PM"))
	assert event.at == dt.datetime(2025, 3, 4, 13, 5)
	event = reader(date_format="DD/MM/YYYY").event(2, raw(date="03/04/2025", time="12:00 am"))
	assert event.at == dt.datetime(2025, 4, 3, 0, 0)


def test_a_file_time_zone_is_converted_to_the_site_clock():
	event = reader(entered_zone="America/New_York").event(2, raw(date="2025-01-02", time="09:30"))
	assert event.at == dt.datetime(2025, 1, 2, 14, 30)
	assert event.entered_tz == "America/New_York"


def test_unknown_date_format_is_refused():
	with pytest.raises(hi.FileRefused):
		reader(date_format="YY.MM.DD")


# ---------------------------------------------------------------- fingerprints


def test_the_same_event_written_differently_has_the_same_fingerprint():
	a = reader().event(2, raw(address="+1 (415) 555-0101", action="Opt In", time="09:30"))
	b = reader().event(9, raw(address="+14155550101", action="opt in", time="09:30:00"))
	assert a.dedupe == b.dedupe
	assert a.dedupe.startswith("r-")


def test_a_different_operator_or_moment_is_a_different_event():
	base = reader().event(2, raw())
	assert reader().event(2, raw(operator="other")).dedupe != base.dedupe
	assert reader().event(2, raw(time="09:31")).dedupe != base.dedupe


def test_external_id_decides_when_given():
	a = reader().event(2, raw(external_id="E1"))
	b = reader().event(3, raw(external_id="E1", time="10:00"))
	assert a.dedupe == b.dedupe == hi.dedupe_key("E1", "ignored")


# ---------------------------------------------------------------- grouping


def event(line, key="+14155550101", at=None, channel="Call", action="Opt In", method="Verbal"):
	at = at or dt.datetime(2025, 1, 1, 9, 0) + dt.timedelta(hours=line)
	doctype = "Email" if channel == "Email" else "Phone"
	return hi.Event(
		line, doctype, key, key, channel, action, at, method, None, None, None, None, None, "UTC", f"r-{line}"
	)


@settings(max_examples=60, deadline=None)
@given(
	st.lists(st.tuples(st.integers(0, 20), st.integers(0, 1000)), min_size=1, max_size=200), st.integers(1, 8)
)
def test_spill_and_chunks_keep_every_record_whole_and_in_order(pairs, buckets):
	events = [
		event(i, key=f"+1415555{k:04d}", at=dt.datetime(2025, 1, 1) + dt.timedelta(minutes=m))
		for i, (k, m) in enumerate(pairs)
	]
	files = [io.BytesIO() for _ in range(buckets)]
	assert hi.spill(events, files) == len(events)
	seen_keys, out = set(), []
	for file in files:
		file.seek(0)
		for chunk in hi.chunks(hi.order(hi.load_spill(file)), size=7):
			for group in chunk:
				key = group[0].key
				assert key not in seen_keys  # a record never straddles two chunks or spill files
				seen_keys.add(key)
				assert all(e.key == key for e in group)
				assert [(e.at, e.line) for e in group] == sorted((e.at, e.line) for e in group)
				out += group
	assert sorted(out) == sorted(events)


def test_a_chunk_holds_whole_records_even_when_one_is_larger_than_the_size():
	groups = [[event(i, key="A")] for i in range(1)] + [[event(i, key="B") for i in range(10)]]
	assert [sum(len(g) for g in chunk) for chunk in hi.chunks(groups, size=3)] == [1, 10]


# ---------------------------------------------------------------- replay


def plan(events, state=None, last=None, phone_type="Cell", mapping=None):
	from opt_consent.model.channels import initial_state

	return hi.plan_record(
		"Phone",
		state or initial_state("Phone"),
		last or {},
		phone_type,
		events,
		hi.Replay(methods=METHODS, mapping=mapping or {}, now=NOW),
	)


def test_replay_carries_state_from_event_to_event():
	result = plan([event(1), event(2, action="Opt Out"), event(3)])
	assert [e.line for e, _o in result.accepted] == [1, 2, 3]
	assert result.state["call_opt"] == 1 and result.state["do_not_call"] == 0


def test_replay_refuses_what_the_engine_refuses_with_its_reason():
	result = plan(
		[
			event(1),
			event(2),  # already in
			event(3, channel="Text", action="Opt In", method="Text Reply"),  # method not for opt in
			event(4, method="Old", action="Opt Out"),  # disabled
			event(5, action="Opt Out", method="Carrier Pigeon"),  # unknown
			event(6, at=NOW + dt.timedelta(days=1), action="Opt Out"),  # future
		]
	)
	assert [e.line for e, _o in result.accepted] == [1]
	assert [r.code for _e, r in result.refused] == [
		"already_in",
		"method_direction",
		"disabled_method",
		"unknown_method",
		"future",
	]


def test_texting_consent_on_a_non_cell_is_refused_but_a_text_opt_out_is_recorded():
	result = plan([event(1, channel="Text"), event(2, channel="Text", action="Opt Out")], phone_type="Home")
	assert [r.code for _e, r in result.refused] == ["not_cell"]
	assert [e.line for e, _o in result.accepted] == [2]


def test_an_event_before_the_records_latest_logged_event_is_out_of_order():
	last = {"Call": LastEvent(dt.datetime(2025, 6, 1), "Opt Out")}
	result = plan([event(1, at=dt.datetime(2025, 5, 1))], last=last)
	assert [r.code for _e, r in result.refused] == ["out_of_order"]


def test_a_mapping_names_the_opt_method_and_case_is_forgiven():
	result = plan(
		[event(1, method="Phone Keypad"), event(2, action="Opt Out", method="verbal")],
		mapping={"Phone Keypad": "Written"},
	)
	assert [o.log["method"] for _e, o in result.accepted] == ["Written", "Verbal"]


@settings(max_examples=80, deadline=None)
@given(st.lists(st.sampled_from(["Opt In", "Opt Out"]), min_size=1, max_size=30))
def test_replay_matches_applying_each_accepted_event_one_by_one(actions):
	"""The end state is what the accepted events, applied one after the other, give: the engine's replay."""
	from opt_consent.ledger.rules.engine import replay

	events = [event(i, action=a) for i, a in enumerate(actions)]
	result = plan(events)
	logs = [
		{"action": o.log["action"], "channel": "Call", "event_date": o.log["event_date"], "method": "Verbal"}
		for _e, o in result.accepted
	]
	replayed = replay("Phone", logs)
	assert all(result.state[k] == replayed[k] for k in ("call_opt", "do_not_call", "active"))
	# consecutive accepted events alternate: never in twice, never out twice
	accepted = [o.log["action"] for _e, o in result.accepted]
	assert all(a != b for a, b in itertools.pairwise(accepted))
	assert len(result.accepted) + len(result.refused) == len(events)
