"""The log's hash chain: sealing, canonical values, and naming the first broken row."""

import datetime as dt
import hashlib
import itertools
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from opt_consent.ledger.rules import chain


def make_row(i: int, **fields) -> dict:
	row = {
		"name": f"row{i}",
		"idx": i,
		"channel": "Call",
		"action": "Opt In" if i % 2 else "Opt Out",
		"event_date": dt.date(2026, 1, i),
		"event_time": dt.time(10, i, 5),
		"method": "Verbal",
		"recorded_by": "someone@example.com",
		"recorded_at": dt.datetime(2026, 1, i, 11, 0, 0, 123456),
		"source": "Desk",
		"note": None,
		"message_id": None,
		"honour_by": None,
	}
	row.update(fields)
	return row


def sealed(n: int = 4) -> list[dict]:
	rows = [make_row(i) for i in range(1, n + 1)]
	chain.seal(rows, "Phone", "PHN-00001")
	return rows


def as_json(rows):
	"""The rows as JSON carries them (strings), as the desk or REST sends them back."""
	return json.loads(json.dumps(rows, default=str))


def as_db(rows):
	"""The rows as MariaDB returns them: Time is a timedelta."""
	out = []
	for row in rows:
		row = dict(row)
		t = row["event_time"]
		row["event_time"] = dt.timedelta(hours=t.hour, minutes=t.minute, seconds=t.second)
		out.append(row)
	return out


def test_sealed_rows_verify_and_chain():
	rows = sealed()
	assert chain.verify(rows, "Phone", "PHN-00001") is None
	assert rows[0]["prev_hash"] == ""
	for before, after in itertools.pairwise(rows):
		assert after["prev_hash"] == before["row_hash"]
	assert {row["hash_scheme"] for row in rows} == {chain.CURRENT_SCHEME}
	assert all(len(row["row_hash"]) == 64 for row in rows)


def test_json_and_database_forms_hash_identically():
	rows = sealed()
	assert chain.verify(as_json(rows), "Phone", "PHN-00001") is None
	assert chain.verify(as_db(rows), "Phone", "PHN-00001") is None
	stringy = [dict(row, event_time=row["event_time"].strftime("%H:%M:%S")) for row in rows]
	assert chain.verify(stringy, "Phone", "PHN-00001") is None


def test_empty_and_none_are_the_same_value():
	rows = [make_row(1, note=None)]
	chain.seal(rows, "Phone", "P")
	assert chain.verify([dict(rows[0], note="")], "Phone", "P") is None


def test_seal_continues_a_stored_chain():
	rows = sealed(2)
	more = [make_row(3), make_row(4)]
	last = chain.seal(more, "Phone", "PHN-00001", rows[-1]["row_hash"])
	assert last == more[-1]["row_hash"]
	assert chain.verify(rows + more, "Phone", "PHN-00001") is None


@pytest.mark.parametrize(
	"field, value",
	[
		("channel", "Text"),
		("action", "Opt Out"),
		("event_date", dt.date(2025, 1, 2)),
		("event_time", dt.time(9, 0)),
		("method", "Written"),
		("recorded_by", "other@example.com"),
		("recorded_at", dt.datetime(2026, 1, 2, 11, 0, 0, 123457)),
		("source", "API"),
		("note", "added later"),
		("message_id", "SM123"),
		("honour_by", dt.date(2026, 2, 1)),
		("row_hash", "0" * 64),
	],
)
def test_an_edited_field_names_its_row(field, value):
	rows = sealed()
	rows[2][field] = value
	broken = chain.verify(rows, "Phone", "PHN-00001")
	assert (broken.idx, broken.row, broken.code) == (3, "row3", "edited")
	assert "Row 3 was changed" in broken.text()


def test_an_edited_prev_hash_names_its_row():
	rows = sealed()
	rows[1]["prev_hash"] = "f" * 64
	broken = chain.verify(rows, "Phone", "PHN-00001")
	assert (broken.idx, broken.code) == (2, "link")


