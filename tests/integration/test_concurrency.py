"""Many parallel HTTP clients against the running web server: actions on one record are serialised."""

import json
import threading
from concurrent.futures import ThreadPoolExecutor

import frappe
import pytest
import requests
from frappe.utils import add_to_date, now_datetime

from opt_consent.ledger.integrity import verify_record
from opt_consent.ledger.rules import engine
from opt_consent.ledger.settings import get_policy
from opt_consent.model import channels
from tests.integration.factories import API_KEYS, random_number
from tests.integration.http import METHOD, Client, message_of

CLIENTS = 50
# The refusals a race may produce: each a clear consent message, never a server error.
EXPECTED_REFUSALS = (
	"is already opted in",
	"is already opted out",
	"is earlier than the latest",
	"A revocation is not reauthorised",
	# the snapshot guard (ledger.consent.guard_snapshot): a racing action committed between this request's
	# first read and its lock; refused, nothing written, "Try again" (seen under load from another process)
	"was changed by another action while this one waited",
)
# Mixed actions on one Cell phone, cycled through by the clients.
ACTIONS = (
	("opt_in", {"doctype": "Phone", "channel": "Call"}),
	("opt_in", {"doctype": "Phone", "channel": "Text"}),
	("text_reauth", {}),
	("opt_out", {"doctype": "Phone", "channel": "Text"}),
	("opt_out", {"doctype": "Phone", "channel": "Call"}),
	("text_reauth", {}),
)


def fresh(doctype: str, name: str) -> dict:
	frappe.db.rollback()  # see what the server committed
	return frappe.get_doc(doctype, name).as_dict()


def all_rows(name: str) -> list:
	frappe.db.rollback()
	return frappe.get_all(
		"Opt Log", filters={"parent": name, "parenttype": "Phone"}, fields=["*"], order_by="idx asc"
	)


def fire(url: str, requests_to_send: list[tuple[str, dict]]) -> list:
	"""Send every request from its own client thread, all released at once."""
	barrier = threading.Barrier(len(requests_to_send))

	def send(item):
		method, data = item
		session = requests.Session()
		session.headers["Authorization"] = API_KEYS["user"]
		barrier.wait()
		return session.post(url + METHOD + method, json=data, timeout=120)

	with ThreadPoolExecutor(max_workers=len(requests_to_send)) as pool:
		return list(pool.map(send, requests_to_send))


@pytest.mark.parametrize("times", ["increasing", "same"])
def test_fifty_concurrent_actions_on_one_phone(server, times, record_property):
	phone = Client(server, "user").create("Phone", phone=random_number(), phone_type="Cell")
	name = phone["name"]
	start = add_to_date(now_datetime(), minutes=-120)
	batch = []
	for i in range(CLIENTS):
		at = add_to_date(start, seconds=30 * i) if times == "increasing" else start
		method, data = ACTIONS[i % len(ACTIONS)]
		batch.append(
			(
				method,
				{
					**data,
					"name": name,
					"method": "Verbal",
					"date": at.date().isoformat(),
					"time": at.strftime("%H:%M:%S"),
					"note": f"client {i}",
				},
			)
		)
	responses = fire(server, batch)

	statuses = [r.status_code for r in responses]
	accepted = [i for i, r in enumerate(responses) if r.status_code == 200]
	refused = [r for r in responses if r.status_code != 200]
	assert accepted, statuses
	for response in refused:
		text = message_of(response)
		assert response.status_code == 417, (response.status_code, response.text[:500])
		assert any(expected in text for expected in EXPECTED_REFUSALS), text
		assert "Deadlock" not in response.text and "Lock wait" not in response.text
	rows = all_rows(name)
	assert len(rows) == len(accepted)
	# every accepted request is in the log, once, under its own note
	assert sorted(row.note for row in rows) == sorted(f"client {i}" for i in accepted)
	doc = fresh("Phone", name)
	replayed = engine.replay("Phone", rows, get_policy())
	for field in (*channels.owned_fields("Phone"), "active", "do_not_call"):
		assert str(doc.get(field) or "") == str(replayed.get(field) or ""), field
	assert verify_record("Phone", name)["ok"]
	record_property("concurrent_actions", CLIENTS)
	record_property("concurrent_accepted", len(accepted))
	record_property("concurrent_refused_clearly", len(refused))
	record_property("rows_lost", len(accepted) - len(rows))


def _waiting_for_lock(name: str) -> list[int]:
	"""Ids of other connections whose running query selects ``name`` FOR UPDATE (waiting on our lock)."""
	own = frappe.db.sql("select connection_id()")[0][0]
	return [
		row[0]
		for row in frappe.db.sql("show full processlist")
		if row[0] != own and row[7] and "for update" in row[7].lower() and name in row[7]
	]


def test_actions_on_different_records_do_not_block_each_other(server):
	client = Client(server, "user")
	first = client.create("Phone", phone=random_number())["name"]
	second = client.create("Phone", phone=random_number())["name"]
	at = add_to_date(now_datetime(), minutes=-5)
	data = {"doctype": "Phone", "channel": "Call", "method": "Verbal", "date": at.date().isoformat()}
	data["time"] = at.strftime("%H:%M:%S")
	frappe.db.rollback()
	frappe.get_doc("Phone", first, for_update=True)  # hold the first record's row lock
	with ThreadPoolExecutor(max_workers=1) as pool:
		waiting = pool.submit(client.action, "opt_in", name=first, **data)
		# the other record is not held up by the lock on the first
		other = client.action("opt_in", name=second, **data)
		assert other.status_code == 200, other.text
		# the action on the first record waits for its lock, in the database, not in a server error
		for _attempt in range(600):
			if _waiting_for_lock(first) or waiting.done():
				break
			threading.Event().wait(0.05)
		assert _waiting_for_lock(first) and not waiting.done()
		frappe.db.rollback()  # release the lock
		assert waiting.result().status_code == 200
	assert [row.action for row in all_rows(first)] == ["Opt In"]
	assert [row.action for row in all_rows(second)] == ["Opt In"]


def test_a_stale_form_cannot_overwrite_a_newer_action(server, record_property):
	client = Client(server, "user")
	name = client.create("Phone", phone=random_number())["name"]
	stale = client.get(f"/api/resource/Phone/{name}").json()["data"]  # the form is opened
	at = add_to_date(now_datetime(), minutes=-5)
	response = client.action(
		"opt_in", doctype="Phone", name=name, channel="Call", method="Verbal",
		date=at.date().isoformat(), time=at.strftime("%H:%M:%S"),
	)  # fmt: skip
	assert response.status_code == 200
	after_action = fresh("Phone", name)
	stale.update(do_not_call=1, active=0)  # ... and saved later with an edit of its own
	saved = client.post("/api/method/frappe.desk.form.save.savedocs", doc=json.dumps(stale), action="Save")
	assert saved.status_code == 417, saved.text
	assert "TimestampMismatchError" in saved.text or "modified after you have opened it" in saved.text
	doc = fresh("Phone", name)
	assert (doc.call_opt, doc.do_not_call, doc.modified) == (1, 0, after_action.modified)
	assert len(doc.opt_logs) == 1
	record_property("tamper_refused", 1)
