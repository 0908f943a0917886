"""The consent actions through the whitelisted methods, on a real site."""

import datetime as dt

import frappe
import pytest
from frappe.utils import add_to_date, now_datetime

from opt_consent import install
from opt_consent.api import consent as api
from tests.integration.factories import make_email, make_method, make_phone, snapshot, user, when


def as_user(key: str = "user") -> None:
	frappe.set_user(user(key))


def test_seeded_methods_exist_and_seeding_is_idempotent():
	before = frappe.db.count("Opt Method")
	install.seed()
	install.seed()
	assert frappe.db.count("Opt Method") == before
	for name in install.OPT_METHODS:
		assert frappe.db.get_value("Opt Method", name, "enabled") == 1
	for role in install.ROLES:
		assert frappe.db.exists("Role", role)


def test_new_phone_is_active_not_opted_in_with_empty_log_and_normalised_number():
	phone = make_phone("+1 (415) 555-2671")
	assert phone.phone == "+1 (415) 555-2671"
	assert phone.phone_e164 == "+14155552671"
	assert (phone.active, phone.do_not_call, phone.call_opt, phone.text_opt) == (1, 0, 0, 0)
	assert phone.opt_logs == []


def test_invalid_addresses_are_refused():
	with pytest.raises(frappe.ValidationError, match="not a valid phone number"):
		make_phone("12345")
	with pytest.raises(frappe.ValidationError, match="not a valid email address"):
		make_email("not-an-email")


def test_phone_walks_every_seed_scenario():
	phone = make_phone()
	as_user()
	# Opt In Calls
	doc = api.opt_in(doctype="Phone", name=phone.name, channel="Call", method="Verbal", **when(50))
	assert (doc["call_opt"], doc["active"], doc["do_not_call"]) == (1, 1, 0)
	assert doc["call_opt_in_method"] == "Verbal" and str(doc["call_opt_in_date"]) == when(50)["date"]
	row = doc["opt_logs"][-1]
	assert (row["channel"], row["action"], row["method"], row["recorded_by"], row["source"]) == (
		"Call",
		"Opt In",
		"Verbal",
		user("user"),
		"API",
	)
	assert row["recorded_at"] is not None
	# Opt In Texts
	doc = api.opt_in(doctype="Phone", name=phone.name, channel="Text", method="Written", **when(40))
	assert (doc["text_opt"], doc["text_opt_in_method"]) == (1, "Written")
	# Text Reauth
	doc = api.text_reauth(name=phone.name, method="Recorded Call", **when(30))
	assert (doc["text_opt"], doc["text_opt_in_method"]) == (1, "Recorded Call")
	assert doc["opt_logs"][-1]["action"] == "Text Reauth"
	# Opt Out Calls
	doc = api.opt_out(doctype="Phone", name=phone.name, channel="Call", method="Verbal", **when(20))
	assert (doc["call_opt"], doc["active"], doc["do_not_call"]) == (0, 0, 1)
	assert doc["call_opt_out_method"] == "Verbal"
	# Opt Out Texts
	doc = api.opt_out(doctype="Phone", name=phone.name, channel="Text", method="Text Reply", **when(10))
	assert (doc["text_opt"], doc["text_opt_out_method"]) == (0, "Text Reply")
	stored = frappe.get_doc("Phone", phone.name)
	assert [(r.channel, r.action) for r in stored.opt_logs] == [
		("Call", "Opt In"),
		("Text", "Opt In"),
		("Text", "Text Reauth"),
		("Call", "Opt Out"),
		("Text", "Opt Out"),
	]
	assert (stored.call_opt, stored.text_opt, stored.active, stored.do_not_call) == (0, 0, 0, 1)