def test_a_deleted_row_is_named_by_the_row_after_it():
	rows = sealed()
	del rows[1]
	broken = chain.verify(rows, "Phone", "PHN-00001")
	assert (broken.row, broken.code) == ("row3", "position")
	# renumbered so positions hold: the chain still breaks at the same row
	for i, row in enumerate(rows, 1):
		row["idx"] = i
	broken = chain.verify(rows, "Phone", "PHN-00001")
	assert (broken.row, broken.code) == ("row3", "link")


def test_reordered_rows_are_detected():
	rows = sealed()
	rows[1]["idx"], rows[2]["idx"] = 3, 2
	rows.sort(key=lambda row: row["idx"])
	broken = chain.verify(rows, "Phone", "PHN-00001")
	assert (broken.idx, broken.row, broken.code) == (2, "row3", "link")


def test_a_row_moved_to_another_record_does_not_verify():
	rows = sealed(1)
	assert chain.verify(rows, "Phone", "PHN-00002").code == "edited"
	assert chain.verify(rows, "Email", "PHN-00001").code == "edited"


def test_unknown_scheme_and_unsealed_rows():
	rows = sealed()
	rows[1]["hash_scheme"] = 7
	broken = chain.verify(rows, "Phone", "PHN-00001")
	assert (broken.idx, broken.code) == (2, "unknown_scheme")
	assert "scheme 7" in broken.text()
	rows = sealed()
	rows[3].update(hash_scheme=None, row_hash=None, prev_hash=None)
	assert chain.verify(rows, "Phone", "PHN-00001").code == "unsealed"


def test_an_unreadable_value_is_a_break_not_a_crash():
	rows = sealed()
	rows[0]["event_time"] = "not a time"
	assert chain.verify(rows, "Phone", "PHN-00001").code == "edited"


def test_a_later_scheme_coexists_with_scheme_1():
	rows = [make_row(1), make_row(2)]
	chain.seal(rows, "Phone", "PHN-00001", "", scheme=1, subject="+14155550123")
	more = [make_row(3)]
	chain.seal(more, "Phone", "PHN-00001", rows[-1]["row_hash"], scheme=2, subject="+14155550123")
	assert [r["hash_scheme"] for r in rows + more] == [1, 1, 2]
	assert chain.verify(rows + more, "Phone", "PHN-00001", "+14155550123") is None
	rows[0]["hash_scheme"] = 2  # a scheme-1 row claimed as scheme 2 no longer verifies
	assert chain.verify(rows + more, "Phone", "PHN-00001", "+14155550123").code == "edited"


def test_scheme_2_covers_what_the_record_is_about():
	rows = [make_row(1, phone_type="Cell", entered_tz="UTC"), make_row(2, phone_type="Cell")]
	chain.seal(rows, "Phone", "PHN-00001", "", subject="+14155550123")
	assert chain.verify(rows, "Phone", "PHN-00001", "+14155550123") is None
	# the record's number was changed under its history
	assert chain.verify(rows, "Phone", "PHN-00001", "+14155550199").code == "edited"
	for field, value in (("phone_type", "Home"), ("entered_tz", "Asia/Kolkata")):
		edited = [dict(rows[0], **{field: value}), rows[1]]
		assert chain.verify(edited, "Phone", "PHN-00001", "+14155550123").code == "edited", field
	# scheme 1 rows never covered the address: they keep verifying whatever it is
	old = [make_row(1)]
	chain.seal(old, "Phone", "PHN-00001", "", scheme=1)
	assert chain.verify(old, "Phone", "PHN-00001", "+14155550199") is None


