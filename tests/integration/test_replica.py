"""Read-only endpoints on Frappe's read-replica routing (``@frappe.read_only()``, ``read_from_replica``).

This machine's MariaDB runs without a binary log, and it must not be restarted, so no real replica can
follow it. The replica is therefore the primary server itself, reached over TCP as Frappe reaches a replica
(``replica_host`` 127.0.0.1, ``replica_db_port``), on a second connection:

- in the test process: during ``can_contact``, ``scrub``, ``get_log`` and a desk report run, ``frappe.db``
  is the replica connection (another MariaDB connection id), and the primary is back afterwards;
- through the web server: with the replica pointing at a port where nothing listens, those endpoints fail
  (they do connect to the replica) while an endpoint without the decorator answers; pointed at the server,
  they answer as without a replica.

The site's config gets ``read_from_replica`` only for the duration of these tests (the rest of the suites
read their own uncommitted data in-process, which a second connection cannot see).
"""

import json
import os
import socket
import subprocess
import sys
import time

import frappe
import pytest
import requests

from opt_consent.api import consent as api
from opt_consent.api import control
from opt_consent.contact_control import adapter as contact_control
from tests.integration.bench import SITE, SITES
from tests.integration.factories import COMMITTED, make_phone, random_number
from tests.integration.http import Client

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PRIMARY_PORT = 3306


def free_port() -> int:
	with socket.socket() as s:
		s.bind(("127.0.0.1", 0))
		return s.getsockname()[1]


def connection_id() -> int:
	return frappe.db.sql("select connection_id()")[0][0]


@pytest.fixture
def opted_out_phone():
	"""A committed Phone whose calls were opted out (the replica connection sees only committed rows)."""
	from opt_consent.ledger.consent import ActionRequest, record_action

	phone = make_phone(random_number())
	record_action(
		ActionRequest(
			"Phone",
			phone.name,
			"Opt In",
			"Call",
			frappe.utils.add_days(frappe.utils.nowdate(), -3),
			"10:00:00",
			"Verbal",
			source="API",
		)
	)
	record_action(
		ActionRequest(
			"Phone",
			phone.name,
			"Opt Out",
			"Call",
			frappe.utils.add_days(frappe.utils.nowdate(), -2),
			"10:00:00",
			"Verbal",
			source="API",
		)
	)
	COMMITTED.append(("Phone", phone.name))
	frappe.db.commit()
	return frappe.get_doc("Phone", phone.name)


@pytest.fixture
def replica_conf(monkeypatch):
	"""``read_from_replica`` for this process, the replica being the primary server over TCP."""
	for key, value in {
		"read_from_replica": 1,
		"replica_host": "127.0.0.1",
		"replica_db_port": PRIMARY_PORT,
	}.items():
		monkeypatch.setitem(frappe.local.conf, key, value)
	yield
	new_request()


def new_request() -> None:
	"""What a new web request starts from: no replica connection yet (Frappe swaps once per request)."""
	replica = getattr(frappe.local, "replica_db", None)
	if replica is not None and replica is not frappe.local.db:
		replica.close()
	for attr in ("replica_db", "primary_db"):
		if hasattr(frappe.local, attr):
			delattr(frappe.local, attr)


def spy(monkeypatch, owner, attribute: str, seen: list) -> None:
	"""Record which connection ``owner.attribute`` runs on when the endpoint calls it."""
	original = getattr(owner, attribute)

	def recording(*args, **kwargs):
		seen.append(
			{
				"on_replica": getattr(frappe.local, "replica_db", None) is frappe.local.db,
				"connection": connection_id(),
			}
		)
		return original(*args, **kwargs)

	monkeypatch.setattr(owner, attribute, recording)


ENDPOINTS = {
	"can_contact": (
		api,
		"contact_control_check",
		lambda phone: api.can_contact(channel="Call", address=phone.phone_e164),
	),
	"scrub": (
		contact_control,
		"scrub",
		lambda phone: control.scrub(channel="Call", addresses=[phone.phone_e164]),
	),
	"get_log": (api, "log_rows", lambda phone: api.get_log(doctype="Phone", name=phone.name)),
}


@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
def test_a_read_only_endpoint_reads_through_the_replica_connection(
	endpoint, opted_out_phone, replica_conf, monkeypatch
):
	owner, attribute, call = ENDPOINTS[endpoint]
	primary = frappe.local.db
	primary_id = connection_id()
	monkeypatch.setitem(frappe.local.conf, "read_from_replica", 0)
	without_replica = call(opted_out_phone)
	monkeypatch.setitem(frappe.local.conf, "read_from_replica", 1)
	seen: list[dict] = []
	spy(monkeypatch, owner, attribute, seen)
	answer = call(opted_out_phone)
	assert seen and all(s["on_replica"] for s in seen), seen
	assert all(s["connection"] != primary_id for s in seen)  # another connection than the primary
	assert frappe.local.db is primary and connection_id() == primary_id  # the primary is back after the call
	assert answer == without_replica  # the replica answers as the primary does
	if endpoint == "can_contact":
		assert (answer["allowed"], answer["reason"]) == (False, "opted_out")