def test_email_opt_in_and_out():
	email = make_email()
	as_user()
	doc = api.opt_in(doctype="Email", name=email.name, channel="Email", method="Web Form", **when(20))
	assert (doc["email_opt"], doc["active"], doc["do_not_email"], doc["email_opt_in_method"]) == (
		1,
		1,
		0,
		"Web Form",
	)
	doc = api.opt_out(doctype="Email", name=email.name, channel="Email", method="Email Reply", **when(10))
	assert (doc["email_opt"], doc["active"], doc["do_not_email"], doc["email_opt_out_method"]) == (
		0,
		0,
		1,
		"Email Reply",
	)
	assert [r["action"] for r in doc["opt_logs"]] == ["Opt In", "Opt Out"]


def test_an_opt_in_reactivates_a_phone_marked_do_not_call():
	phone = make_phone(active=0, do_not_call=1)
	as_user()
	doc = api.opt_in(doctype="Phone", name=phone.name, channel="Call", method="Verbal", **when())
	assert (doc["active"], doc["do_not_call"]) == (1, 0)


@pytest.mark.parametrize("key", ["auditor", "outsider", "Guest"])
def test_users_without_write_permission_cannot_record(key):
	phone = make_phone()
	email = make_email()
	before = snapshot("Phone", phone.name), snapshot("Email", email.name)
	frappe.set_user(user(key) if key != "Guest" else "Guest")
	with pytest.raises(frappe.PermissionError):
		api.opt_in(doctype="Phone", name=phone.name, channel="Call", method="Verbal", **when())
	with pytest.raises(frappe.PermissionError):
		api.text_reauth(name=phone.name, method="Verbal", **when())
	with pytest.raises(frappe.PermissionError):
		api.opt_out(doctype="Email", name=email.name, channel="Email", method="Verbal", **when())
	frappe.set_user("Administrator")
	assert (snapshot("Phone", phone.name), snapshot("Email", email.name)) == before


def _opted_in_phone():
	phone = make_phone()
	frappe.set_user("Administrator")
	api.opt_in(doctype="Phone", name=phone.name, channel="Call", method="Verbal", **when(60))
	return phone.name


REFUSALS = [
	("already in", "opt_in", {"channel": "Call"}, "already opted in"),
	("unknown method", "opt_out", {"channel": "Call", "method": "Carrier Pigeon"}, "not a known Opt Method"),
	("disabled method", "opt_out", {"channel": "Call", "method": "oc-disabled"}, "is disabled"),
	("wrong direction", "opt_out", {"channel": "Call", "method": "oc-in-only"}, "cannot be used to opt out"),
	("missing method", "opt_out", {"channel": "Call", "method": None}, "Method is required"),
	("missing date", "opt_out", {"channel": "Call", "date": None}, "Date is required"),
	("malformed date", "opt_out", {"channel": "Call", "date": "31/12/2025"}, "not a valid date"),
	("missing time", "opt_out", {"channel": "Call", "time": ""}, "Time is required"),
	("malformed time", "opt_out", {"channel": "Call", "time": "7pm"}, "not a valid time"),
	("future", "opt_out", {"channel": "Call", "minutes_ago": -120}, "in the future"),
	("far past", "opt_out", {"channel": "Call", "date": "2001-01-01"}, "more than 10 years"),
	("out of order", "opt_out", {"channel": "Call", "minutes_ago": 24 * 60}, "earlier than the latest"),
	("wrong channel", "opt_out", {"channel": "Email"}, "not a channel of a Phone"),
	("bad channel", "opt_out", {"channel": "Fax"}, "not a channel of a Phone"),
	("missing channel", "opt_out", {"channel": None}, "Channel is required"),
	(
		"wrong doctype",
		"opt_out",
		{"doctype": "User", "channel": "Call"},
		"only be recorded on a Phone or an Email",
	),
	("missing name", "opt_out", {"name": None}, "Name is required"),
]


