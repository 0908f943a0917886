"""The public API is a promise: every whitelisted path gateways, dialers, other apps and the desk call keeps
answering, with the HTTP methods it had, and the README lists each one. The list below is pinned: a path
leaves it only with a deprecation, never by a move (a moved implementation keeps a thin alias here)."""

import re
from pathlib import Path

import frappe
import pytest
import requests

from tests.integration.factories import API_KEYS

README = Path(__file__).resolve().parents[2] / "README.md"

# Every public path with its HTTP methods, as of 2026-12-02 (purpose_states the newest).
PUBLIC = {
	"opt_consent.api.opt_in": {"POST"},
	"opt_consent.api.opt_out": {"POST"},
	"opt_consent.api.text_reauth": {"POST"},
	"opt_consent.api.bulk_opt_out": {"POST"},
	"opt_consent.api.record_revocation": {"POST"},
	"opt_consent.api.get_log": {"GET", "POST", "PUT", "DELETE"},  # Frappe's default: every method
	"opt_consent.api.verify_log": {"GET", "POST"},
	"opt_consent.api.can_contact": {"GET", "POST"},
	"opt_consent.api.contact_consent": {"GET"},
	"opt_consent.api.purpose_states": {"GET", "POST"},
	"opt_consent.control.scrub": {"GET", "POST"},
	"opt_consent.control.record_attempt": {"POST"},
	"opt_consent.control.next_allowed": {"GET"},
	"opt_consent.control.enable_regulation_f": {"POST"},
	"opt_consent.evidence.options": {"GET"},
	"opt_consent.evidence.produce": {"POST"},
	"opt_consent.evidence.produce_for_contact": {"POST"},
	"opt_consent.wordings.publish": {"POST"},
	"opt_consent.wordings.new_version": {"POST"},
	"opt_consent.wordings.offered": {"GET"},
	"opt_consent.inbound.receive": {"POST"},
	"opt_consent.inbound.mark_reviewed": {"POST"},
	"opt_consent.history_import.start": {"POST"},
	"opt_consent.opt_consent.doctype.contact_scrub.contact_scrub.start_scrub": {"POST"},
	"opt_consent.opt_consent.doctype.opt_consent_run.opt_consent_run.verify_all_records": {"POST"},
	"opt_consent.opt_consent.doctype.opt_consent_run.opt_consent_run.resume": {"POST"},
	# the number cards' methods: Frappe's default (the desk calls them by GET or POST)
	"opt_consent.workspace.revocations_past_honour_by": {"GET", "POST", "PUT", "DELETE"},
	"opt_consent.workspace.phones_due_this_week": {"GET", "POST", "PUT", "DELETE"},
}


def readme_paths() -> set[str]:
	table = README.read_text(encoding="utf-8").split("## Public API", 1)[1].split("\n## ", 1)[0]
	return set(re.findall(r"^\| `([a-z_.]+)` \|", table, re.M))


def test_the_readme_lists_every_public_path():
	listed = readme_paths()
	assert set(PUBLIC) <= listed, set(PUBLIC) - listed
	# plus Frappe's own send_sms, taken over by the SMS door
	assert listed - set(PUBLIC) == {"frappe.core.doctype.sms_settings.sms_settings.send_sms"}


@pytest.mark.parametrize("path", sorted(PUBLIC))
def test_each_public_path_is_whitelisted_with_its_methods(path):
	function = frappe.get_attr(path)
	assert function in frappe.whitelisted, path
	methods = set(frappe.allowed_http_methods_for_whitelisted_func.get(function) or ())
	assert methods == PUBLIC[path], (path, methods)


@pytest.mark.parametrize("path", sorted(PUBLIC))
def test_each_public_path_answers_over_http(server, path):
	"""Called with no arguments by a user without the app's roles (so that no call changes anything): the
	path is found and answers with one of its documented errors (a missing argument, no permission, a
	refusal), never "not found"."""
	method = "GET" if "GET" in PUBLIC[path] else "POST"
	response = requests.request(
		method,
		f"{server}/api/method/{path}",
		headers={"Authorization": API_KEYS["outsider"]},
		timeout=60,
	)
	assert response.status_code != 404 or "DoesNotExistError" in response.text, (path, response.text[:300])
	assert "is not whitelisted" not in response.text and "Failed to get method" not in response.text, path
	assert response.status_code in (200, 400, 403, 404, 409, 417, 500), (path, response.status_code)


def test_every_hook_points_at_code_that_exists():
	"""Hooks, scheduler entries and overrides: each dotted path resolves (a move keeps them working)."""
	hooks = frappe.get_hooks(app_name="opt_consent")
	paths = []

	def collect(value):
		if isinstance(value, str) and value.startswith("opt_consent."):
			paths.append(value)
		elif isinstance(value, dict):
			for item in value.values():
				collect(item)
		elif isinstance(value, list | tuple):
			for item in value:
				collect(item)

	for key, value in hooks.items():
		if key not in ("app_include_js", "app_include_css", "doctype_js", "doctype_list_js", "fixtures"):
			collect(value)
	assert paths
	for path in paths:
		frappe.get_attr(path)  # raises when a hook points nowhere


def test_the_chunk_methods_kept_in_runs_resolve():
	"""Opt Consent Run rows store the dotted path of their chunk job: every one a site may hold resolves."""
	stored = set(frappe.get_all("Opt Consent Run", pluck="chunk_method")) if frappe.db.has_column(
		"Opt Consent Run", "chunk_method"
	) else set()
	for path in {p for p in stored if p}:
		frappe.get_attr(path)
