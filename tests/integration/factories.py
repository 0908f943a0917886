"""make_* factories for the integration suites: users, methods, Phones and Emails."""

import random

import frappe
import phonenumbers
from frappe.utils import add_to_date, now_datetime
from frappe.utils.password import get_decrypted_password

PASSWORD = "Opt-Consent-Test-9!"
USERS = {
	"user": ("oc-user@example.com", ["Opt Consent User"]),
	"manager": ("oc-manager@example.com", ["Opt Consent Manager"]),
	"auditor": ("oc-auditor@example.com", ["Opt Consent Auditor"]),
	"outsider": ("oc-outsider@example.com", ["Blogger"]),
	# restricted by a User Permission (set by the test that needs it) to some records
	"restricted": ("oc-restricted@example.com", ["Opt Consent User", "Opt Consent Auditor"]),
}
# Authorization headers of the test users. Fixed values, so that parallel test sessions agree.
API_KEYS: dict[str, str] = {}
# Records the web server committed, removed at the end of the session.
COMMITTED: list[tuple[str, str]] = []

_AREA_CODES = ("212", "303", "415", "512", "617", "702", "808")


def make_test_users() -> None:
	for key, (email, roles) in USERS.items():
		make_user(email, roles)
		api_key, api_secret = f"oc-test-{key}", f"oc-test-secret-{key}"
		stored = get_decrypted_password("User", email, "api_secret", raise_exception=False)
		if frappe.db.get_value("User", email, "api_key") != api_key or stored != api_secret:
			user = frappe.get_doc("User", email)
			user.api_key, user.api_secret = api_key, api_secret
			user.save(ignore_permissions=True)
		API_KEYS[key] = f"token {api_key}:{api_secret}"


def set_default_country(country: str = "United States") -> None:
	"""Numbers typed without a country code are read in the System Settings country: a new site has none,
	so the suites set the one their numbers are written for."""
	if frappe.db.get_single_value("System Settings", "country") != country:
		frappe.db.set_single_value("System Settings", "country", country)
		frappe.clear_document_cache("System Settings", "System Settings")


def make_user(email: str, roles: list[str]) -> str:
	roles = [role for role in roles if frappe.db.exists("Role", role)]
	if not frappe.db.exists("User", email):
		frappe.get_doc(
			{
				"doctype": "User",
				"email": email,
				"first_name": email.split("@")[0],
				"new_password": PASSWORD,
				"send_welcome_email": 0,
				"user_type": "System User",
				"roles": [{"role": role} for role in roles],
			}
		).insert(ignore_permissions=True)
	else:
		user = frappe.get_doc("User", email)
		missing = [role for role in roles if role not in {r.role for r in user.roles}]
		if missing:
			user.add_roles(*missing)
	return email


def user(key: str) -> str:
	return USERS[key][0]


def random_number(region_code: str = "US") -> str:
	while True:
		number = f"+1 {random.choice(_AREA_CODES)} {random.randint(200, 999)} {random.randint(0, 9999):04d}"
		if phonenumbers.is_valid_number(phonenumbers.parse(number)):
			return number


def random_email() -> str:
	return f"person-{frappe.generate_hash(length=10)}@example.com"


def make_phone(phone: str | None = None, phone_type: str = "Cell", **fields):
	return frappe.get_doc(
		{"doctype": "Phone", "phone": phone or random_number(), "phone_type": phone_type, **fields}
	).insert(ignore_permissions=True)


def make_email(email_id: str | None = None, **fields):
	return frappe.get_doc({"doctype": "Email", "email_id": email_id or random_email(), **fields}).insert(
		ignore_permissions=True
	)


def make_method(name: str, enabled: int = 1, for_opt_in: int = 1, for_opt_out: int = 1) -> str:
	if frappe.db.exists("Opt Method", name):
		frappe.db.set_value(
			"Opt Method", name, {"enabled": enabled, "for_opt_in": for_opt_in, "for_opt_out": for_opt_out}
		)
	else:
		frappe.get_doc(
			{
				"doctype": "Opt Method",
				"method_name": name,
				"enabled": enabled,
				"for_opt_in": for_opt_in,
				"for_opt_out": for_opt_out,
			}
		).insert(ignore_permissions=True)
	return name


