"""The Contact Scrub's CSV reading and writing (pure): which column, header or not, refusals, formulas."""

import io

import pytest

from opt_consent.scrub import rules as cs


def read(text: str | bytes, email: bool = False, max_bytes=None) -> list[str]:
	data = text.encode() if isinstance(text, str) else text
	return list(cs.read_addresses(io.BytesIO(data), email, max_bytes))


@pytest.mark.parametrize(
	("text", "expected"),
	[
		("+14155550100\n+14155550101\n", ["+14155550100", "+14155550101"]),  # no header
		("Phone\n+14155550100\n", ["+14155550100"]),  # a header of a known name
		("Numbers to call\r\n415 555 0100\r\n", ["415 555 0100"]),  # a header no address can be
		("\ufeffnumber\n\n  \n(415) 555-0100 \n", ["(415) 555-0100"]),  # BOM, blank lines, spaces
		("name,Mobile,note\nAda,+14155550100,x\nBob,,y\nCy\n", ["+14155550100", "", ""]),  # short rows
		("name;Phone Number\nAda;+14155550100\n", ["+14155550100"]),  # semicolons
		("name\tmobile\nAda\t+14155550100\n", ["+14155550100"]),  # tabs
		('address\n"+1 415, 555 0100"\n', ["+1 415, 555 0100"]),  # quoted
	],
)
def test_the_address_column_is_found(text, expected):
	assert read(text) == expected


def test_email_prefers_the_email_column_and_calls_the_phone_column():
	text = "phone,email,address\n+14155550100,a@example.com,somewhere\n"
	assert read(text, email=True) == ["a@example.com"]
	assert read(text, email=False) == ["+14155550100"]
	assert read("name,address\nAda,a@example.com\n", email=True) == ["a@example.com"]


def test_a_long_cell_is_cut():
	assert read("x" * 5000 + "1\n") == ["x" * cs.MAX_ADDRESS]


@pytest.mark.parametrize(
	("data", "code"),
	[
		("Müller\n".encode("latin-1"), "not_utf8"),
		("number\n+14155550100\n".encode("utf-16"), "not_utf8"),
		(b"number\n+1415\x00550100\n", "not_utf8"),
		(b"", "empty"),
		(b"\n\n", "empty"),
		(b"name,city\nAda,London\n", "no_address_column"),
		(b'number\n"+14155550100\n', "malformed"),
		(b'number\n"+1"x\n', "malformed"),
	],
)
def test_a_file_that_cannot_be_read_is_refused(data, code):
	with pytest.raises(cs.FileRefused) as refused:
		read(data)
	assert refused.value.code == code


def test_bad_utf8_is_found_past_the_first_block_with_its_line():
	data = b"number\n" + b"+14155550100\n" * 10_000 + b"\xff\n"
	with pytest.raises(cs.FileRefused) as refused:
		read(data)
	assert refused.value.code == "not_utf8" and refused.value.args_ == (10_002, len(data) - 2)


@pytest.mark.parametrize(
	"data,line,offset",
	[
		(b"number\n+14155550100\n+1415\xe9\n", 3, 25),
		(b"number\n+14155550100\n+1415\x00\n", 3, 25),
		(b"number\n+14155550100\n+1415\xc3", 3, 25),  # the file ends inside a character
	],
)
def test_bad_utf8_is_named_by_its_line_and_byte_offset(data, line, offset):
	with pytest.raises(cs.FileRefused) as refused:
		read(data)
	assert refused.value.args_ == (line, offset)
	assert f"line {line}" in refused.value.message.format(*refused.value.args_)


def test_a_stream_over_the_limit_is_refused_as_soon_as_it_passes_it():
	class Endless(io.RawIOBase):
		read_count = 0

		def read(self, size=-1):
			self.read_count += 1
			return b"+14155550100\n" * 1000

	source = Endless()
	with pytest.raises(cs.FileRefused) as refused:
		list(cs.read_addresses(source, False, max_bytes=1 << 20))
	assert refused.value.code == "too_large" and source.read_count < 100


def test_the_reader_streams_rather_than_reading_the_whole_file():
	data = io.BytesIO(b"number\n" + b"+14155550100\n" * 100_000)
	addresses = cs.read_addresses(data, False)
	assert next(addresses) == "+14155550100"
	assert data.tell() <= 2 * cs.BLOCK


@pytest.mark.parametrize(
	("cell", "safe"),
	[
		("+44 7400 000001", "+44 7400 000001"),
		("(415) 555-0100", "(415) 555-0100"),
		('=HYPERLINK("x")', '\'=HYPERLINK("x")'),
		("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
		("@SUM(A1)", "'@SUM(A1)"),
		("a@example.com", "a@example.com"),
		("", ""),
	],
)
def test_result_cells_are_not_formulas(cell, safe):
	assert cs.safe_cell(cell) == safe


def test_a_result_row():
	assert cs.result_row(
		"+14155550100", False, "frequency_cap", "Too many", "cap", "2026-01-01 09:00:00"
	) == [
		"+14155550100",
		"0",
		"frequency_cap",
		"Too many",
		"cap",
		"2026-01-01 09:00:00",
	]
