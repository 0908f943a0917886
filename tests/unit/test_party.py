"""The records a Contact needs: one per normalised number or address, a mobile is a Cell."""

from opt_consent.contact.rules import OTHER, plan
from opt_consent.model.addresses import normalize_email, normalize_phone
from opt_consent.model.channels import CELL, EMAIL, PHONE


def normalize(doctype: str, address: str) -> str:
	return normalize_phone(address, "US") if doctype == PHONE else normalize_email(address)


def test_one_record_per_key_a_mobile_row_makes_it_a_cell():
	wanted, skipped = plan(
		[
			("(415) 555-0134", False),
			("+1 415 555 0134", True),
			("212 555 0199", False),
			("", True),
			(None, False),
		],
		["Ann@Example.com", "ann@example.com ", None],
		normalize,
	)
	assert skipped == []
	assert [(w.doctype, w.key, w.address, w.record_type) for w in wanted] == [
		(PHONE, "+14155550134", "(415) 555-0134", CELL),
		(PHONE, "+12125550199", "212 555 0199", OTHER),
		(EMAIL, "ann@example.com", "Ann@Example.com", None),
	]


def test_an_invalid_address_is_skipped_once_with_the_reason():
	wanted, skipped = plan([("12345", True), ("12345", False)], ["not an address"], normalize)
	assert wanted == []
	assert [(s.doctype, s.address, s.refusal.code) for s in skipped] == [
		(PHONE, "12345", "bad_phone"),
		(EMAIL, "not an address", "bad_email"),
	]
