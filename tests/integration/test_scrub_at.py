"""A scrub at a moment answers consent as it stood then: the whitelisted scrub, the desk's Contact Scrub
and ``contact_control.scrub`` agree with ``can_contact`` address by address, at past, present and future
moments (either side of a revocation and of a lapse), for calls, texts and email."""

import datetime as dt
import random
from zoneinfo import ZoneInfo

import frappe
import pytest
from frappe.utils import add_days, add_to_date, get_datetime, now_datetime

from opt_consent.contact_control import adapter as contact_control
from opt_consent.contact_control import rules as cc
from opt_consent.gate import rules as gate
from opt_consent.ledger.consent import ActionRequest, record_action
from opt_consent.model.messages import Refused
from opt_consent.reauth import lapse
from opt_consent.scrub import adapter as scrub_job
from tests.integration.factories import (
	COMMITTED,
	make_email,
	make_phone,
	make_reauth_settings,
	random_email,
	random_number,
)
from tests.integration.http import Client
from tests.integration.test_contact_scrub import csv_bytes, keep_settings, new_scrub, no_commit, result_of

__all__ = ["keep_settings", "no_commit"]  # the fixtures, shared with the Contact Scrub's tests

SETTINGS = "Opt Consent Settings"
NEW_YORK = ZoneInfo("America/New_York")
HOURS = {
	"rule_name": "calling hours",
	"kind": cc.ALLOWED_HOURS,
	"channels": "Call, Text",
	"start_time": "08:00:00",
	"end_time": "21:00:00",
}


def set_rules(*rows):
	settings = frappe.get_doc(SETTINGS)
	settings.set("contact_rules", [{"enabled": 1, "counts_per": cc.PER_ADDRESS, **row} for row in rows])
	settings.save()
	frappe.clear_document_cache(SETTINGS, SETTINGS)


def act(doctype, name, action, channel, at, method="Verbal"):
	return record_action(
		ActionRequest(doctype, name, action, channel, at.date(), at.strftime("%H:%M:%S"), method)
	)


def noon_in_new_york(days_ago: int) -> dt.datetime:
	"""Noon in New York ``days_ago`` days ago, on the site's clock: inside calling hours of a 212 number."""
	day = dt.datetime.now(NEW_YORK).date() - dt.timedelta(days=days_ago)
	noon = dt.datetime.combine(day, dt.time(12, 0), tzinfo=NEW_YORK)
	return contact_control.site_naive(noon)


def new_york_number() -> str:
	"""A valid 212 number: its calling hours are New York's (a random area code could be Hawaii's, where
	noon in New York is before 8 a.m.)."""
	import phonenumbers

	while True:
		number = f"+1 212 {random.randint(200, 999)} {random.randint(0, 9999):04d}"
		if phonenumbers.is_valid_number(phonenumbers.parse(number)):
			return number


def the_two_numbers():
	"""A number opted in 30 days ago and out yesterday; one opted in only yesterday (New York numbers)."""
	revoked = make_phone(new_york_number(), "Cell")
	act("Phone", revoked.name, "Opt In", "Call", add_to_date(now_datetime(), days=-30))
	act("Phone", revoked.name, "Opt Out", "Call", add_to_date(now_datetime(), days=-1))
	late = make_phone(new_york_number(), "Cell")
	act("Phone", late.name, "Opt In", "Call", add_to_date(now_datetime(), days=-1))
	return frappe.get_doc("Phone", revoked.name), frappe.get_doc("Phone", late.name)


def verdict(row) -> tuple:
	moment = row["next_allowed_at"]
	return row["allowed"], row["reason"], row["rule"], get_datetime(moment) if moment else None


# --- the doors -----------------------------------------------------------------------------------------


def test_the_whitelisted_scrub_at_a_past_moment_answers_as_can_contact(server):
	set_rules(HOURS)
	revoked, late = the_two_numbers()
	frappe.db.commit()  # the web server's requests read committed rows
	COMMITTED.extend([("Phone", revoked.name), ("Phone", late.name)])
	at = noon_in_new_york(2).strftime("%Y-%m-%d %H:%M:%S")
	client = Client(server, "manager")
	try:
		response = client.post(
			"/api/method/opt_consent.control.scrub",
			channel="Call",
			addresses=[revoked.phone_e164, late.phone_e164],
			at=at,
		)
		assert response.status_code == 200, response.text
		scrubbed = response.json()["message"]
		one_by_one = []
		for phone in (revoked, late):
			answer = client.get(
				"/api/method/opt_consent.api.can_contact", channel="Call", address=phone.phone_e164, at=at
			)
			assert answer.status_code == 200, answer.text
			one_by_one.append(answer.json()["message"])
	finally:
		set_rules()
		frappe.db.commit()
	assert [(r["allowed"], r["reason"]) for r in one_by_one] == [
		(True, gate.OPTED_IN),
		(False, gate.NOT_OPTED_IN),
	]
	assert [verdict(row) for row in scrubbed] == [verdict(row) for row in one_by_one]


def test_the_desk_scrub_at_a_past_moment_answers_as_can_contact(no_commit):
	set_rules(HOURS)
	revoked, late = the_two_numbers()
	at = noon_in_new_york(2)
	numbers = [revoked.phone_e164, late.phone_e164]
	doc = new_scrub(csv_bytes([["number"], *[[n] for n in numbers]]), at=at)
	scrub_job.run(doc.name, inline=True)
	doc.reload()
	assert (doc.status, doc.error, doc.allowed_count) == ("Done", None, 1)
	rows = result_of(doc)
	expected = [contact_control.check("Call", number, at) for number in numbers]
	assert [(r["allowed"], r["reason"]) for r in expected] == [
		(True, gate.OPTED_IN),
		(False, gate.NOT_OPTED_IN),
	]
	assert [(row["allowed"], row["reason"]) for row in rows] == [
		("1", gate.OPTED_IN),
		("0", gate.NOT_OPTED_IN),
	]
	assert [row["next_allowed_at"] for row in rows] == [at.strftime("%Y-%m-%d %H:%M:%S"), ""]