@pytest.mark.parametrize("label, action, overrides, message", REFUSALS, ids=[r[0] for r in REFUSALS])
def test_refusals_change_nothing(label, action, overrides, message):
	make_method("oc-disabled", enabled=0)
	make_method("oc-in-only", for_opt_out=0)
	name = _opted_in_phone()
	before = snapshot("Phone", name)
	overrides = dict(overrides)
	arguments = {
		"doctype": "Phone",
		"name": name,
		"method": "Verbal",
		**when(overrides.pop("minutes_ago", 1)),
	}
	arguments.update(overrides)
	as_user()
	with pytest.raises(frappe.ValidationError, match=message):
		getattr(api, action)(**arguments)
	frappe.set_user("Administrator")
	assert snapshot("Phone", name) == before


def test_text_action_on_a_home_phone_is_refused():
	phone = make_phone(phone_type="Home")
	before = snapshot("Phone", phone.name)
	as_user()
	with pytest.raises(frappe.ValidationError, match="only be given on a Cell phone"):
		api.opt_in(doctype="Phone", name=phone.name, channel="Text", method="Verbal", **when())
	with pytest.raises(frappe.ValidationError, match="only be given on a Cell phone"):
		api.text_reauth(name=phone.name, method="Verbal", **when())
	assert snapshot("Phone", phone.name) == before


def test_call_or_text_on_an_email_is_refused():
	email = make_email()
	before = snapshot("Email", email.name)
	as_user()
	for channel in ("Call", "Text"):
		with pytest.raises(frappe.ValidationError, match="not a channel of a Email"):
			api.opt_in(doctype="Email", name=email.name, channel=channel, method="Verbal", **when())
	assert snapshot("Email", email.name) == before


def test_missing_record_is_not_found():
	as_user()
	with pytest.raises(frappe.DoesNotExistError):
		api.opt_in(doctype="Phone", name="PHN-NOPE", channel="Call", method="Verbal", **when())


def test_text_reauth_after_an_opt_out_is_refused_and_opt_in_works():
	phone = make_phone()
	as_user()
	api.opt_in(doctype="Phone", name=phone.name, channel="Text", method="Verbal", **when(30))
	api.opt_out(doctype="Phone", name=phone.name, channel="Text", method="Text Reply", **when(20))
	with pytest.raises(frappe.ValidationError, match="not reauthorised"):
		api.text_reauth(name=phone.name, method="Verbal", **when(10))
	doc = api.opt_in(doctype="Phone", name=phone.name, channel="Text", method="Verbal", **when(10))
	assert doc["text_opt"] == 1


def test_text_reauth_keeps_active_and_do_not_call():
	phone = make_phone()
	as_user()
	api.opt_out(doctype="Phone", name=phone.name, channel="Call", method="Verbal", **when(30))
	doc = api.text_reauth(name=phone.name, method="Verbal", **when(10))
	assert (doc["text_opt"], doc["active"], doc["do_not_call"]) == (1, 0, 1)


def test_same_minute_events_are_kept_in_order():
	phone = make_phone()
	as_user()
	at = when(5)
	api.opt_in(doctype="Phone", name=phone.name, channel="Call", method="Verbal", **at)
	doc = api.opt_out(doctype="Phone", name=phone.name, channel="Call", method="Verbal", **at)
	assert [r["action"] for r in doc["opt_logs"]] == ["Opt In", "Opt Out"]


def test_note_is_logged():
	phone = make_phone()
	as_user()
	doc = api.opt_in(
		doctype="Phone",
		name=phone.name,
		channel="Call",
		method="Verbal",
		note="Asked on inbound call",
		**when(),
	)
	assert doc["opt_logs"][-1]["note"] == "Asked on inbound call"


def test_non_string_arguments_are_refused_with_a_type_error():
	phone = make_phone()
	as_user()
	with pytest.raises(frappe.FrappeTypeError):
		api.opt_in(doctype="Phone", name=phone.name, channel=["Call"], method="Verbal", **when())
	assert frappe.db.get_value("Phone", phone.name, "call_opt") == 0


