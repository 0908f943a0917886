"""Texting reauthorisation on a real site: settings, the daily lapse job, the form guard, the report."""

import datetime as dt
from dataclasses import replace

import frappe
import pytest
from frappe.utils import add_days, getdate, nowdate

from opt_consent.api import consent as api
from opt_consent.jobs import runs
from opt_consent.ledger import integrity, settings
from opt_consent.ledger.records import ConsentTamperError
from opt_consent.ledger.rules import engine
from opt_consent.ledger.rules.purposes import DEFAULT_PURPOSE
from opt_consent.opt_consent.report.texting_reauthorisation_due import texting_reauthorisation_due as report
from opt_consent.reauth import lapse
from opt_consent.reauth import rules as reauth
from tests.integration.factories import (
	make_phone,
	make_reauth_settings,
	make_texting_phone,
	snapshot,
	user,
)


def today() -> dt.date:
	return getdate(nowdate())


def days_from_today(n: int) -> dt.date:
	return getdate(add_days(nowdate(), n))


def lapsed_rows(name: str) -> list:
	return frappe.get_all(
		"Opt Log",
		filters={"parent": name, "parenttype": "Phone", "action": "Lapsed"},
		fields=["*"],
		order_by="idx asc",
	)


def phone(name: str):
	return frappe.get_doc("Phone", name)


def reauth_now(name: str, method: str = "Recorded Call") -> dict:
	now = frappe.utils.now_datetime() - dt.timedelta(minutes=1)
	return api.text_reauth(
		name=name, date=now.date().isoformat(), time=now.strftime("%H:%M:%S"), method=method
	)


# The daily job --------------------------------------------------------------------------------------------


def test_job_lapses_a_phone_authorised_31_days_ago_once_and_leaves_29_days_ago_due(monkeypatch):
	make_reauth_settings(30, 5)
	old = make_texting_phone(31)
	recent = make_texting_phone(29)
	untouched_recent = snapshot("Phone", recent.name)
	assert (old.text_reauth_status, old.text_consent_lapses_on) == ("Lapsed", days_from_today(-1))
	assert (recent.text_reauth_status, recent.text_consent_lapses_on) == ("Due", days_from_today(1))
	assert recent.text_reauth_due_on == days_from_today(-4)
	modified_before = old.modified

	# the daily job's run, its chunks run here, in this transaction (the workers' path: test_workers.py)
	monkeypatch.setattr(runs, "commit", lambda: None)
	runs.start_lapse(inline=True)

	lapsed = phone(old.name)
	assert (lapsed.text_opt, lapsed.text_reauth_status) == (0, "Lapsed")
	assert (
		lapsed.modified > frappe.utils.get_datetime(modified_before) and lapsed.modified_by == "Administrator"
	)
	# the Opt In Texts fields stay: they are the evidence of the consent that lapsed
	assert (lapsed.text_opt_in_date, lapsed.text_opt_in_method) == (days_from_today(-31), "Verbal")
	rows = lapsed_rows(old.name)
	assert len(rows) == 1
	row = rows[0]
	assert (row.channel, row.action, row.source, row.recorded_by, row.method) == (
		"Text",
		"Lapsed",
		"Scheduler",
		"Administrator",
		None,
	)
	assert row.event_date == days_from_today(-1)
	assert engine.parse_time(row.event_time) == dt.time(0, 0)
	assert row.recorded_at is not None and row.name and row.parentfield == "opt_logs"
	assert [r.idx for r in lapsed.opt_logs] == [1, 2] and lapsed.opt_logs[-1].name == row.name
	# the log still replays to the record's state, and the Lapsed row is sealed into the hash chain
	assert engine.replay("Phone", [r.as_dict() for r in lapsed.opt_logs])["text_opt"] == 0
	assert row.hash_scheme and row.prev_hash == lapsed.opt_logs[0].row_hash and row.row_hash
	assert integrity.verify_record("Phone", old.name)["ok"]

	# 29 days ago: due, but the job does not touch it
	assert snapshot("Phone", recent.name) == untouched_recent

	# a second run changes nothing
	before = (snapshot("Phone", old.name), snapshot("Phone", recent.name))
	assert lapse.run() == 0
	assert (snapshot("Phone", old.name), snapshot("Phone", recent.name)) == before
	assert len(lapsed_rows(old.name)) == 1