# Known answers: fixed rows, fixed hashes. A refactor that changes a stored chain's hashes fails here.
# (Scheme 1's were computed by the implementation that sealed the first stored chains.)
KNOWN_ROWS = [
	{
		"channel": "Text",
		"action": "Opt In",
		"event_date": dt.date(2026, 3, 1),
		"event_time": dt.timedelta(hours=9, minutes=30),
		"method": "Verbal",
		"recorded_by": "agent@example.com",
		"recorded_at": dt.datetime(2026, 3, 1, 9, 31, 5, 123456),
		"source": "Desk",
		"note": "said yes",
		"message_id": None,
		"honour_by": None,
		"entered_tz": "America/New_York",
		"phone_type": "Cell",
		"operator": "j.smith (legacy CRM)",
		"wording": "Web Form Consent v2",
		"wording_hash": hashlib.sha256(b"I agree to receive texts.").hexdigest(),
		"purpose": "Account Servicing",
		"scope": "",
	},
	{
		"channel": "Text",
		"action": "Opt Out",
		"event_date": "2026-03-05",
		"event_time": "14:00:00",
		"method": "Text Reply",
		"recorded_by": "Administrator",
		"recorded_at": "2026-03-05 14:00:01",
		"source": "Inbound SMS",
		"note": "Inbound text: STOP",
		"message_id": "gw-1",
		"honour_by": "2026-03-19",
		"entered_tz": "UTC",
		"phone_type": "Cell",
		"purpose": "Marketing",
		"scope": "All Purposes",
	},
]
KNOWN_HASHES = {
	1: [
		"11b2f14be6587af724026aa5543d2e135ce88966d695affcd036fc6fb826372a",
		"d949ae85a4a365f4d1cdde92ce39a457ccf79db644cbfdac4ffc19c717dba8b1",
	],
	2: [
		"4c9df330be01d371432119dc91a9981a24f4de8de82e50da0f3d58e41ca88e82",
		"931ee24b658da522844ec7730eea5b4f708112abf887f513c7041836e9ef6d62",
	],
	3: [
		"be3148d78f78d189672ac7ac057f839712090133a4b5775eda11e40e7e03b474",
		"8be2d6722a41955a438e4b1387d86bb34735f67ba1c3d58349ff2dbfd9aa10f7",
	],
	4: [
		"01e40ef6e39535fa481860982419907f6fe33115b355f80386a99c427b952aac",
		"301f089b53ca46e27c4724c2bd42a4ddd50d4e735161ffc89b30e983c73b331e",
	],
}


def test_scheme_3_known_answer_written_out_by_hand():
	"""Scheme 3's first known row, serialised by hand (not by the implementation) and hashed."""
	row = KNOWN_ROWS[0]
	values = [
		["scheme", 3],
		["parenttype", "Phone"],
		["parent", "PHN-00001"],
		["subject", "+14155550123"],
		["channel", "Text"],
		["action", "Opt In"],
		["event_date", "2026-03-01"],
		["event_time", "09:30:00.000000"],
		["method", "Verbal"],
		["recorded_by", "agent@example.com"],
		["recorded_at", "2026-03-01 09:31:05.123456"],
		["source", "Desk"],
		["note", "said yes"],
		["message_id", ""],
		["honour_by", ""],
		["entered_tz", "America/New_York"],
		["phone_type", "Cell"],
		["operator", "j.smith (legacy CRM)"],
		["wording", "Web Form Consent v2"],
		["wording_hash", row["wording_hash"]],
		["prev_hash", ""],
	]
	expected = hashlib.sha256(json.dumps(values, separators=(",", ":")).encode()).hexdigest()
	assert expected == KNOWN_HASHES[3][0]


def test_scheme_4_known_answer_written_out_by_hand():
	"""Scheme 4's first known row, serialised by hand: scheme 3's fields, then the purpose and scope."""
	row = KNOWN_ROWS[0]
	values = [
		["scheme", 4],
		["parenttype", "Phone"],
		["parent", "PHN-00001"],
		["subject", "+14155550123"],
		["channel", "Text"],
		["action", "Opt In"],
		["event_date", "2026-03-01"],
		["event_time", "09:30:00.000000"],
		["method", "Verbal"],
		["recorded_by", "agent@example.com"],
		["recorded_at", "2026-03-01 09:31:05.123456"],
		["source", "Desk"],
		["note", "said yes"],
		["message_id", ""],
		["honour_by", ""],
		["entered_tz", "America/New_York"],
		["phone_type", "Cell"],
		["operator", "j.smith (legacy CRM)"],
		["wording", "Web Form Consent v2"],
		["wording_hash", row["wording_hash"]],
		["purpose", "Account Servicing"],
		["scope", ""],
		["prev_hash", ""],
	]
	expected = hashlib.sha256(json.dumps(values, separators=(",", ":")).encode()).hexdigest()
	assert expected == KNOWN_HASHES[4][0]


