"""A revocation is never lost: inbound STOPs whatever the Opt Method configuration, the clock or the phone's
type; a revocation that cannot be applied is kept and retried; the revocation clock counts from the event."""

import datetime as dt

import frappe
import pytest
from frappe.utils import add_to_date, getdate, now_datetime

from opt_consent.api import consent as api
from opt_consent.api import inbound
from opt_consent.gate.adapter import can_contact
from opt_consent.ledger.rules import business_days
from opt_consent.ledger.settings import honour_by
from tests.integration.factories import COMMITTED, make_method, make_phone, random_number, when
from tests.integration.test_gate import committed_phone, gateway, message_id, post, text_log  # noqa: F401


@pytest.fixture(autouse=True)
def evidence_path(record_property):
	"""Each test here is one evidence path tried (listed in docs/RELIABILITY.md)."""
	record_property("evidence_path", 1)


def stop(url, number):
	response = post(url, sender=number, message="STOP", message_id=message_id())
	assert response.status_code == 200, response.text
	return response.json()["message"]


@pytest.fixture
def text_reply_method():
	"""Put the inbound method back as shipped after a test that changed it (committed for the server)."""
	yield
	frappe.db.rollback()
	make_method("Text Reply")
	frappe.db.commit()


@pytest.mark.parametrize(
	"configure",
	[
		lambda: make_method("Text Reply", enabled=0),
		lambda: make_method("Text Reply", for_opt_out=0),
		lambda: frappe.delete_doc("Opt Method", "Text Reply", force=True),
	],
	ids=["disabled", "not for opt out", "deleted"],
)
def test_stop_withdraws_texting_whatever_the_method_configuration(gateway, text_reply_method, configure):  # noqa: F811
	number = random_number()
	cell = committed_phone(number, opt_in_texts=True)
	configure()
	frappe.db.commit()
	answer = stop(gateway, number)
	assert (answer["status"], answer["changed"]) == ("Applied", 1)
	rows = text_log(cell)
	assert [(r.action, r.source) for r in rows] == [("Opt In", "API"), ("Opt Out", "Inbound SMS")]
	assert rows[1].method == (None if not frappe.db.exists("Opt Method", "Text Reply") else "Text Reply")
	assert can_contact("Text", number)["reason"] == "opted_out"


def test_a_used_method_cannot_be_renamed():
	phone = make_phone()
	api.opt_in(doctype="Phone", name=phone.name, channel="Call", method="Verbal", **when())
	with pytest.raises(frappe.ValidationError, match="cannot be renamed"):
		frappe.rename_doc("Opt Method", "Verbal", "Spoken", force=True)


def test_stop_is_recorded_after_a_latest_event_within_the_clock_skew(gateway):  # noqa: F811
	number = random_number()
	cell = make_phone(number)
	ahead = add_to_date(now_datetime(), seconds=90)  # another clock was a little ahead
	api.opt_in(
		doctype="Phone",
		name=cell.name,
		channel="Text",
		method="Verbal",
		date=ahead.date().isoformat(),
		time=ahead.strftime("%H:%M:%S"),
	)
	frappe.db.commit()
	COMMITTED.append(("Phone", cell.name))
	answer = stop(gateway, number)
	assert (answer["status"], answer["changed"]) == ("Applied", 1)
	rows = text_log(cell.name)
	assert rows[-1].action == "Opt Out"


def test_a_revocation_that_cannot_be_applied_is_kept_and_the_gateway_told_to_retry(monkeypatch):
	number = random_number()
	cell = make_phone(number)
	api.opt_in(doctype="Phone", name=cell.name, channel="Text", method="Verbal", **when(30))

	def broken(*args, **kwargs):
		raise frappe.QueryTimeoutError("Lock wait timeout exceeded")

	monkeypatch.setattr(inbound, "record_action", broken)
	msg = message_id()
	answer = inbound.handle(number, frappe.db.get_value("Phone", cell.name, "phone_e164"), "STOP", msg)
	assert answer["status"] == inbound.NOT_APPLIED
	assert frappe.local.response.http_status_code == 503
	kept = frappe.get_doc("Inbound Text", answer["inbound_text"])
	assert kept.status == inbound.NOT_APPLIED and "Not applied" in kept.phones[0].outcome
	assert frappe.db.get_value("Phone", cell.name, "text_opt") == 1
	# shown first in the list staff open
	assert "Not Applied" in frappe.get_meta("Inbound Text").get_field("status").options

	# the gateway's retry of the same message applies it to the same Inbound Text
	monkeypatch.undo()
	frappe.local.response.http_status_code = 200
	retried = inbound.retry(kept.name)
	assert (retried["status"], retried["changed"]) == ("Applied", 1)
	assert frappe.db.get_value("Phone", cell.name, "text_opt") == 0
	assert frappe.get_doc("Inbound Text", kept.name).status == "Applied"


def test_phone_type_cannot_hide_or_revive_texting_consent():
	number = random_number()
	cell = make_phone(number)
	api.opt_in(doctype="Phone", name=cell.name, channel="Text", method="Verbal", **when(30))
	doc = frappe.get_doc("Phone", cell.name)
	doc.phone_type = "Home"
	doc.save()
	# staff record the person's "stop texting me" on the Home phone: recorded, not refused
	api.opt_out(doctype="Phone", name=cell.name, channel="Text", method="Verbal", **when(20))
	doc = frappe.get_doc("Phone", cell.name)
	doc.phone_type = "Cell"
	doc.save()
	verdict = can_contact("Text", number)
	assert (verdict["allowed"], verdict["reason"]) == (False, "opted_out")
	assert [r.phone_type for r in doc.opt_logs] == ["Cell", "Home"]


def test_the_revocation_clock_starts_when_the_person_revoked():
	phone = make_phone()
	api.opt_in(doctype="Phone", name=phone.name, channel="Call", method="Verbal", **when(60 * 24 * 9))
	eight_days = when(60 * 24 * 8)
	api.opt_out(doctype="Phone", name=phone.name, channel="Call", method="Verbal", **eight_days)
	row = frappe.get_doc("Phone", phone.name).opt_logs[-1]
	assert row.honour_by == honour_by(getdate(eight_days["date"]))
	assert row.honour_by < honour_by(now_datetime())
	assert row.honour_by == business_days.add_business_days(getdate(eight_days["date"]), 10)


def test_a_date_and_time_typed_in_the_operators_zone_are_stored_in_the_sites():
	from zoneinfo import ZoneInfo

	phone = make_phone()
	site_zone = frappe.utils.get_system_timezone()
	zone = "Pacific/Auckland" if site_zone != "Pacific/Auckland" else "America/New_York"
	there = now_datetime().replace(tzinfo=ZoneInfo(site_zone)).astimezone(ZoneInfo(zone)) - dt.timedelta(
		minutes=5
	)
	api.opt_in(
		doctype="Phone",
		name=phone.name,
		channel="Call",
		method="Verbal",
		date=there.date().isoformat(),
		time=there.strftime("%H:%M:%S"),
		time_zone=zone,
	)
	row = frappe.get_doc("Phone", phone.name).opt_logs[-1]
	stored = dt.datetime.combine(getdate(row.event_date), frappe.utils.get_time(row.event_time))
	expected = there.astimezone(ZoneInfo(site_zone)).replace(tzinfo=None)
	assert abs((stored - expected).total_seconds()) < 1
	assert row.entered_tz == zone
	with pytest.raises(frappe.ValidationError, match="not a known time zone"):
		api.opt_in(
			doctype="Phone", name=phone.name, channel="Text", method="Verbal", time_zone="Mars/Base", **when()
		)