def test_text_reauth_brings_a_lapsed_phone_back():
	make_reauth_settings(30, 5)
	old = make_texting_phone(31)
	lapse.run()
	frappe.set_user(user("user"))
	doc = reauth_now(old.name)
	assert (doc["text_opt"], doc["text_reauth_status"]) == (1, "OK")
	assert getdate(doc["text_consent_lapses_on"]) == days_from_today(30)
	assert getdate(doc["text_reauth_due_on"]) == days_from_today(25)
	assert [r["action"] for r in doc["opt_logs"]] == ["Opt In", "Lapsed", "Text Reauth"]
	frappe.set_user("Administrator")
	lapse.run()
	assert phone(old.name).text_opt == 1 and len(lapsed_rows(old.name)) == 1
	assert integrity.verify_record("Phone", old.name)["ok"]


def test_text_reauth_on_a_due_phone_renews_it():
	make_reauth_settings(30, 5)
	due = make_texting_phone(27)
	assert due.text_reauth_status == "Due"
	doc = reauth_now(due.name, method="Written")
	assert (doc["text_opt"], doc["text_reauth_status"], doc["text_opt_in_method"]) == (1, "OK", "Written")


def test_phone_reauthorised_between_the_jobs_read_and_its_write_is_not_lapsed(monkeypatch):
	make_reauth_settings(30, 0)
	old = make_texting_phone(31)
	find = lapse.find_lapse_candidates
	seen = []

	def find_then_reauthorise(*args, **kwargs):
		candidates = find(*args, **kwargs)
		names = [name for _lapses_on, name in candidates]
		if old.name in names and not seen:
			seen.extend(names)
			# a member of staff records a Text Reauth after the job read its candidates
			reauth_now(old.name)
		return candidates

	monkeypatch.setattr(lapse, "find_lapse_candidates", find_then_reauthorise)
	lapse.run()
	assert old.name in seen
	stored = phone(old.name)
	assert (stored.text_opt, stored.text_reauth_status) == (1, "OK")
	assert lapsed_rows(old.name) == []
	assert [r.action for r in stored.opt_logs] == ["Opt In", "Text Reauth"]


def test_a_candidate_the_recheck_keeps_is_read_once_and_the_job_ends(monkeypatch):
	"""A stale stored lapse date (e.g. settings changed meanwhile) makes a candidate the re-check keeps."""
	make_reauth_settings(30, 0)
	fresh = make_texting_phone(3)
	old = make_texting_phone(31)
	frappe.db.set_value("Phone", fresh.name, "text_consent_lapses_on", add_days(today(), -1))
	monkeypatch.setattr(lapse, "recompute_phones", lambda *args, **kwargs: 0)
	reads = []
	find = lapse.find_lapse_candidates

	def counting_find(*args, **kwargs):
		candidates = find(*args, **kwargs)
		reads.append([name for _lapses_on, name in candidates])
		return candidates

	monkeypatch.setattr(lapse, "find_lapse_candidates", counting_find)
	for by_name in (False, True):  # both ways of walking the candidates
		monkeypatch.setattr(lapse, "backlog", lambda on, by_name=by_name: by_name)
		reads.clear()
		lapse.run(batch_size=1)
		assert sum(names.count(fresh.name) for names in reads) == 1
	assert lapsed_rows(old.name) and phone(old.name).text_opt == 0
	assert phone(fresh.name).text_opt == 1 and lapsed_rows(fresh.name) == []
	assert len(lapsed_rows(old.name)) == 1


def test_lapse_phones_rechecks_the_rule_on_the_locked_rows():
	make_reauth_settings(30, 0)
	fresh = make_texting_phone(3)
	assert lapse.lapse_batch([fresh.name], lapse.get_rules(), today()) == []
	assert phone(fresh.name).text_opt == 1 and lapsed_rows(fresh.name) == []


def test_job_marks_phones_due_when_their_due_date_comes():
	make_reauth_settings(30, 5)
	doc = make_texting_phone(20)
	assert doc.text_reauth_status == "OK" and doc.text_reauth_due_on == days_from_today(5)
	lapse.run(on=days_from_today(4))
	assert phone(doc.name).text_reauth_status == "OK"
	lapse.run(on=days_from_today(5))
	assert (phone(doc.name).text_reauth_status, phone(doc.name).text_opt) == ("Due", 1)