def make_reauth_settings(period_days=0, lead_days=0, method_periods=(), **fields):
	"""Save Opt Consent Settings with these reauthorisation rules (inside the test: rolled back)."""
	settings = frappe.get_doc("Opt Consent Settings")
	settings.text_reauth_days = period_days
	settings.reauth_reminder_days = lead_days
	settings.set("method_periods", [{"method": m, "period_days": d} for m, d in method_periods])
	settings.update(fields)
	settings.save()
	# saving queues the recompute as a background job; run here what that job runs (without its commits)
	from opt_consent.reauth import lapse

	lapse.recompute_phones()
	return settings


def make_texting_phone(days_ago: int, method: str = "Verbal", at: str = "10:00:00", **fields):
	"""A new Cell Phone opted in to texts ``days_ago`` days ago (fresh, so no later event blocks the date)."""
	from frappe.utils import add_days, nowdate

	from opt_consent.ledger.consent import ActionRequest, record_action

	phone = make_phone(**fields)
	return record_action(
		ActionRequest(
			"Phone", phone.name, "Opt In", "Text", add_days(nowdate(), -days_ago), at, method, source="API"
		)
	)


def snapshot(doctype: str, name: str) -> dict:
	"""Everything the database holds for a record and its log, for byte-for-byte comparison."""
	return {
		"record": frappe.db.get_all(doctype, filters={"name": name}, fields=["*"]),
		"logs": frappe.db.get_all(
			"Opt Log", filters={"parent": name, "parenttype": doctype}, fields=["*"], order_by="idx asc"
		),
		"versions": frappe.db.count("Version", {"ref_doctype": doctype, "docname": name}),
	}


def remove_committed_records() -> None:
	frappe.set_user("Administrator")
	for doctype, name in reversed(COMMITTED):
		if frappe.db.exists(doctype, name):
			frappe.delete_doc(doctype, name, force=True, ignore_permissions=True, delete_permanently=True)
	COMMITTED.clear()


def make_outgoing_email_account(email_id: str = "oc-outbox@example.com") -> str:
	"""An outgoing Email Account Frappe's queue can send through (no SMTP login; tests mock the server)."""
	name = "OC Gate Outbox"
	if not frappe.db.exists("Email Account", name):
		frappe.get_doc(
			{
				"doctype": "Email Account",
				"email_account_name": name,
				"email_id": email_id,
				"enable_outgoing": 1,
				"smtp_server": "127.0.0.1",
				"smtp_port": 25,
				"no_smtp_authentication": 1,
				"awaiting_password": 0,
			}
		).insert(ignore_permissions=True)
	return name


def make_inbound_text(**fields):
	"""An Inbound Text as the gateway endpoint records it."""
	doc = frappe.get_doc(
		{
			"doctype": "Inbound Text",
			"sender": "+1 415 555 0100",
			"sender_e164": "+14155550100",
			"message": "hello",
			"message_id": frappe.generate_hash(length=16),
			"received_at": frappe.utils.now_datetime(),
			"status": "Unrecognised",
			**fields,
		}
	)
	doc.flags.from_gateway = True
	return doc.insert(ignore_permissions=True)


def when(minutes_ago: int = 5) -> dict:
	"""The ``date`` and ``time`` arguments of an action dated ``minutes_ago`` minutes ago (site time)."""
	at = add_to_date(now_datetime(), minutes=-minutes_ago)
	return {"date": at.date().isoformat(), "time": at.strftime("%H:%M:%S")}


HISTORY = ((30, "opt_in", "Call"), (20, "opt_in", "Text"))


def make_phone_with_history(steps=HISTORY, notes: bool = False) -> str:
	"""A Cell phone with ``steps`` (minutes ago, api action, channel) recorded through the actions."""
	from opt_consent.api import consent as api

	phone = make_phone()
	for minutes, action, channel in steps:
		getattr(api, action)(
			doctype="Phone",
			name=phone.name,
			channel=channel,
			method="Verbal",
			note=f"{action} {channel}" if notes else None,
			**when(minutes),
		)
	return phone.name
