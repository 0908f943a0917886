"""Phone and email normalisation."""

import pytest

from opt_consent.model.addresses import normalize_email, normalize_phone
from opt_consent.model.messages import Refused


@pytest.mark.parametrize(
	"typed, region, e164",
	[
		("+1 (415) 555-2671", None, "+14155552671"),
		("415.555.2671", "US", "+14155552671"),
		("+44 20 7946 0958", None, "+442079460958"),
		("020 7946 0958", "gb", "+442079460958"),
		("  +61 412 345 678 ", None, "+61412345678"),
	],
)
def test_phone_numbers_normalise_to_e164(typed, region, e164):
	assert normalize_phone(typed, region) == e164


@pytest.mark.parametrize(
	"typed, region, code",
	[
		("", None, "missing_phone"),
		(None, "US", "missing_phone"),
		("415 555 2671", None, "bad_phone"),
		("hello", "US", "bad_phone"),
		("+1 123", None, "bad_phone"),
		("+1 415 555 2671 ext 9999999999999999999999999", None, "bad_phone"),
		("<script>alert(1)</script>", "US", "bad_phone"),
	],
)
def test_bad_phone_numbers_are_refused(typed, region, code):
	with pytest.raises(Refused) as info:
		normalize_phone(typed, region)
	assert info.value.code == code


def test_email_is_lower_cased_and_trimmed():
	assert normalize_email("  Jane.Doe+Bills@Example.COM ") == "jane.doe+bills@example.com"


@pytest.mark.parametrize(
	"address",
	[
		"",
		None,
		"jane",
		"jane@",
		"@example.com",
		"jane@example",
		"a@b.com, c@d.com",
		"Jane <jane@example.com>",
		"jane..doe@example.com",
		"x" * 250 + "@example.com",
		"<b>@example.com",
	],
)
def test_bad_emails_are_refused(address):
	with pytest.raises(Refused):
		normalize_email(address)
