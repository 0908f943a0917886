"""The list views' bulk opt out (``api.bulk_opt_out``): each record on its own, refusals reported, not undone."""

import json

import frappe
import pytest
from frappe.utils import add_to_date, now_datetime

from opt_consent.api import bulk
from opt_consent.api import consent as api
from opt_consent.ledger.consent import ActionRequest, record_action
from tests.integration.factories import API_KEYS, COMMITTED, make_email, make_phone, snapshot, user, when


def opted_in_phones(count: int, channel: str = "Call", phone_type: str = "Cell") -> list[str]:
	names = []
	for _ in range(count):
		phone = make_phone(phone_type=phone_type)
		record_action(
			ActionRequest("Phone", phone.name, "Opt In", channel, **when(30), method="Verbal"),
			check_permission=False,
		)
		names.append(phone.name)
	return names


def test_bulk_opt_out_opts_every_selected_phone_out_and_logs_each():
	names = opted_in_phones(3)
	frappe.set_user(user("user"))
	result = api.bulk_opt_out(doctype="Phone", names=names, channel="Call", method="Written", **when(5))
	assert result == {"succeeded": 3, "refused": []}
	for name in names:
		doc = frappe.get_doc("Phone", name)
		assert (doc.call_opt, doc.active, doc.do_not_call, doc.call_opt_out_method) == (0, 0, 1, "Written")
		assert [(r.channel, r.action, r.method, r.recorded_by) for r in doc.opt_logs][-1] == (
			"Call",
			"Opt Out",
			"Written",
			user("user"),
		)


def test_one_refusal_does_not_undo_the_others_and_changes_nothing_itself():
	cells = opted_in_phones(2, channel="Text")
	home = make_phone(phone_type="Home").name
	api.opt_out(doctype="Phone", name=home, channel="Text", method="Verbal", **when(30))
	missing = "PHN-does-not-exist"
	before = snapshot("Phone", home)
	frappe.set_user(user("user"))

	result = api.bulk_opt_out(
		doctype="Phone",
		names=json.dumps([cells[0], home, missing, cells[1]]),
		channel="Text",
		method="Verbal",
		**when(5),
	)

	assert result["succeeded"] == 2
	refused = {row["name"]: row["reason"] for row in result["refused"]}
	assert set(refused) == {home, missing}
	assert "already opted out" in refused[home]
	assert "not found" in refused[missing]
	assert [frappe.db.get_value("Phone", name, "text_opt") for name in cells] == [0, 0]
	assert snapshot("Phone", home) == before
	# The refusals are in the result, not also queued as pop-up messages.
	assert not frappe.local.message_log


def test_a_refusal_for_every_record_opts_nobody_out():
	names = opted_in_phones(2)
	before = [snapshot("Phone", name) for name in names]
	frappe.set_user(user("user"))
	future = add_to_date(now_datetime(), days=1)
	result = api.bulk_opt_out(
		doctype="Phone",
		names=names,
		channel="Call",
		date=future.date().isoformat(),
		time="10:00:00",
		method="Verbal",
	)
	assert result["succeeded"] == 0
	assert [row["name"] for row in result["refused"]] == names
	assert all("in the future" in row["reason"] for row in result["refused"])
	assert [snapshot("Phone", name) for name in names] == before


def test_emails_are_opted_out_of_email_and_a_wrong_channel_is_refused_per_record():
	emails = [make_email().name for _ in range(2)]
	for name in emails:
		record_action(
			ActionRequest("Email", name, "Opt In", "Email", **when(30), method="Web Form"),
			check_permission=False,
		)
	frappe.set_user(user("user"))
	wrong = api.bulk_opt_out(doctype="Email", names=emails, channel="Call", method="Verbal", **when(5))
	assert wrong["succeeded"] == 0 and len(wrong["refused"]) == 2
	assert "not a channel of a Email record" in wrong["refused"][0]["reason"]
	result = api.bulk_opt_out(doctype="Email", names=emails, channel="Email", method="Email Reply", **when(5))
	assert result == {"succeeded": 2, "refused": []}
	for name in emails:
		assert frappe.db.get_value("Email", name, ["email_opt", "active", "do_not_email"]) == (0, 0, 1)


@pytest.mark.parametrize("key", ["auditor", "outsider"])
def test_users_who_cannot_write_are_refused_before_anything_changes(key):
	names = opted_in_phones(1)
	before = snapshot("Phone", names[0])
	frappe.set_user(user(key))
	with pytest.raises(frappe.PermissionError):
		api.bulk_opt_out(doctype="Phone", names=names, channel="Call", method="Verbal", **when(5))
	frappe.set_user("Administrator")
	assert snapshot("Phone", names[0]) == before


@pytest.mark.parametrize(
	"names, message",
	[
		(None, "list of record names"),
		("not json", "list of record names"),
		(json.dumps({"a": 1}), "list of record names"),
		([1, 2], "list of record names"),
		([], "at least one record"),
		(["PHN-1"] * 1 + [f"PHN-{i}" for i in range(2, bulk.MAX_RECORDS + 2)], "at most"),
	],
)
def test_bad_names_are_refused_with_a_clear_message(names, message):
	frappe.set_user(user("user"))
	with pytest.raises(frappe.ValidationError, match=message):
		api.bulk_opt_out(doctype="Phone", names=names, channel="Call", method="Verbal", **when(5))


def test_bulk_on_another_doctype_is_refused():
	frappe.set_user(user("user"))
	with pytest.raises(frappe.ValidationError, match="Phone or an Email"):
		api.bulk_opt_out(doctype="User", names=["Administrator"], channel="Call", method="Verbal", **when(5))


def test_duplicate_names_are_recorded_once():
	names = opted_in_phones(1)
	frappe.set_user(user("user"))
	result = api.bulk_opt_out(doctype="Phone", names=names * 3, channel="Call", method="Verbal", **when(5))
	assert result == {"succeeded": 1, "refused": []}
	assert len(frappe.get_doc("Phone", names[0]).opt_logs) == 2


def test_bulk_opt_out_through_the_web_server_is_post_only_and_commits_each_success(server):
	import requests

	names = opted_in_phones(2)
	home = make_phone(phone_type="Home").name
	api.opt_out(doctype="Phone", name=home, channel="Text", method="Verbal", **when(30))
	COMMITTED.extend(("Phone", name) for name in [*names, home])
	frappe.db.commit()  # the web server must see them; removed at the end of the session
	headers = {"Authorization": API_KEYS["user"]}
	url = f"{server}/api/method/opt_consent.api.bulk_opt_out"
	data = {"doctype": "Phone", "names": json.dumps([names[0], home, names[1]]), "channel": "Text"}
	data.update(method="Verbal", **when(5))

	assert requests.get(url, params=data, headers=headers, timeout=30).status_code in (403, 405)
	response = requests.post(url, json=data, headers=headers, timeout=30)
	assert response.status_code == 200, response.text
	message = response.json()["message"]
	assert message["succeeded"] == 2
	assert [row["name"] for row in message["refused"]] == [home]
	frappe.db.rollback()  # see what the server committed
	for name in names:
		last = frappe.get_doc("Phone", name).opt_logs[-1]
		assert (last.channel, last.action, last.source) == ("Text", "Opt Out", "API")
	assert len(frappe.get_doc("Phone", home).opt_logs) == 1
	assert "_server_messages" not in response.json()
