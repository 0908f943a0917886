"""``bench uninstall-app opt_consent`` on a throwaway site: it works, removes the app's doctypes and roles,
and keeps the global Email Unsubscribe rows (people's opt outs, which Frappe's mailer goes on honouring)."""

import os
import subprocess
import sys
import uuid

import pytest

from tests.integration.bench import BENCH, SITES

DB_USER = os.environ.get("DB_ROOT_USER", "opt_bench_root")
DB_PASSWORD = os.environ.get("DB_ROOT_PASSWORD", "opt_bench_root")

SETUP = """
import frappe, sys
frappe.init(site=sys.argv[1], sites_path="."); frappe.connect(); frappe.set_user("Administrator")
frappe.db.set_single_value("System Settings", "country", "United States")
from opt_consent.api import consent as api
email = frappe.get_doc({"doctype": "Email", "email_id": "leaving@example.com"}).insert()
now = frappe.utils.now_datetime()
api.opt_out(doctype="Email", name=email.name, channel="Email", method="Verbal",
	date=now.date().isoformat(), time=now.strftime("%H:%M:%S"))
frappe.db.commit()
print(frappe.db.count("Email Unsubscribe", {"email": "leaving@example.com", "global_unsubscribe": 1}))
"""

CHECK = """
import frappe, sys
frappe.init(site=sys.argv[1], sites_path="."); frappe.connect()
print(frappe.db.count("Email Unsubscribe", {"email": "leaving@example.com", "global_unsubscribe": 1}),
	bool(frappe.db.exists("DocType", "Phone")), bool(frappe.db.table_exists("Opt Log")),
	bool(frappe.db.exists("Role", "Opt Consent User")), bool(frappe.db.exists("Module Def", "Opt Consent")))
"""


@pytest.fixture(autouse=True)
def evidence_path(record_property):
	"""Each test here is one evidence path tried (listed in docs/RELIABILITY.md)."""
	record_property("evidence_path", 1)


def bench(*args, timeout=600):
	result = subprocess.run(["bench", *args], cwd=BENCH, capture_output=True, text=True, timeout=timeout)
	assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
	return result.stdout


def python(code, site):
	result = subprocess.run(
		[sys.executable, "-c", code, site], cwd=SITES, capture_output=True, text=True, timeout=300
	)
	assert result.returncode == 0, result.stderr[-2000:]
	return result.stdout.strip().splitlines()[-1]


@pytest.mark.skipif(os.environ.get("OPT_CONSENT_SKIP_THROWAWAY_SITE") == "1", reason="asked to skip")
def test_uninstall_keeps_the_opt_outs_and_removes_the_app():
	site = f"oc-uninstall-{uuid.uuid4().hex[:8]}.localhost"
	db = ("--db-root-username", DB_USER, "--db-root-password", DB_PASSWORD)
	bench(
		"new-site", site, "--db-type", "mariadb", "--db-host", "127.0.0.1", *db, "--admin-password", "admin"
	)
	try:
		bench("--site", site, "install-app", "opt_consent")
		assert python(SETUP, site) == "1"
		bench("--site", site, "uninstall-app", "opt_consent", "--yes", "--no-backup")
		assert python(CHECK, site) == "1 False False False False"
	finally:
		bench("drop-site", site, *db, "--no-backup", "--force")
