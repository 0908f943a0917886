"""Consent history import in the desk, as an Opt Consent Manager: attach a CSV through the uploader, save,
press Dry Run; a real bench worker runs the job; the form shows what would be recorded and what would be
refused and why, and the method mapping to fill."""

import json
import re
import subprocess
import time
from pathlib import Path

import frappe
import pytest
from frappe.utils import add_days, nowdate
from playwright.sync_api import expect

from tests.e2e.conftest import TIMEOUT_MS, VIEWPORT, shot
from tests.integration.bench import BENCH, SITE, SITES
from tests.integration.factories import PASSWORD, random_number, user

QUEUE = "opt_consent_test"  # a queue of the bench's own configuration, kept apart from "long"


# Frappe caches a site's config in a long-lived process for up to this many seconds.
CONFIG_TTL = 61


@pytest.fixture
def import_queue():
	"""Jobs of this site's imports go to QUEUE while the test runs (site config, restored after), so that
	the burst worker runs this site's import and no other site's jobs. Yields when the web server will
	have read it."""
	path = SITES / SITE / "site_config.json"
	saved = path.read_text()
	config = json.loads(saved)
	config["opt_consent_import_queue"] = QUEUE
	path.write_text(json.dumps(config, indent=1))
	written = time.monotonic()
	yield lambda: time.sleep(max(0.0, CONFIG_TTL - (time.monotonic() - written)))
	path.write_text(saved)


@pytest.fixture
def manager_page(browser, desk):
	context = browser.new_context(viewport=VIEWPORT, base_url=desk)
	context.set_default_timeout(TIMEOUT_MS)
	page = context.new_page()
	errors = []
	page.on("pageerror", lambda error: errors.append(str(error)))
	page.goto("/login")
	page.fill("#login_email", user("manager"))
	page.fill("#login_password", PASSWORD)
	page.click(".btn-login[type=submit]")
	page.wait_for_url(re.compile(r"/(app|desk)(/|$)"))
	yield page
	context.close()
	assert not errors, f"JavaScript errors in the page: {errors}"


def sample_file(tmp_path: Path) -> tuple[Path, list[str]]:
	phone, home = random_number(), random_number()
	day = lambda n: add_days(nowdate(), -n)  # noqa: E731
	lines = [
		"address,channel,action,date,time,method,operator,phone_type,external_id",
		f"{phone},Call,Opt In,{day(60)},09:15,Verbal,jsmith,Cell,",
		f"{phone},Text,Opt In,{day(60)},09:16,Written,jsmith,Cell,",
		f"{phone},Text,Opt Out,{day(20)},14:02,Text Reply,system,Cell,",
		f"{home},Text,Opt In,{day(30)},11:31,Web Form,web,Home,",
		f"{home},Call,Opt In,{day(30)},11:30,Phone Keypad,ivr,Home,",
		f"{home},Call,Opt In,{day(31)},25:00,Verbal,ivr,Home,",
		"not-a-number,Call,Opt In,2024-07-07,13:00,Verbal,jsmith,,",
	]
	path = tmp_path / "consent-history.csv"
	path.write_text("\n".join(lines) + "\n")
	return path, [phone, home]


def run_worker(queue: str) -> None:
	"""A real bench worker, in burst mode: it runs the queued jobs and exits."""
	done = subprocess.run(
		["bench", "worker", "--queue", queue, "--burst"],
		cwd=BENCH,
		capture_output=True,
		text=True,
		timeout=600,
	)
	assert done.returncode == 0, done.stderr[-2000:]


def status_of(name: str) -> str:
	frappe.db.rollback()
	return frappe.db.get_value("Consent History Import", name, "status")


def test_upload_then_dry_run_in_a_worker_shows_what_would_be_recorded_and_refused(
	manager_page, import_queue, tmp_path
):
	page = manager_page
	path, numbers = sample_file(tmp_path)
	page.goto("/app/consent-history-import/new")
	page.locator(".frappe-control[data-fieldname='import_file'] button:visible").first.click()
	uploader = page.locator(".modal.show")
	uploader.locator("input[type='file']").set_input_files(str(path))
	uploader.locator(".modal-footer .btn-primary:visible").click()
	expect(page.locator(".frappe-control[data-fieldname='import_file'] a.attached-file-link")).to_be_visible()
	page.keyboard.press("Control+s")
	page.wait_for_url(re.compile(r"/app/consent-history-import/CHI-\d+$"))
	name = page.url.rstrip("/").rsplit("/", 1)[-1]
	try:
		import_queue()  # the web server reads the queue from the site config
		page.locator(".page-actions .custom-actions button[data-label='Dry%20Run']:visible").click()
		expect(page.locator(".indicator-pill:visible", has_text="Dry Run Queued")).to_be_visible()
		assert status_of(name) == "Dry Run Queued"
		run_worker(QUEUE)
		deadline = time.monotonic() + 120
		while status_of(name) != "Dry Run Done" and time.monotonic() < deadline:
			time.sleep(1)
		assert status_of(name) == "Dry Run Done"
		page.reload()
		summary = page.locator(".opt-import-summary:visible")
		expect(summary).to_contain_text("Would be recorded: 3")
		expect(summary).to_contain_text("Refused: 4")
		refused = page.locator(".frappe-control[data-fieldname='refused_rows'] .grid-body")
		expect(refused).to_contain_text("Texting consent can only be given on a Cell phone")
		expect(refused).to_contain_text("Phone Keypad is not a known Opt Method")
		expect(refused).to_contain_text("25:00 is not a valid time")
		mapping = page.locator(".frappe-control[data-fieldname='method_mapping'] .grid-body")
		expect(mapping).to_contain_text("Phone Keypad")
		expect(
			page.locator(".page-actions .custom-actions button[data-label='Apply']:visible")
		).to_be_visible()
		page.locator(".frappe-control[data-fieldname='refused_rows']").scroll_into_view_if_needed()
		shot(page, "80-history-import-dry-run")
		# a dry run wrote no record
		frappe.db.rollback()
		for number in numbers:
			assert not frappe.db.exists("Phone", {"phone_e164": number.replace(" ", "")})
	finally:
		frappe.db.rollback()
		frappe.db.delete("File", {"attached_to_doctype": "Consent History Import", "attached_to_name": name})
		frappe.db.delete(
			"File", {"file_url": ["like", "%consent-history%"], "attached_to_name": ["is", "not set"]}
		)
		frappe.db.delete("Consent History Import", {"name": name})
		frappe.db.commit()
