"""Where a number may be: its region and every time zone, from the phonenumbers data Frappe ships, looked up
on the E.164 key as phonenumbers itself does."""

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from phonenumbers import timezone

from opt_consent.model.addresses import number_region, number_zones


@pytest.mark.parametrize(
	("number", "region", "zones"),
	[
		("+12125550100", "US", ("America/New_York",)),
		("+14165550100", "CA", ("America/Toronto",)),
		("+18765550100", "JM", ("America/Jamaica",)),
		("+919876543210", "IN", ("Asia/Calcutta",)),
		("+61212345678", "AU", ("Australia/Sydney",)),
	],
)
def test_known_numbers(number, region, zones):
	assert number_region(number) == region
	assert number_zones(number) == zones


def test_nothing_known():
	assert number_zones("") == () and number_region("") is None
	assert number_region("+999123") is None


REGIONS = ["US", "CA", "GB", "IN", "AU", "DE", "FR", "BR", "MX", "JP", "RU", "ZA", "NG", "JM", "PR"]


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(REGIONS), st.integers(0, 10**10))
def test_agrees_with_phonenumbers_on_valid_numbers(region, seed):
	example = phonenumbers.example_number(region)
	digits = str(example.national_number)
	national = int(digits[:-4] + f"{seed % 10000:04d}")  # keep the area, vary the subscriber
	number = phonenumbers.PhoneNumber(country_code=example.country_code, national_number=national)
	if not phonenumbers.is_valid_number(number):
		return
	e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
	assert number_region(e164) == phonenumbers.region_code_for_number(number)
	assert number_zones(e164) == tuple(timezone.time_zones_for_geographical_number(number))
