"""pytest on a real Frappe site: connect once, roll back after every test.

Set OPT_CONSENT_BENCH / OPT_CONSENT_SITE to choose another bench or site.
"""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.integration.bench import SITE, SITES

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("OPT_CONSENT_ARTIFACTS", REPO / "artifacts"))


@pytest.fixture(scope="session", autouse=True)
def site():
	import frappe

	os.chdir(SITES)
	frappe.init(site=SITE, sites_path=str(SITES))
	frappe.connect()
	frappe.flags.in_test = True
	frappe.set_user("Administrator")
	from tests.integration import factories

	factories.make_test_users()
	factories.set_default_country()
	frappe.db.commit()  # the users and settings must be visible to the web server's requests
	yield SITE
	factories.remove_committed_records()
	frappe.db.commit()
	frappe.destroy()


@pytest.fixture(autouse=True)
def rollback(site):
	import frappe

	frappe.set_user("Administrator")
	yield
	frappe.db.rollback()
	# A test that saved the settings and read them back left its rolled-back values in the shared cache,
	# where the web server (and the next test) would read them: drop them.
	frappe.clear_document_cache("Opt Consent Settings", "Opt Consent Settings")
	frappe.set_user("Administrator")
	frappe.local.message_log = []


def _free_port() -> int:
	with socket.socket() as s:
		s.bind(("127.0.0.1", 0))
		return s.getsockname()[1]


@pytest.fixture(scope="session")
def server(site):
	"""The site served on 127.0.0.1 by a werkzeug process of the bench's Python."""
	import requests

	port = int(os.environ.get("OPT_CONSENT_PORT") or _free_port())
	ARTIFACTS.mkdir(parents=True, exist_ok=True)
	log = open(ARTIFACTS / "server.log", "w")
	process = subprocess.Popen(
		[sys.executable, str(REPO / "scripts" / "serve.py"), "--site", site, "--port", str(port)],
		cwd=SITES,
		stdout=log,
		stderr=subprocess.STDOUT,
	)
	url = f"http://127.0.0.1:{port}"
	deadline = time.monotonic() + 60
	while True:
		try:
			if requests.get(f"{url}/api/method/ping", timeout=5).status_code == 200:
				break
		except requests.ConnectionError:
			pass
		if process.poll() is not None or time.monotonic() > deadline:
			process.kill()
			raise RuntimeError(f"the web server did not start; see {log.name}")
		time.sleep(0.3)
	yield url
	process.terminate()
	try:
		process.wait(timeout=10)
	except subprocess.TimeoutExpired:
		process.kill()
	log.close()


@pytest.fixture
def made_runs():
	"""Names of the Opt Consent Runs a test starts (on real workers): removed with their RQ jobs afterwards."""
	import frappe
	from frappe.utils.background_jobs import get_job

	from opt_consent.jobs import rules as chunks
	from opt_consent.jobs import runs

	names: list[str] = []
	yield names
	frappe.db.rollback()
	for name in names:
		for no in frappe.get_all(runs.CHUNK, filters={"parent": name}, pluck="chunk_no"):
			if job := get_job(chunks.job_id(name, no)):
				job.delete()
		frappe.delete_doc(runs.RUN, name, force=True, ignore_permissions=True, delete_permanently=True)
	frappe.db.commit()