def test_date_objects_from_python_callers():
	from opt_consent.ledger.consent import ActionRequest, record_action

	phone = make_phone()
	at = add_to_date(now_datetime(), minutes=-3)
	doc = record_action(
		ActionRequest("Phone", phone.name, "Opt In", "Call", at.date(), dt.time(at.hour, at.minute), "Verbal")
	)
	assert doc.call_opt == 1 and doc.opt_logs[-1].source == "API"


def _phone_with_rows(count: int):
	"""A phone whose log has ``count`` alternating Call opt in / opt out rows, recorded through the actions."""
	phone = make_phone()
	start = now_datetime() - dt.timedelta(minutes=count + 5)
	for i in range(count):
		at = start + dt.timedelta(minutes=i)
		(api.opt_in if i % 2 == 0 else api.opt_out)(
			doctype="Phone",
			name=phone.name,
			channel="Call",
			method="Verbal",
			date=at.date().isoformat(),
			time=at.strftime("%H:%M:%S"),
		)
	return phone.name


def test_a_long_log_loads_only_its_newest_rows_and_pages_the_rest():
	from opt_consent.ledger.log import LOG_WINDOW

	name = _phone_with_rows(LOG_WINDOW + 7)
	doc = frappe.get_doc("Phone", name)
	assert len(doc.opt_logs) == LOG_WINDOW
	assert [r.idx for r in doc.opt_logs] == list(range(8, LOG_WINDOW + 8))
	# an action appends after the newest row and keeps every older row
	doc = api.opt_out(doctype="Phone", name=name, channel="Call", method="Verbal", **when(1))
	assert doc["opt_logs"][-1]["idx"] == LOG_WINDOW + 8
	assert frappe.db.count("Opt Log", {"parent": name}) == LOG_WINDOW + 8
	# a form save (Do Not Call by hand) keeps the rows it did not carry
	doc = frappe.get_doc("Phone", name)
	doc.do_not_call = 1
	doc.save()
	assert frappe.db.count("Opt Log", {"parent": name}) == LOG_WINDOW + 8
	page = api.get_log(doctype="Phone", name=name, start=LOG_WINDOW, page_length=50)
	assert page["total"] == LOG_WINDOW + 8
	assert [r["idx"] for r in page["rows"]] == [8, 7, 6, 5, 4, 3, 2, 1]


def test_a_long_log_still_refuses_back_dating_against_rows_outside_the_window():
	from opt_consent.ledger.log import LOG_WINDOW

	phone = make_phone()
	api.opt_in(doctype="Phone", name=phone.name, channel="Text", method="Verbal", **when(LOG_WINDOW + 30))
	start = now_datetime() - dt.timedelta(minutes=LOG_WINDOW + 20)
	for i in range(LOG_WINDOW):  # the loaded (newest) rows are all calls
		at = start + dt.timedelta(minutes=i)
		(api.opt_in if i % 2 == 0 else api.opt_out)(
			doctype="Phone", name=phone.name, channel="Call", method="Verbal",
			date=at.date().isoformat(), time=at.strftime("%H:%M:%S"),
		)  # fmt: skip
	assert "Text" not in [r.channel for r in frappe.get_doc("Phone", phone.name).opt_logs]
	with pytest.raises(frappe.ValidationError, match="earlier than the latest"):
		api.opt_out(
			doctype="Phone", name=phone.name, channel="Text", method="Verbal", **when(LOG_WINDOW + 40)
		)
	doc = api.opt_out(doctype="Phone", name=phone.name, channel="Text", method="Verbal", **when(1))
	assert doc["text_opt"] == 0


def test_get_log_needs_read_permission():
	name = make_phone().name
	frappe.set_user(user("outsider"))
	with pytest.raises(frappe.PermissionError):
		api.get_log(doctype="Phone", name=name)
	frappe.set_user(user("auditor"))
	assert api.get_log(doctype="Phone", name=name) == {"total": 0, "rows": []}
