"""Browser suite: headless Debian Chromium driven by Playwright against the site served on 127.0.0.1.

The site, the web server and the test users come from the integration suite's fixtures (imported, not
copied). Screenshots of every step go to ``artifacts/e2e/`` (git-ignored).
"""

import os
import re
from pathlib import Path

import pytest

from tests.integration.conftest import ARTIFACTS, rollback, server, site  # noqa: F401  (shared fixtures)
from tests.integration.factories import PASSWORD, USERS, user

CHROMIUM = os.environ.get("OPT_CONSENT_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
	"--no-sandbox",
	"--disable-gpu",
	"--disable-background-networking",
	"--disable-component-update",
	"--disable-sync",
	"--no-first-run",
	"--disable-quic",
]
SHOTS = ARTIFACTS / "e2e"
# Tall enough that a Phone form, its log and the confirmation fit in one screenshot.
VIEWPORT = {"width": 1400, "height": 1800}
# Generous: the first desk load builds caches; CI machines are slow.
TIMEOUT_MS = int(os.environ.get("OPT_CONSENT_E2E_TIMEOUT_MS", "30000"))

pytestmark = pytest.mark.e2e


def ensure_setup_complete() -> bool:
	"""Mark the site's setup wizard as done, as Frappe's own wizard finally does, so the desk opens.

	Frappe decides it from System Settings ``setup_complete`` (boot ``setup_complete``; the router sends
	everyone to ``/app/setup-wizard`` until it is set) and opens ``desktop:home_page`` after login. A site
	whose wizard already ran is left alone. Returns whether anything changed (then it is committed once).
	"""
	import frappe
	from frappe.utils import cint

	if cint(frappe.db.get_single_value("System Settings", "setup_complete")):
		return False
	if not frappe.db.get_single_value("System Settings", "time_zone"):
		frappe.db.set_single_value("System Settings", "time_zone", "UTC")
	frappe.db.set_single_value("System Settings", "setup_complete", 1)
	frappe.db.set_default("desktop:home_page", "workspace")
	frappe.db.commit()
	# Frappe 16 caches System Settings apart (clear_system_settings_cache); Frappe 15 clears it with the rest
	from frappe.core.doctype.system_settings import system_settings

	if hasattr(system_settings, "clear_system_settings_cache"):
		system_settings.clear_system_settings_cache()
	frappe.clear_cache()
	# Frappe 15 keeps System Settings in frappe.local for the whole of a process outside a request: this
	# one read them (with no time zone: Frappe's fallback, Asia/Kolkata) before the zone was set, and would go
	# on dating "today" in that zone while the web server dates it in the site's.
	if hasattr(frappe.local, "system_settings"):
		del frappe.local.system_settings
	return True


def align_operator_zones() -> None:
	"""The walks are an operator's in the site's time zone (the dialog dates its default in the operator's
	zone, the form shows dates stored in the site's). Frappe stores the system zone in a new user's
	``time_zone``, its fallback Asia/Kolkata while the site has none: a test user made before the zone was
	set keeps that zone. Give such users the site's zone (a walk that wants another zone sets it and puts
	it back); committed once when anything changed."""
	import frappe
	from frappe.utils import get_system_timezone

	zone = get_system_timezone()
	changed = [
		email
		for email in (user(key) for key in USERS)
		if frappe.db.get_value("User", email, "time_zone") not in (None, "", zone)
	]
	for email in changed:
		frappe.db.set_value("User", email, "time_zone", zone)
		frappe.defaults.set_default("time_zone", zone, email)
	if changed:
		frappe.db.commit()
		for email in changed:
			frappe.clear_cache(user=email)


@pytest.fixture(scope="session")
def desk(site, server):  # noqa: F811
	"""The served site, set up, with a clean screenshot folder."""
	ensure_setup_complete()
	align_operator_zones()
	SHOTS.mkdir(parents=True, exist_ok=True)
	for old in SHOTS.glob("FAILED-*.png"):
		old.unlink(missing_ok=True)
	return server


@pytest.fixture(scope="session")
def browser():
	from playwright.sync_api import sync_playwright

	if not Path(CHROMIUM).exists():
		pytest.skip(f"no Chromium at {CHROMIUM}")
	with sync_playwright() as playwright:
		instance = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
		yield instance
		instance.close()


@pytest.fixture(scope="session")
def login_state(browser, desk, tmp_path_factory):
	"""Log in once through the login page as the Opt Consent User; later pages reuse the session cookie."""
	context = browser.new_context(viewport=VIEWPORT, base_url=desk)
	context.set_default_timeout(TIMEOUT_MS)
	page = context.new_page()
	page.goto("/login")
	page.fill("#login_email", user("user"))
	page.fill("#login_password", PASSWORD)
	page.click(".btn-login[type=submit]")
	try:
		page.wait_for_url(re.compile(r"/(app|desk)(/|$)"))
	except Exception:
		shot(page, "00-login-failed")  # what the login page said, for the one reading the failure
		raise
	page.wait_for_function("() => window.frappe && frappe.boot && frappe.session && frappe.session.user")
	assert page.evaluate("frappe.session.user") == user("user")
	assert page.evaluate("frappe.boot.setup_complete") == 1
	shot(page, "00-logged-in")
	state = tmp_path_factory.mktemp("e2e") / "state.json"
	context.storage_state(path=str(state))
	context.close()
	return str(state)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
	report = yield
	if report.when == "call":
		item.e2e_failed = report.failed
	return report


@pytest.fixture
def page(request, browser, desk, login_state):
	context = browser.new_context(viewport=VIEWPORT, base_url=desk, storage_state=login_state)
	context.set_default_timeout(TIMEOUT_MS)
	errors: list[str] = []
	page = context.new_page()
	page.on("pageerror", lambda error: errors.append(str(error)))
	yield page
	if getattr(request.node, "e2e_failed", False):
		shot(page, f"FAILED-{request.node.name}")
	context.close()
	assert not errors, f"JavaScript errors in the page: {errors}"


def shot(page, name: str) -> Path:
	path = SHOTS / f"{name}.png"
	page.screenshot(path=str(path), full_page=True, animations="disabled")
	return path