def test_zero_period_never_lapses():
	make_reauth_settings(0, 0)
	doc = make_texting_phone(3000)
	assert (doc.text_reauth_status, doc.text_consent_lapses_on) == ("Never Lapses", None)
	lapse.run()
	assert phone(doc.name).text_opt == 1 and lapsed_rows(doc.name) == []


# Settings changes apply to consent already given ------------------------------------------------------------


def test_changing_the_period_moves_the_dates_of_existing_phones():
	make_reauth_settings(0, 0)
	written = make_texting_phone(40, method="Written")
	verbal = make_texting_phone(40, method="Verbal")
	assert phone(verbal.name).text_reauth_status == "Never Lapses"

	make_reauth_settings(90, 10)
	assert (phone(verbal.name).text_reauth_status, phone(verbal.name).text_consent_lapses_on) == (
		"OK",
		days_from_today(50),
	)
	# a per-method override: written consent lasts a year, verbal consent 30 days
	make_reauth_settings(90, 10, [("Written", 365), ("Verbal", 30)])
	assert phone(written.name).text_consent_lapses_on == days_from_today(325)
	assert (phone(verbal.name).text_reauth_status, phone(verbal.name).text_opt) == ("Lapsed", 1)
	lapse.run()
	assert phone(verbal.name).text_opt == 0 and phone(written.name).text_opt == 1
	assert lapsed_rows(verbal.name)[0].event_date == days_from_today(-10)

	# lengthening the period again does not restore a lapsed phone
	make_reauth_settings(0, 0)
	assert (phone(verbal.name).text_opt, phone(verbal.name).text_reauth_status) == (0, "Lapsed")
	assert phone(written.name).text_reauth_status == "Never Lapses"


def test_a_call_action_keeps_the_lapse_on_show_and_a_text_opt_out_clears_it():
	make_reauth_settings(30, 0)
	old = make_texting_phone(31)
	lapse.run()
	now = frappe.utils.now_datetime() - dt.timedelta(minutes=2)
	args = {"date": now.date().isoformat(), "time": now.strftime("%H:%M:%S")}
	api.opt_in(doctype="Phone", name=old.name, channel="Call", method="Verbal", **args)
	assert phone(old.name).text_reauth_status == "Lapsed"
	api.opt_out(doctype="Phone", name=old.name, channel="Text", method="Verbal", **args)
	stored = phone(old.name)
	assert (stored.text_reauth_status, stored.text_consent_lapses_on) == ("", None)


def test_a_form_save_cannot_forge_the_reauth_fields():
	make_reauth_settings(30, 0)
	old = make_texting_phone(31)
	frappe.set_user(user("user"))
	for field, value in (
		("text_reauth_status", "OK"),
		("text_consent_lapses_on", days_from_today(100)),
		("text_reauth_due_on", days_from_today(90)),
	):
		doc = phone(old.name)
		doc.set(field, value)
		with pytest.raises(ConsentTamperError):
			doc.save()


# Settings: validation and permission ----------------------------------------------------------------------


@pytest.mark.parametrize(
	"fields, message",
	[
		({"text_reauth_days": -1}, "Texting Consent Lasts (Days) cannot be negative"),
		({"reauth_reminder_days": -3}, "Reminder Lead Time (Days) cannot be negative"),
		({"revocation_business_days": -1}, "Honour Revocations Within (Business Days) cannot be negative"),
		(
			{"text_reauth_days": 30, "reauth_reminder_days": 31},
			"cannot be longer than the period for the default period",
		),
		(
			{"reauth_reminder_days": 10, "method_periods": [{"method": "Verbal", "period_days": 7}]},
			"cannot be longer than the period for Verbal",
		),
		(
			{"method_periods": [{"method": "Written", "period_days": -5}]},
			"the period for Written cannot be negative",
		),
		(
			{
				"method_periods": [
					{"method": "Written", "period_days": 100},
					{"method": "Written", "period_days": 200},
				]
			},
			"Opt Method Written is listed twice",
		),
	],
)
def test_invalid_settings_are_refused_and_change_nothing(fields, message):
	make_reauth_settings(60, 5)
	before = frappe.db.get_singles_dict("Opt Consent Settings")
	settings = frappe.get_doc("Opt Consent Settings")
	settings.update(fields)
	with pytest.raises(frappe.ValidationError, match=message.replace("(", r"\(").replace(")", r"\)")):
		settings.save()
	assert frappe.db.get_singles_dict("Opt Consent Settings") == before