def test_a_desk_report_run_reads_through_the_replica(opted_out_phone, replica_conf, monkeypatch):
	"""Frappe's own report runner (and the prepared-report job, which calls the same function) is read-only."""
	import frappe.desk.query_report as query_report

	primary_id = connection_id()
	seen: list[dict] = []
	spy(monkeypatch, query_report, "generate_report_result", seen)
	result = query_report.run("Revocations", filters={}, ignore_prepared_report=True)
	assert seen and seen[0]["on_replica"] and seen[0]["connection"] != primary_id
	assert any(row.get("record") == opted_out_phone.name for row in result["result"] if isinstance(row, dict))


def test_without_the_setting_the_endpoints_stay_on_the_primary(opted_out_phone, monkeypatch):
	monkeypatch.setitem(frappe.local.conf, "read_from_replica", 0)
	primary_id = connection_id()
	seen: list[dict] = []
	spy(monkeypatch, api, "contact_control_check", seen)
	api.can_contact(channel="Call", address=opted_out_phone.phone_e164)
	assert seen == [{"on_replica": False, "connection": primary_id}]


# Through the web server --------------------------------------------------------------------------------------


def serve_with_replica(port: int):
	"""A web server of the site whose config routes reads to a replica at 127.0.0.1:``port``."""
	path = site_config_path()
	with open(path) as f:
		config = json.load(f)
	config.update(read_from_replica=1, replica_host="127.0.0.1", replica_db_port=port)
	with open(path, "w") as f:
		json.dump(config, f, indent=1)
	http_port = free_port()
	process = subprocess.Popen(
		[sys.executable, os.path.join(REPO, "scripts", "serve.py"), "--site", SITE, "--port", str(http_port)],
		cwd=SITES,
		stdout=subprocess.DEVNULL,
		stderr=subprocess.DEVNULL,
	)
	url = f"http://127.0.0.1:{http_port}"
	try:
		deadline = time.monotonic() + 60
		while True:
			try:
				if requests.get(f"{url}/api/method/ping", timeout=5).status_code == 200:
					break
			except requests.ConnectionError:
				pass
			assert process.poll() is None and time.monotonic() < deadline, "the web server did not start"
			time.sleep(0.3)
	except BaseException:
		process.kill()
		raise
	return process, url


def site_config_path() -> str:
	return os.path.join(SITES, SITE, "site_config.json")


@pytest.fixture
def servers():
	"""Web servers whose site config names a replica. Frappe 16 reads the config once per process, Frappe
	15 on every request: the change stays until the test ends, then the original config is back."""
	with open(site_config_path()) as f:
		original = f.read()
	started = []

	def start(port):
		process, url = serve_with_replica(port)
		started.append(process)
		return url

	try:
		yield start
	finally:
		with open(site_config_path(), "w") as f:
			f.write(original)
		for process in started:
			process.terminate()
			try:
				process.wait(timeout=10)
			except subprocess.TimeoutExpired:
				process.kill()


def calls(client: Client, phone) -> dict:
	return {
		"can_contact": client.get(
			"/api/method/opt_consent.api.can_contact", channel="Call", address=phone.phone_e164
		),
		"scrub": client.post(
			"/api/method/opt_consent.control.scrub", channel="Call", addresses=[phone.phone_e164]
		),
		"get_log": client.get("/api/method/opt_consent.api.get_log", doctype="Phone", name=phone.name),
		"report": client.post(
			"/api/method/frappe.desk.query_report.run",
			report_name="Revocations",
			filters={},
			ignore_prepared_report=1,
		),
	}


def test_through_the_web_server_the_endpoints_go_to_the_replica(opted_out_phone, servers):
	nowhere = free_port()  # nothing listens there
	client = Client(servers(nowhere), "manager")
	for name, response in calls(client, opted_out_phone).items():
		# they did go to the replica, and found nothing there
		assert response.status_code >= 500 and "connect" in response.text.lower(), (
			name,
			response.text[-300:],
		)
	# an endpoint without the decorator reads the primary and answers
	plain = client.get("/api/method/opt_consent.api.contact_consent", contact="no such contact")
	assert plain.status_code < 500, plain.text

	client = Client(servers(PRIMARY_PORT), "manager")
	answers = calls(client, opted_out_phone)
	for name, response in answers.items():
		assert response.status_code == 200, (name, response.text)
	verdict = answers["can_contact"].json()["message"]
	assert (verdict["allowed"], verdict["reason"]) == (False, "opted_out")
	assert answers["scrub"].json()["message"][0]["allowed"] is False
	assert answers["get_log"].json()["message"]["total"] == 2