def test_scheme_4_covers_purpose_and_scope_and_older_rows_keep_verifying():
	subject = "+14155550123"
	old = [make_row(1, phone_type="Cell", entered_tz="UTC")]
	chain.seal(old, "Phone", "PHN-00001", "", scheme=3, subject=subject)
	new = [make_row(2, purpose="Marketing", scope="All Purposes")]
	chain.seal(new, "Phone", "PHN-00001", old[-1]["row_hash"], subject=subject)
	assert chain.CURRENT_SCHEME == 4 and new[0]["hash_scheme"] == 4
	assert chain.verify(old + new, "Phone", "PHN-00001", subject) is None
	for field, value in (("purpose", "Account Servicing"), ("scope", "")):
		edited = [*old, dict(new[0], **{field: value})]
		assert chain.verify(edited, "Phone", "PHN-00001", subject).code == "edited", field
		# a row sealed before purposes existed never covered them: naming one later does not break it
		assert chain.verify([dict(old[0], **{field: value})], "Phone", "PHN-00001", subject) is None
	assert chain.SCHEME_4_FIELDS[: len(chain.SCHEME_3_FIELDS)] == chain.SCHEME_3_FIELDS


def test_scheme_3_covers_operator_and_wording_and_scheme_2_rows_keep_verifying():
	subject = "+14155550123"
	old = [make_row(1, phone_type="Cell", entered_tz="UTC")]
	chain.seal(old, "Phone", "PHN-00001", "", scheme=2, subject=subject)
	new = [make_row(2, operator="agent 7", wording="Call Script v1", wording_hash="ab" * 32)]
	chain.seal(new, "Phone", "PHN-00001", old[-1]["row_hash"], subject=subject)
	assert new[0]["hash_scheme"] == chain.CURRENT_SCHEME >= 3
	assert chain.verify(old + new, "Phone", "PHN-00001", subject) is None
	for field, value in (("operator", "agent 8"), ("wording", "Call Script v2"), ("wording_hash", "cd" * 32)):
		edited = [*old, dict(new[0], **{field: value})]
		assert chain.verify(edited, "Phone", "PHN-00001", subject).code == "edited", field
		# a scheme-2 row never covered the new fields: adding them later does not break it
		assert chain.verify([dict(old[0], **{field: value})], "Phone", "PHN-00001", subject) is None
	assert chain.SCHEME_3_FIELDS[: len(chain.SCHEME_2_FIELDS)] == chain.SCHEME_2_FIELDS


@pytest.mark.parametrize("scheme", sorted(chain.SCHEMES))
def test_every_scheme_has_pinned_known_answers(scheme):
	rows = [dict(row) for row in KNOWN_ROWS]
	chain.seal(rows, "Phone", "PHN-00001", "", scheme=scheme, subject="+14155550123")
	assert [row["row_hash"] for row in rows] == KNOWN_HASHES[scheme]


def test_seal_works_on_objects_with_attributes():
	class Row:
		def __init__(self, fields):
			self.__dict__.update(fields)

		def get(self, key):
			return self.__dict__.get(key)

	rows = [Row(make_row(1)), Row(make_row(2))]
	chain.seal(rows, "Phone", "P")
	assert rows[1].prev_hash == rows[0].row_hash
	assert chain.verify(rows, "Phone", "P") is None


def test_canonical_forms():
	assert chain.canonical("date", "2026-01-02") == chain.canonical("date", dt.date(2026, 1, 2))
	assert chain.canonical("date", "2026-01-02") == "2026-01-02"
	assert chain.canonical("date", dt.datetime(2026, 1, 2, 5)) == "2026-01-02"
	assert (
		chain.canonical("time", "9:05")
		== chain.canonical("time", dt.timedelta(hours=9, minutes=5))
		== chain.canonical("time", dt.time(9, 5))
		== "09:05:00.000000"
	)
	assert chain.canonical("datetime", "2026-01-02 03:04:05") == "2026-01-02 03:04:05.000000"
	assert chain.canonical("datetime", dt.datetime(2026, 1, 2, 3, 4, 5, 6)) == "2026-01-02 03:04:05.000006"
	assert chain.canonical("text", None) == chain.canonical("date", "") == ""
	with pytest.raises(chain.Unreadable):
		chain.canonical("time", dt.timedelta(days=2))


