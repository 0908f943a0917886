"""The seed's scenarios through the web server, as an API client would drive them."""

import frappe
import pytest

from tests.integration.factories import random_email, random_number, user, when
from tests.integration.http import METHOD, Client


@pytest.fixture
def client(server):
	return Client(server, "user")


def stored(doctype: str, name: str) -> dict:
	frappe.db.rollback()  # see what the server committed
	return frappe.parse_json(frappe.as_json(frappe.get_doc(doctype, name).as_dict()))


def test_phone_created_through_rest_walks_every_seed_scenario(client):
	phone = client.create("Phone", phone=random_number(), phone_type="Cell")
	assert (phone["active"], phone["call_opt"], phone["text_opt"], phone["opt_logs"]) == (1, 0, 0, [])
	name = phone["name"]
	steps = [
		("opt_in", {"doctype": "Phone", "channel": "Call", "method": "Verbal", **when(50)}),
		("opt_in", {"doctype": "Phone", "channel": "Text", "method": "Written", **when(40)}),
		("text_reauth", {"method": "Recorded Call", **when(30)}),
		("opt_out", {"doctype": "Phone", "channel": "Call", "method": "Verbal", **when(20)}),
		("opt_out", {"doctype": "Phone", "channel": "Text", "method": "Text Reply", **when(10)}),
	]
	expected = [
		{"call_opt": 1, "call_opt_in_method": "Verbal", "active": 1, "do_not_call": 0},
		{"text_opt": 1, "text_opt_in_method": "Written", "active": 1, "do_not_call": 0},
		{"text_opt": 1, "text_opt_in_method": "Recorded Call"},
		{"call_opt": 0, "call_opt_out_method": "Verbal", "active": 0, "do_not_call": 1},
		{"text_opt": 0, "text_opt_out_method": "Text Reply", "active": 0, "do_not_call": 1},
	]
	for (action, data), fields in zip(steps, expected, strict=True):
		response = client.action(action, name=name, **data)
		assert response.status_code == 200, response.text
		doc = response.json()["message"]
		assert {key: doc[key] for key in fields} == fields
		assert doc["opt_logs"][-1]["source"] == "API"
		assert doc["opt_logs"][-1]["recorded_by"] == user("user")
	doc = stored("Phone", name)
	assert [(r["channel"], r["action"], r["method"]) for r in doc["opt_logs"]] == [
		("Call", "Opt In", "Verbal"),
		("Text", "Opt In", "Written"),
		("Text", "Text Reauth", "Recorded Call"),
		("Call", "Opt Out", "Verbal"),
		("Text", "Opt Out", "Text Reply"),
	]


def test_email_created_through_rest_opts_in_and_out(client):
	email = client.create("Email", email_id=random_email())
	name = email["name"]
	response = client.action(
		"opt_in", doctype="Email", name=name, channel="Email", method="Web Form", **when(20)
	)
	assert response.status_code == 200, response.text
	assert response.json()["message"]["email_opt"] == 1
	response = client.action(
		"opt_out", doctype="Email", name=name, channel="Email", method="Email Reply", **when(10)
	)
	doc = response.json()["message"]
	assert (doc["email_opt"], doc["active"], doc["do_not_email"]) == (0, 0, 1)


def test_http_statuses(server, client):
	phone = client.create("Phone", phone=random_number())
	name = phone["name"]
	ok = client.action("opt_in", doctype="Phone", name=name, channel="Call", method="Verbal", **when(30))
	assert ok.status_code == 200
	refused = client.action("opt_in", doctype="Phone", name=name, channel="Call", method="Verbal", **when(20))
	assert refused.status_code == 417
	assert "already opted in" in refused.text
	missing = client.action("opt_in", doctype="Phone", name=name)
	assert missing.status_code == 417 and "Channel is required" in missing.text
	not_found = client.action(
		"opt_out", doctype="Phone", name="PHN-NOPE", channel="Call", method="Verbal", **when()
	)
	assert not_found.status_code == 404
	auditor = Client(server, "auditor").action(
		"opt_out", doctype="Phone", name=name, channel="Call", method="Verbal", **when()
	)
	assert auditor.status_code == 403
	guest = Client(server, None).action(
		"opt_out", doctype="Phone", name=name, channel="Call", method="Verbal", **when()
	)
	assert guest.status_code == 403
	by_get = client.get(
		METHOD + "opt_out", doctype="Phone", name=name, channel="Call", method="Verbal", **when()
	)
	assert by_get.status_code in (403, 405)
	assert [r["action"] for r in stored("Phone", name)["opt_logs"]] == ["Opt In"]


def test_rest_put_cannot_touch_opt_fields_or_log_but_can_edit_do_not_call(client):
	phone = client.create("Phone", phone=random_number())
	name = phone["name"]
	client.action("opt_in", doctype="Phone", name=name, channel="Call", method="Verbal", **when(30))
	doc = stored("Phone", name)
	for change in (
		{"call_opt": 0},
		{"call_opt_in_method": "Written"},
		{"opt_logs": []},
		{"opt_logs": [{**doc["opt_logs"][0], "method": "Written"}]},
	):
		response = client.put(f"/api/resource/Phone/{name}", **change)
		assert response.status_code == 417, (change, response.text)
	assert stored("Phone", name)["opt_logs"] == doc["opt_logs"]
	response = client.put(f"/api/resource/Phone/{name}", do_not_call=1)
	assert response.status_code == 200, response.text
	assert stored("Phone", name)["do_not_call"] == 1


def test_rest_on_opt_log_directly_is_refused(server, client):
	phone = client.create("Phone", phone=random_number())
	name = phone["name"]
	client.action("opt_in", doctype="Phone", name=name, channel="Call", method="Verbal", **when(30))
	row = stored("Phone", name)["opt_logs"][0]
	manager = Client(server, "manager")
	for response in (
		manager.put(f"/api/resource/Opt Log/{row['name']}", method="Written"),
		manager.delete(f"/api/resource/Opt Log/{row['name']}"),
		manager.post(
			"/api/resource/Opt Log",
			parent=name,
			parenttype="Phone",
			parentfield="opt_logs",
			channel="Call",
			action="Opt Out",
			event_date="2026-01-01",
			event_time="10:00:00",
		),
	):
		assert 400 <= response.status_code < 500, response.text
	assert stored("Phone", name)["opt_logs"] == [row]