def test_the_desk_scrub_without_a_moment_answers_consent_now(no_commit):
	set_rules()
	revoked, late = the_two_numbers()
	doc = new_scrub(csv_bytes([[revoked.phone_e164], [late.phone_e164]]))
	scrub_job.run(doc.name, inline=True)
	doc.reload()
	assert [(row["allowed"], row["reason"]) for row in result_of(doc)] == [
		("0", gate.OPTED_OUT),
		("1", gate.OPTED_IN),
	]


# --- address by address, at many moments ---------------------------------------------------------------

PHONE_STEPS = [
	("Opt In", "Call"),
	("Opt Out", "Call"),
	("Opt In", "Text"),
	("Opt Out", "Text"),
	("Text Reauth", "Text"),
]


def history(rng, doctype, name, steps, start) -> list[dt.datetime]:
	"""Random consent actions on one record from ``start`` on (refused ones skipped); their moments."""
	moments, at = [], start
	for _ in range(rng.randint(0, 4)):
		at = at + dt.timedelta(hours=rng.randint(1, 10 * 24))
		if at > now_datetime() - dt.timedelta(minutes=5):
			break
		action, channel = rng.choice(steps)
		try:
			act(doctype, name, action, channel, at)
		except (frappe.ValidationError, Refused):
			frappe.local.message_log = []
			continue
		moments.append(at)
	return moments


@pytest.fixture
def lived_in_lists():
	"""About 300 phones (some sharing a number, some Home lines) and 60 emails with random histories over
	the last 45 days, texting lapsed by the job after 30 days; and the moments to scrub them at."""
	rng = random.Random(20260)
	set_rules()
	start = now_datetime() - dt.timedelta(days=45)
	numbers, emails, moments = [], [], []
	for i in range(300):
		number = numbers[-1] if i % 25 == 24 else random_number()  # a second record of the same number
		phone = make_phone(number, "Cell" if i % 7 else "Home")
		numbers.append(number)
		moments += history(rng, "Phone", phone.name, PHONE_STEPS, start)
	for _ in range(60):
		email = make_email(random_email())
		emails.append(email.email_id)
		moments += history(rng, "Email", email.name, [("Opt In", "Email"), ("Opt Out", "Email")], start)
	# a revocation and a lapse whose both sides are scrubbed
	revoked = make_phone(random_number(), "Cell")
	act("Phone", revoked.name, "Opt In", "Call", start)
	revocation = now_datetime() - dt.timedelta(days=3, hours=2)
	act("Phone", revoked.name, "Opt Out", "Call", revocation)
	numbers.append(revoked.phone)
	texting = make_phone(random_number(), "Cell")
	act("Phone", texting.name, "Opt In", "Text", start)
	numbers.append(texting.phone)
	make_reauth_settings(30, 0)
	lapse.run()
	lapse_day = get_datetime(add_days(start.date(), 30))
	assert frappe.db.get_value("Phone", texting.name, "text_opt") == 0  # the job lapsed it
	numbers += [random_number(), "not a number"]  # unknown and invalid
	emails += [random_email(), "nobody"]
	chosen = sorted(rng.sample(moments, min(len(moments), 6)))
	at = [
		start - dt.timedelta(days=1),
		*chosen,
		*(m - dt.timedelta(seconds=1) for m in chosen[:2]),
		revocation - dt.timedelta(seconds=1),
		revocation,
		lapse_day - dt.timedelta(seconds=1),
		lapse_day,
		now_datetime(),
		now_datetime() + dt.timedelta(days=2),
	]
	return numbers, emails, at


def test_the_scrub_agrees_with_can_contact_address_by_address_at_every_moment(lived_in_lists):
	numbers, emails, moments = lived_in_lists
	seen = {}
	for channel, addresses in (("Call", numbers), ("Text", numbers), ("Email", emails)):
		for at in [None, *moments]:
			text = at.strftime("%Y-%m-%d %H:%M:%S.%f") if at else None
			scrubbed = contact_control.scrub(channel, addresses, text)
			one_by_one = [contact_control.check(channel, a, text) for a in addresses]
			got = [(r["allowed"], r["reason"], r["record"]) for r in scrubbed]
			want = [(r["allowed"], r["reason"], r["record"]) for r in one_by_one]
			wrong = [(a, g, w) for a, g, w in zip(addresses, got, want, strict=True) if g != w]
			assert not wrong, (channel, at, len(wrong), wrong[:5])
			seen.setdefault(channel, set()).update(r["reason"] for r in scrubbed)
	# the lists and moments hold every kind of answer
	assert {gate.OPTED_IN, gate.OPTED_OUT, gate.NOT_OPTED_IN, gate.DO_NOT_CALL} <= seen["Call"], seen
	assert {gate.OPTED_IN, gate.LAPSED, gate.NOT_CELL} <= seen["Text"], seen
	assert {gate.OPTED_IN, gate.OPTED_OUT, gate.UNKNOWN_ADDRESS, gate.INVALID_ADDRESS} <= seen["Email"], seen