@pytest.mark.parametrize("role_user", ["user", "auditor"])
def test_only_admins_change_settings(role_user):
	frappe.set_user(user(role_user))
	settings = frappe.get_doc("Opt Consent Settings")
	settings.text_reauth_days = 5
	with pytest.raises(frappe.PermissionError):
		settings.save()


def test_opt_consent_manager_changes_settings():
	frappe.set_user(user("manager"))
	settings = frappe.get_doc("Opt Consent Settings")
	settings.text_reauth_days = 45
	settings.reauth_reminder_days = 7
	settings.save()
	frappe.set_user("Administrator")
	assert lapse.get_rules() == reauth.Rules.make(
		45, 7, [(r.method, r.period_days) for r in settings.method_periods]
	)


def test_policy_reads_the_opt_out_settings():
	make_reauth_settings(0, 0, opt_out_blocks=1, text_opt_out_blocks_calls=1)
	# the policy carries the default purpose, whose state the record's own fields hold
	seeded = engine.Policy(default_purpose=DEFAULT_PURPOSE)
	assert settings.get_policy() == seeded
	make_reauth_settings(0, 0, opt_out_blocks=1, text_opt_out_blocks_calls=0)
	assert settings.get_policy() == replace(seeded, opt_out_blocks=True, text_opt_out_blocks_calls=False)
	make_reauth_settings(0, 0, opt_out_blocks=0)
	doc = make_phone()
	now = frappe.utils.now_datetime() - dt.timedelta(minutes=3)
	args = {"date": now.date().isoformat(), "time": now.strftime("%H:%M:%S")}
	api.opt_in(doctype="Phone", name=doc.name, channel="Call", method="Verbal", **args)
	out = api.opt_out(doctype="Phone", name=doc.name, channel="Call", method="Verbal", **args)
	assert (out["call_opt"], out["active"], out["do_not_call"]) == (0, 1, 0)


# The report ---------------------------------------------------------------------------------------------------


def report_names(filters: dict, mine: set) -> list:
	columns, rows = report.execute(filters)
	assert [c["fieldname"] for c in columns][:2] == ["name", "phone"]
	return [row["name"] for row in rows if row["name"] in mine]


def test_report_lists_phones_due_within_n_days():
	make_reauth_settings(30, 5)
	lapsing = make_texting_phone(31)
	due = make_texting_phone(27)
	later = make_texting_phone(10)  # due in 15 days
	never = make_phone()
	mine = {lapsing.name, due.name, later.name, never.name}

	assert report_names({"due_within": 0}, mine) == [lapsing.name, due.name]
	assert report_names({"due_within": 15}, mine) == [lapsing.name, due.name, later.name]
	lapse.run()
	assert report_names({"due_within": 15}, mine) == [due.name, later.name]
	assert report_names({"due_within": 0, "include_lapsed": 1}, mine) == [due.name, lapsing.name]

	_columns, rows = report.execute({"due_within": 0})
	row = next(r for r in rows if r["name"] == due.name)
	assert (getdate(row["text_opt_in_date"]), row["text_opt_in_method"]) == (days_from_today(-27), "Verbal")
	assert (getdate(row["text_reauth_due_on"]), getdate(row["text_consent_lapses_on"])) == (
		days_from_today(-2),
		days_from_today(3),
	)
	assert row["phone"] == due.phone and "link_name" in row

	frappe.set_user(user("auditor"))
	assert report_names({"due_within": 0}, mine) == [due.name]
	with pytest.raises(frappe.ValidationError, match="cannot be negative"):
		report.execute({"due_within": -1})


def test_report_is_standard_and_open_to_the_consent_roles():
	doc = frappe.get_doc("Report", "Texting Reauthorisation Due")
	assert (doc.report_type, doc.is_standard, doc.ref_doctype) == ("Script Report", "Yes", "Phone")
	assert {r.role for r in doc.roles} == {
		"System Manager",
		"Opt Consent Manager",
		"Opt Consent User",
		"Opt Consent Auditor",
	}
	frappe.set_user(user("outsider"))
	assert not doc.is_permitted()
