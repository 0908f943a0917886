"""Faults injected into an action: a failure at any step, or a lost connection, writes nothing."""

import threading
from concurrent.futures import ThreadPoolExecutor
from unittest import mock

import frappe
import pytest
from frappe.model.base_document import BaseDocument
from frappe.model.document import Document

from opt_consent.api import consent as api
from opt_consent.ledger.integrity import verify_record
from tests.integration.factories import COMMITTED, make_phone, random_number, snapshot, when
from tests.integration.http import Client


class Injected(Exception):
	"""The fault a test injects."""


def opt_in_call(name: str, minutes_ago: int = 5):
	return api.opt_in(doctype="Phone", name=name, channel="Call", method="Verbal", **when(minutes_ago))


def phone_with_one_action():
	phone = make_phone()
	opt_in_call(phone.name, 30)
	api.opt_out(doctype="Phone", name=phone.name, channel="Call", method="Verbal", **when(20))
	return phone.name


original_append = BaseDocument.append
original_update_children = Document.update_children


def fail_before_log_row(self, key, value=None, *args, **kwargs):
	"""Fields are already updated (``doc.update`` ran first); fail as the log row is appended."""
	if key == "opt_logs":
		raise Injected("between the field update and the log insert")
	return original_append(self, key, value, *args, **kwargs)


def fail_after_log_insert(self, *args, **kwargs):
	"""The record's row is updated and the log row inserted in the database; fail before the save ends."""
	original_update_children(self, *args, **kwargs)
	if self.doctype == "Phone":
		assert frappe.db.count("Opt Log", {"parent": self.name}) == len(self.opt_logs)
		raise Injected("between the log insert and the save")


def lose_connection_after_log_insert(self, *args, **kwargs):
	original_update_children(self, *args, **kwargs)
	if self.doctype == "Phone":
		frappe.db.close()
		raise frappe.db.OperationalError(2013, "Lost connection to MySQL server during query")


@pytest.mark.parametrize(
	"target, patch",
	[
		(BaseDocument, {"append": fail_before_log_row}),
		(Document, {"update_children": fail_after_log_insert}),
	],
	ids=["between field update and log insert", "between log insert and save"],
)
def test_a_failure_inside_an_action_writes_nothing(target, patch, record_property):
	name = phone_with_one_action()
	before = snapshot("Phone", name)
	with mock.patch.multiple(target, **patch), pytest.raises(Injected):
		opt_in_call(name)
	# same transaction, no rollback by the caller: the action's savepoint already undid its writes
	assert snapshot("Phone", name) == before
	assert verify_record("Phone", name)["ok"]
	# and the record takes the next action as if nothing happened
	assert opt_in_call(name)["call_opt"] == 1
	record_property("faults_survived", 1)


@pytest.fixture
def committed_phone():
	phone = make_phone()
	opt_in_call(phone.name, 30)
	COMMITTED.append(("Phone", phone.name))
	frappe.db.commit()
	return phone.name


def test_a_connection_lost_mid_action_leaves_the_record_as_it_was(committed_phone, record_property):
	name = committed_phone
	before = snapshot("Phone", name)
	with mock.patch.object(Document, "update_children", lose_connection_after_log_insert):
		with pytest.raises(frappe.db.OperationalError):
			api.opt_out(doctype="Phone", name=name, channel="Call", method="Verbal", **when())
	frappe.db.connect()  # a new connection sees only what was committed
	assert snapshot("Phone", name) == before
	assert verify_record("Phone", name)["ok"]
	record_property("faults_survived", 1)


def _connection_writing_log_of(keys: list[str]) -> int | None:
	"""The other connection whose running query writes Opt Log rows of the record (``keys``: its names)."""
	own = frappe.db.sql("select connection_id()")[0][0]
	for row in frappe.db.sql("show full processlist"):
		query = (row[7] or "").lower()
		writes = query.startswith(("insert into `tabopt log`", "update `tabopt log`"))
		if row[0] != own and writes and any(key.lower() in query for key in keys):
			return row[0]
	return None


def test_a_server_connection_killed_while_it_holds_the_row_lock(server, record_property):
	"""Over HTTP: the server has locked and updated the record, and is inserting the log row, when its
	database connection is killed. The record stays as it was and the server goes on serving."""
	client = Client(server, "user")
	name = client.create("Phone", phone=random_number())["name"]
	ok = client.action("opt_in", doctype="Phone", name=name, channel="Call", method="Verbal", **when(30))
	assert ok.status_code == 200, ok.text
	frappe.db.rollback()
	before = snapshot("Phone", name)
	log = frappe.qb.DocType("Opt Log")
	# hold this record's log rows (and the gap after them): the server's save, which rewrites and
	# appends them after updating the record's own row, waits on it while holding the record's lock
	held = frappe.qb.from_(log).select(log.name).where(log.parent == name).for_update().run(pluck=True)
	keys = [name, *held]
	with ThreadPoolExecutor(max_workers=1) as pool:
		pending = pool.submit(
			client.action, "opt_out", doctype="Phone", name=name, channel="Call", method="Verbal", **when(10)
		)
		victim = None
		for _attempt in range(600):
			victim = _connection_writing_log_of(keys)
			if victim or pending.done():
				break
			threading.Event().wait(0.05)
		assert victim, "the server never reached the log write"
		frappe.db.sql(f"kill {int(victim)}")
		frappe.db.rollback()
		response = pending.result()
	assert response.status_code >= 400  # the action failed ...
	assert snapshot("Phone", name) == before  # ... and left nothing behind
	assert verify_record("Phone", name)["ok"]
	again = client.action("opt_out", doctype="Phone", name=name, channel="Call", method="Verbal", **when(5))
	assert again.status_code == 200, again.text
	frappe.db.rollback()
	assert verify_record("Phone", name)["ok"]
	record_property("faults_survived", 1)