def test_state_check_finds_a_deleted_last_row():
	rows = sealed(3)  # in, out, in on Call
	record = {"call_opt": 1, "call_opt_in_date": "2026-01-03", "call_opt_in_method": "Verbal"}
	record.update(call_opt_out_date=dt.date(2026, 1, 2), call_opt_out_method="Verbal")
	assert chain.verify_state("Phone", record, rows) is None
	broken = chain.verify_state("Phone", record, rows[:2])
	assert broken.code == "state" and "call_opt" in broken.text()


text = st.one_of(st.none(), st.text(max_size=30))


@given(note=text, method=text, message_id=text, other=text)
def test_any_change_of_a_text_field_changes_the_hash(note, method, message_id, other):
	row = make_row(1, note=note, method=method, message_id=message_id)
	base = chain.row_hash(row, "Phone", "P", "")
	for field in ("note", "method", "message_id"):
		if chain.canonical("text", other) != chain.canonical("text", row[field]):
			assert chain.row_hash(dict(row, **{field: other}), "Phone", "P", "") != base


@given(st.lists(st.sampled_from(["edit", "delete", "swap"]), min_size=1, max_size=3), st.integers(0, 5))
def test_tampering_is_always_detected_at_or_before_the_first_changed_row(operations, where):
	original = sealed(6)
	rows = sealed(6)
	for operation in operations:
		i = where % len(rows)
		if operation == "edit":
			rows[i]["note"] = (rows[i]["note"] or "") + "x"
		elif operation == "delete" and len(rows) > 1 and i < len(rows) - 1:
			del rows[i]
		elif operation == "swap" and i + 1 < len(rows):
			rows[i], rows[i + 1] = rows[i + 1], rows[i]
			rows[i]["idx"], rows[i + 1]["idx"] = i + 1, i + 2
	changed = [i for i, (row, before) in enumerate(zip(rows, original, strict=False)) if row != before]
	if not changed:
		return  # nothing was done, or it was undone (two swaps); the last row is never deleted
	broken = chain.verify(rows, "Phone", "PHN-00001")
	assert broken is not None
	position = [row["name"] for row in rows].index(broken.row) + 1
	assert position <= changed[0] + 1


@pytest.mark.parametrize(
	"note, code",
	[
		("x" * 1001, "long_note"),
		("<script>alert(1)</script>", "markup_note"),
		("see <img src=x onerror=alert(1)>", "markup_note"),
		("</b>", "markup_note"),
		("nul\x00byte", "bad_note"),
		(42, "bad_note"),
	],
)
def test_notes_that_are_refused(note, code):
	from opt_consent.ledger.rules import engine

	with pytest.raises(engine.Refused) as refused:
		engine.check_note(note)
	assert refused.value.code == code


def test_notes_that_are_kept():
	from opt_consent.ledger.rules import engine

	assert engine.check_note("x" * 1000) == "x" * 1000
	assert engine.check_note("2 < 3, said on the phone\nline two") == "2 < 3, said on the phone\nline two"
	assert engine.check_note("") is None


@pytest.mark.parametrize(
	"operator, code",
	[
		("x" * 141, "long_operator"),
		("<b>agent</b>", "markup_operator"),
		("two\nlines", "bad_operator"),
		("nul\x00byte", "bad_operator"),
		(7, "bad_operator"),
	],
)
def test_operators_that_are_refused(operator, code):
	from opt_consent.ledger.rules import engine

	with pytest.raises(engine.Refused) as refused:
		engine.check_operator(operator)
	assert refused.value.code == code


def test_operators_that_are_kept():
	from opt_consent.ledger.rules import engine

	assert engine.check_operator("  j.smith (legacy CRM)  ") == "j.smith (legacy CRM)"
	assert engine.check_operator("x" * 140) == "x" * 140
	assert engine.check_operator("") is None
	assert engine.check_operator("   ") is None
	assert engine.check_operator(None) is None
