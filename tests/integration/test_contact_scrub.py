"""Contact Scrub on the real site: a CSV of mixed addresses answered exactly as ``contact_control.scrub``
answers the same list (the job called in-process, through ``frappe.enqueue(now=True)``, and once by a real
``bench worker`` process), bad files refused with a clear message and nothing attached, a re-run replacing
its result, and who may create, read and start a scrub."""

import csv
import io
import os
import subprocess
import sys
import time

import frappe
import pytest
import redis
from frappe.utils import add_to_date, now_datetime
from frappe.utils.background_jobs import get_job

from opt_consent.contact_control import adapter as contact_control
from opt_consent.contact_control import rules as cc
from opt_consent.gate import rules as gate
from opt_consent.ledger.consent import ActionRequest, record_action
from opt_consent.opt_consent.doctype.contact_scrub.contact_scrub import start_scrub
from opt_consent.scrub import adapter as scrub_job
from tests.integration.bench import BENCH, SITES
from tests.integration.conftest import ARTIFACTS
from tests.integration.factories import COMMITTED, make_phone, random_number, user
from tests.integration.http import Client, message_of

SETTINGS = "Opt Consent Settings"
DOCTYPE = "Contact Scrub"
START = "/api/method/opt_consent.opt_consent.doctype.contact_scrub.contact_scrub.start_scrub"


# --- helpers -------------------------------------------------------------------------------------------


@pytest.fixture(scope="module", autouse=True)
def keep_settings(site):
	"""The worker test commits rules: put the site's rules back afterwards."""
	before = frappe.get_doc(SETTINGS)
	rows = [
		{k: v for k, v in row.as_dict().items() if k not in ("name", "idx")} for row in before.contact_rules
	]
	yield
	frappe.db.rollback()
	settings = frappe.get_doc(SETTINGS)
	settings.set("contact_rules", rows)
	settings.save()
	frappe.db.commit()
	frappe.clear_document_cache(SETTINGS, SETTINGS)


@pytest.fixture
def no_commit(monkeypatch):
	"""The job commits per chunk (and rolls a failed one back); in-process runs keep everything in the test's
	transaction instead, rolled back after the test."""
	monkeypatch.setattr(scrub_job, "commit", lambda: None)
	monkeypatch.setattr(scrub_job, "rollback", lambda: None)


def set_rules(*rows):
	settings = frappe.get_doc(SETTINGS)
	settings.set("contact_rules", [{"enabled": 1, "counts_per": cc.PER_ADDRESS, **row} for row in rows])
	settings.save()
	frappe.clear_document_cache(SETTINGS, SETTINGS)


CAP = {
	"rule_name": "scrub cap",
	"kind": cc.FREQUENCY_CAP,
	"channels": "Call",
	"max_attempts": 2,
	"window_days": 7,
}


def opted_in(channel="Call", then_out=False):
	phone = make_phone(random_number(), "Cell")
	at = add_to_date(now_datetime(), days=-2)
	record_action(
		ActionRequest("Phone", phone.name, "Opt In", channel, at.date(), at.strftime("%H:%M:%S"), "Verbal")
	)
	if then_out:
		at = add_to_date(now_datetime(), days=-1)
		record_action(
			ActionRequest(
				"Phone", phone.name, "Opt Out", channel, at.date(), at.strftime("%H:%M:%S"), "Verbal"
			)
		)
	return frappe.get_doc("Phone", phone.name)


def mixed_list() -> dict[str, str]:
	"""One address of each kind; the capped one has two calls within the cap's window."""
	set_rules(CAP)
	allowed, capped, out = opted_in(), opted_in(), opted_in(then_out=True)
	for minutes in (90, 30):
		at = add_to_date(now_datetime(), minutes=-minutes)
		contact_control.record_attempt("Call", capped.phone_e164, cc.NO_ANSWER, at)
	return {
		"allowed": allowed.phone,  # as people type it, not the stored form
		"capped": capped.phone_e164,
		"opted_out": out.phone_e164,
		"unknown": random_number(),  # valid, with no record
		"invalid": "not a number",
	}


def csv_bytes(rows: list[list[str]]) -> bytes:
	out = io.StringIO()
	csv.writer(out).writerows(rows)
	return out.getvalue().encode()


def new_scrub(content: bytes, channel="Call", file_name="list.csv", **fields):
	doc = frappe.get_doc({"doctype": DOCTYPE, "channel": channel, **fields})
	doc.insert()
	file = frappe.get_doc(
		{
			"doctype": "File",
			"file_name": file_name,
			"attached_to_doctype": DOCTYPE,
			"attached_to_name": doc.name,
			"attached_to_field": "input_file",
			"is_private": 1,
			"content": content,
		}
	).insert()
	doc.reload()
	doc.input_file = file.file_url
	doc.save()
	return doc


def result_of(doc) -> list[dict]:
	file = frappe.get_doc("File", {"file_url": doc.result_file, "attached_to_name": doc.name})
	with open(file.get_full_path(), newline="", encoding="utf-8") as handle:
		return list(csv.DictReader(handle))


def expected_rows(addresses, doc) -> list[dict]:
	rows = contact_control.scrub(doc.channel, addresses, doc.scrubbed_at, doc.reference)
	return [
		{
			"address": row["address"],
			"allowed": "1" if row["allowed"] else "0",
			"reason": row["reason"],
			"rule": row["rule"] or "",
			"next_allowed_at": row["next_allowed_at"].strftime("%Y-%m-%d %H:%M:%S")
			if row["next_allowed_at"]
			else "",
		}
		for row in rows
	]


def without_label(rows: list[dict]) -> list[dict]:
	return [{k: v for k, v in row.items() if k != "reason_label"} for row in rows]


def result_files(doc) -> list[str]:
	return frappe.get_all(
		"File",
		filters={
			"attached_to_doctype": DOCTYPE,
			"attached_to_name": doc.name,
			"attached_to_field": "result_file",
		},
		pluck="file_url",
	)


# --- the answers ---------------------------------------------------------------------------------------


def test_the_result_csv_answers_each_address_as_scrub_does(no_commit):
	kinds = mixed_list()
	addresses = list(kinds.values())
	frappe.set_user(user("user"))
	doc = new_scrub(csv_bytes([["number"], *[[a] for a in addresses]]))
	frappe.enqueue(scrub_job.run, queue="long", now=True, name=doc.name, user=user("user"), inline=True)
	frappe.set_user("Administrator")
	doc.reload()
	assert (doc.status, doc.error, doc.started_by) == ("Done", None, user("user"))
	assert (doc.total, doc.processed, doc.allowed_count) == (5, 5, 1)
	rows = result_of(doc)
	assert list(rows[0]) == ["address", "allowed", "reason", "reason_label", "rule", "next_allowed_at"]
	frappe.set_user(user("user"))
	assert without_label(rows) == expected_rows(addresses, doc)
	frappe.set_user("Administrator")
	by_kind = dict(zip(kinds, rows, strict=True))
	assert by_kind["allowed"]["reason"] == gate.OPTED_IN and by_kind["allowed"]["allowed"] == "1"
	assert (by_kind["capped"]["reason"], by_kind["capped"]["rule"]) == (cc.REASON_FREQUENCY_CAP, "scrub cap")
	assert by_kind["capped"]["next_allowed_at"] > by_kind["allowed"]["next_allowed_at"]
	assert by_kind["capped"]["reason_label"] == "Too many attempts within the rule's window."
	assert by_kind["opted_out"]["reason"] == gate.OPTED_OUT and by_kind["opted_out"]["next_allowed_at"] == ""
	assert by_kind["invalid"]["reason"] == gate.INVALID_ADDRESS
	assert by_kind["unknown"]["reason"] in (gate.UNKNOWN_ADDRESS, gate.INVALID_ADDRESS)
	counts = {row["reason"]: row["count"] for row in frappe.parse_json(doc.reason_counts)}
	assert counts[gate.OPTED_IN] == 1 and counts[cc.REASON_FREQUENCY_CAP] == 1 and sum(counts.values()) == 5
	# the result is a private file only readers of the scrub may download
	file = frappe.get_doc("File", {"file_url": doc.result_file})
	assert file.is_private and file.file_size == os.path.getsize(file.get_full_path())
	assert frappe.has_permission("File", "read", file, user=user("user"))
	assert not frappe.has_permission("File", "read", file, user=user("outsider"))


def test_a_file_of_many_columns_larger_than_a_chunk_keeps_the_order(no_commit, monkeypatch):
	monkeypatch.setattr(scrub_job, "CHUNK", 3)
	set_rules()
	phones = [opted_in() for _ in range(2)]
	addresses = [phones[0].phone_e164, "nonsense", phones[1].phone, "", "+44 20 7946 0000", phones[0].phone]
	rows = [["Name", "Mobile", "Note"]] + [[f"n{i}", a, "x"] for i, a in enumerate(addresses)]
	doc = new_scrub(csv_bytes(rows).replace(b",", b";"))  # a spreadsheet's semicolons
	scrub_job.run(doc.name, "Administrator", inline=True)
	doc.reload()
	assert doc.status == "Done", doc.error
	assert without_label(result_of(doc)) == expected_rows(addresses, doc)
	assert doc.processed == doc.total == 6


def test_running_again_replaces_the_result(no_commit):
	set_rules()
	phone = opted_in()
	doc = new_scrub(csv_bytes([[phone.phone_e164]]))
	scrub_job.run(doc.name, "Administrator", inline=True)
	doc.reload()
	first = doc.result_file
	assert doc.status == "Done" and result_files(doc) == [first]
	at = add_to_date(now_datetime(), minutes=-1)
	record_action(
		ActionRequest("Phone", phone.name, "Opt Out", "Call", at.date(), at.strftime("%H:%M:%S"), "Verbal")
	)
	scrub_job.run(doc.name, "Administrator", inline=True)
	doc.reload()
	assert doc.status == "Done" and result_files(doc) == [doc.result_file]
	assert [row["reason"] for row in result_of(doc)] == [gate.OPTED_OUT]
	# a changed list makes the scrub a Draft again, without the stale result
	doc.channel = "Text"
	doc.save()
	assert (doc.status, doc.result_file, doc.error) == ("Draft", None, None) and not doc.total
	assert result_files(doc) == []


def test_the_job_runs_with_the_permissions_of_who_started_it(no_commit):
	doc = new_scrub(csv_bytes([["+14155550100"]]))
	scrub_job.run(doc.name, user("outsider"), inline=True)  # no read permission on Phone
	frappe.set_user("Administrator")
	doc.reload()
	assert doc.status == "Failed" and doc.result_file is None
	assert "may not read Phone records" in doc.error, doc.error


# --- bad files -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
	("content", "message"),
	[
		("Müller,+14155550100\n".encode("latin-1"), "not UTF-8"),
		(b"\xef\xbb\xbf", "empty"),
		(b"\n \n", "empty"),
		(b"number\n", "empty"),
		(b"name,city\nAda,London\n", "none is named address"),
		(b'number\n"+14155550100\n', "not valid CSV"),
		(b"number\n+1415\x00550100\n", "not UTF-8"),
		("number\n+14155550100\n".encode("utf-16"), "not UTF-8"),
	],
	ids=["latin-1", "empty", "blank", "header-only", "no-address-column", "open-quote", "nul", "utf-16"],
)
def test_a_file_that_cannot_be_read_is_refused_and_nothing_is_attached(no_commit, content, message):
	doc = new_scrub(content)
	runs_before = frappe.db.count("Opt Consent Run")
	scrub_job.run(doc.name, "Administrator", inline=True)
	doc.reload()
	assert doc.status == "Failed"
	assert message in doc.error, doc.error
	assert doc.result_file is None and result_files(doc) == []
	assert not frappe.get_all("Error Log", filters={"reference_name": doc.name})  # a refusal, not a crash
	# no run is kept for a file refused before any part was planned
	assert doc.consent_run is None
	assert frappe.db.count("Opt Consent Run") == runs_before


def test_a_file_over_the_limit_is_refused_before_it_is_read(no_commit, monkeypatch):
	monkeypatch.setattr(scrub_job, "max_bytes", lambda: 64)
	doc = new_scrub(csv_bytes([[random_number()] for _ in range(20)]))
	scrub_job.run(doc.name, "Administrator", inline=True)
	doc.reload()
	assert doc.status == "Failed" and "the limit is" in doc.error and result_files(doc) == []


def test_a_file_of_another_document_cannot_be_scrubbed(no_commit):
	# content no other test uploads (Frappe shares the disk file of identical uploads, and an owner of any
	# File of that content may read it)
	mine = new_scrub(csv_bytes([[random_number()], [frappe.generate_hash()]]), file_name="theirs.csv")
	frappe.set_user(user("user"))
	with pytest.raises(frappe.ValidationError, match="not found"):
		frappe.get_doc({"doctype": DOCTYPE, "channel": "Call", "input_file": mine.input_file}).insert()
	assert not frappe.db.exists("File", {"file_url": mine.input_file, "owner": user("user")})
	theirs = frappe.get_doc({"doctype": DOCTYPE, "channel": "Call"}).insert()
	with pytest.raises(frappe.ValidationError, match="not found"):
		theirs.input_file = mine.input_file
		theirs.save()
	# set behind the form's back: starting refuses it, and so does the job
	theirs.reload()
	theirs.db_set("input_file", mine.input_file)
	with pytest.raises(frappe.ValidationError, match="not found"):
		start_scrub(theirs.name)
	scrub_job.run(theirs.name, user("user"), inline=True)
	assert frappe.db.get_value(DOCTYPE, theirs.name, ["status", "result_file"]) == ("Failed", None)
	assert "not found" in frappe.db.get_value(DOCTYPE, theirs.name, "error")


def test_the_job_fields_are_the_jobs_alone():
	doc = frappe.get_doc(
		{"doctype": DOCTYPE, "channel": "Call", "status": "Done", "result_file": "/private/files/x.csv"}
	).insert()
	assert (doc.status, doc.result_file) == ("Draft", None)
	doc.status, doc.allowed_count = "Done", 7
	doc.save()
	assert doc.status == "Draft" and not doc.allowed_count


# --- starting, and who may ----------------------------------------------------------------------------


def delete_job(name):
	if job := get_job(scrub_job.job_id(name)):
		job.delete()


def test_start_queues_one_job_per_scrub(server):
	set_rules()
	frappe.set_user(user("user"))
	doc = new_scrub(csv_bytes([["+14155550100"]]))
	frappe.set_user("Administrator")
	frappe.db.commit()
	COMMITTED.append((DOCTYPE, doc.name))
	try:
		client = Client(server, "user")
		response = client.post(START, name=doc.name)
		assert response.status_code == 200, message_of(response)
		assert response.json()["message"]["status"] == "Queued"
		job = get_job(scrub_job.job_id(doc.name))
		assert job is not None and job.origin.endswith(":long")
		assert job.kwargs["kwargs"] == {"name": doc.name, "user": user("user")}
		again = client.post(START, name=doc.name)
		assert again.status_code == 417 and "already queued" in message_of(again), again.text
		assert client.get(START, name=doc.name).status_code in (403, 405)  # POST only
	finally:
		delete_job(doc.name)


def test_who_may_create_read_and_start_a_scrub(server):
	frappe.set_user(user("manager"))
	managers = new_scrub(csv_bytes([["+14155550100"]]))
	frappe.set_user(user("user"))
	users = new_scrub(csv_bytes([["+14155550100"]]))
	frappe.set_user("Administrator")
	frappe.db.commit()
	COMMITTED.extend([(DOCTYPE, managers.name), (DOCTYPE, users.name)])
	try:
		resource = f"/api/resource/{DOCTYPE}"
		# Opt Consent User: only their own
		user_client = Client(server, "user")
		listed = user_client.get(resource, fields='["name"]', limit_page_length=0).json()["data"]
		assert users.name in {r["name"] for r in listed} and managers.name not in {r["name"] for r in listed}
		assert user_client.get(f"{resource}/{managers.name}").status_code == 403
		assert user_client.post(START, name=managers.name).status_code == 403
		# Manager: every scrub; Auditor: read every scrub, start none, create none
		assert Client(server, "manager").get(f"{resource}/{users.name}").status_code == 200
		auditor = Client(server, "auditor")
		assert auditor.get(f"{resource}/{managers.name}").status_code == 200
		assert auditor.post(START, name=managers.name).status_code == 403
		assert auditor.post(resource, channel="Call").status_code == 403
		# outsiders and guests: nothing
		for key in ("outsider", None):
			client = Client(server, key)
			assert client.post(resource, channel="Call").status_code == 403
			assert client.get(f"{resource}/{users.name}").status_code == 403
			assert client.post(START, name=users.name).status_code == 403
		# the result of someone else's scrub cannot be downloaded either
		created = user_client.post(resource, channel="Email")
		assert created.status_code == 200, created.text
		COMMITTED.append((DOCTYPE, created.json()["data"]["name"]))
		assert created.json()["data"]["status"] == "Draft"
	finally:
		for name in (managers.name, users.name):
			delete_job(name)


def test_a_scrub_is_not_started_again_while_its_parts_wait_and_a_stale_part_counts_nothing(no_commit):
	from opt_consent.jobs import rules as chunks

	doc = new_scrub(csv_bytes([[random_number()] for _ in range(30)]))
	first = scrub_job.run(doc.name, "Administrator", queue_name="opt_consent_test", part_size=10)
	try:
		doc.reload()
		assert (doc.status, doc.consent_run, doc.total) == ("Running", first, 30)
		with pytest.raises(frappe.ValidationError, match="already queued or running"):
			scrub_job.start(doc.name)  # its three parts wait in the queue (no worker consumes it here)
	finally:
		for no in range(3):
			if job := get_job(chunks.job_id(first, no)):
				job.delete()
	# the parts' jobs are gone (a flushed queue, say): the scrub may start again, and a part of the old run
	# then counts nothing
	second = scrub_job.run(doc.name, "Administrator", inline=True, part_size=10)
	doc.reload()
	assert (doc.status, doc.consent_run, doc.processed) == ("Done", second, 30)
	assert scrub_job.run_chunk(first, 0) == 0
	doc.reload()
	assert doc.processed == 30


# --- a real worker ------------------------------------------------------------------------------------

# A Redis database of the queue server that no one else's jobs go to: the worker started here runs this
# test's job and nothing else (a bench's queues are shared by all its sites).
WORKER_QUEUE_DB = int(os.environ.get("OPT_CONSENT_WORKER_DB", "11"))


@pytest.fixture
def own_queue(monkeypatch):
	from frappe.utils import background_jobs

	url = (
		frappe.conf.redis_queue.rsplit("/", 1)[0]
		if frappe.conf.redis_queue.count("/") > 2
		else frappe.conf.redis_queue
	)
	url = f"{url}/{WORKER_QUEUE_DB}"
	connection = redis.Redis.from_url(url)
	monkeypatch.setattr(background_jobs, "_redis_queue_conn", connection)
	yield url
	connection.close()


def test_a_real_worker_runs_the_queued_scrub(server, own_queue):
	kinds = mixed_list()
	addresses = list(kinds.values())
	frappe.set_user(user("user"))
	doc = new_scrub(csv_bytes([[a] for a in addresses]))
	frappe.set_user("Administrator")
	keys = [contact_control.normalize("Phone", kinds[k]) for k in ("allowed", "capped", "opted_out")]
	phones = frappe.get_all("Phone", filters={"phone_e164": ["in", keys]}, pluck="name")
	attempts = frappe.get_all("Contact Attempt", filters={"address": kinds["capped"]}, pluck="name")
	frappe.db.commit()
	COMMITTED.extend([("Phone", p) for p in phones] + [("Contact Attempt", a) for a in attempts])
	COMMITTED.append((DOCTYPE, doc.name))
	frappe.set_user(user("user"))
	assert start_scrub(doc.name)["status"] == "Queued"
	frappe.db.commit()  # the job is enqueued after the commit
	frappe.set_user("Administrator")
	ARTIFACTS.mkdir(parents=True, exist_ok=True)
	log = open(ARTIFACTS / "contact-scrub-worker.log", "w")
	worker = subprocess.Popen(
		[
			sys.executable,
			"-m",
			"frappe.utils.bench_helper",
			"frappe",
			"--site",
			frappe.local.site,
			"worker",
			"--queue",
			"long",
		],
		cwd=SITES,
		env={**os.environ, "FRAPPE_REDIS_QUEUE": own_queue},
		stdout=log,
		stderr=subprocess.STDOUT,
	)
	try:
		deadline = time.monotonic() + 120
		while time.monotonic() < deadline:
			frappe.db.rollback()
			if frappe.db.get_value(DOCTYPE, doc.name, "status") in ("Done", "Failed"):
				break
			assert worker.poll() is None, f"the worker stopped; see {log.name}"
			time.sleep(0.5)
	finally:
		worker.terminate()
		try:
			worker.wait(timeout=30)
		except subprocess.TimeoutExpired:
			worker.kill()
		log.close()
	doc.reload()
	assert doc.status == "Done", (
		doc.status,
		doc.error,
		(ARTIFACTS / "contact-scrub-worker.log").read_text()[-2000:],
	)
	assert (doc.started_by, doc.total, doc.allowed_count) == (user("user"), 5, 1)
	COMMITTED.append(("File", frappe.db.get_value("File", {"file_url": doc.result_file}, "name")))
	frappe.set_user(user("user"))
	assert without_label(result_of(doc)) == expected_rows(addresses, doc)
	frappe.set_user("Administrator")
	assert BENCH.exists()


# --- the scrub's shortcuts -----------------------------------------------------------------------------


def contact_in(state: str):
	contact = frappe.get_doc(
		{"doctype": "Contact", "first_name": "Scrub " + frappe.generate_hash(length=6)}
	).insert(ignore_permissions=True)
	frappe.get_doc(
		{
			"doctype": "Address",
			"address_title": contact.name,
			"address_line1": "1 Main Street",
			"city": "Somewhere",
			"state": state,
			"country": "United States",
			"links": [{"link_doctype": "Contact", "link_name": contact.name}],
		}
	).insert(ignore_permissions=True)
	return contact


def attempts_on(phone, *ago_outcome_reference):
	spec = contact_control.CHANNELS["Call"]
	record = frappe._dict(name=phone.name, link_doctype=phone.link_doctype, link_name=phone.link_name)
	for hours_ago, outcome, reference in ago_outcome_reference:
		at = add_to_date(now_datetime(), hours=-hours_ago)
		contact_control.new_attempt(
			spec, phone.phone_e164, outcome, at, cc.SOURCE_API, record=record, reference=reference
		)


@pytest.mark.parametrize("jurisdiction", [None, "United States"])
def test_the_scrubs_shortcuts_change_no_answer(monkeypatch, jurisdiction):
	"""The scrub shares one allowed-hours verdict among addresses whose attempts stay under every cap and
	hold, reads a number's zones without its region when no rule names a jurisdiction, and decides records
	alike once: every answer is the one the full evaluation of each address gives."""
	place = {"country": jurisdiction} if jurisdiction else {}
	set_rules(
		{**CAP, "rule_name": "2 per address", **place},
		{**CAP, "rule_name": "3 per party", "max_attempts": 3, "counts_per": cc.PER_PARTY},
		{
			"rule_name": "hold",
			"kind": cc.HOLD_AFTER_OUTCOME,
			"channels": "Call",
			"window_days": 7,
			"outcomes": cc.CONVERSATION,
			"counts_per": cc.PER_PARTY_REFERENCE,
		},
		{
			"rule_name": "hours",
			"kind": cc.ALLOWED_HOURS,
			"channels": "Call",
			"start_time": "08:00:00",
			"end_time": "21:00:00",
			**place,
		},
	)
	california, texas = contact_in("California"), contact_in("Texas")
	alone = [opted_in() for _ in range(3)]
	attempts_on(alone[1], (2, cc.NO_ANSWER, None))
	attempts_on(alone[2], (3, cc.NO_ANSWER, None), (2, cc.VOICEMAIL, None))
	party = []
	for contact in (california, california, texas, texas):
		phone = opted_in()
		phone.db_set({"link_doctype": "Contact", "link_name": contact.name})
		party.append(frappe.get_doc("Phone", phone.name))
	attempts_on(party[0], (5, cc.NO_ANSWER, "D1"), (4, cc.NO_ANSWER, "D2"))
	attempts_on(party[1], (1, cc.NO_ANSWER, "D1"))
	attempts_on(party[2], (24, cc.CONVERSATION, "D1"))
	shared = make_phone(party[3].phone_e164, "Cell")  # a second record of a number, of no party
	record_action(
		ActionRequest(
			"Phone",
			shared.name,
			"Opt In",
			"Call",
			add_to_date(now_datetime(), days=-2).date(),
			"09:00:00",
			"Verbal",
		)
	)
	addresses = [p.phone_e164 for p in alone + party] + ["+44 20 7946 0000", random_number(), "nonsense"]

	moments = [add_to_date(now_datetime(), hours=h) for h in (0, 7, 13, 30)]

	def answers():
		return [
			contact_control.scrub("Call", addresses, moment, reference)
			for moment in moments
			for reference in (None, "D1", "D2")
		]

	fast = answers()
	monkeypatch.setattr(contact_control.Scrubber, "under_limits", lambda self, subject, attempts: False)
	monkeypatch.setattr(
		contact_control.Scrubber,
		"place",
		lambda self, key, party: contact_control.where(self.spec, key, self.locations.get(party)),
	)
	monkeypatch.setattr(contact_control.Scrubber, "verdict", slow_verdict)
	slow = answers()
	assert fast == slow
	reasons = {row["reason"] for rows in fast for row in rows}
	assert {cc.REASON_FREQUENCY_CAP, cc.REASON_CONVERSATION_HOLD, gate.UNKNOWN_ADDRESS} <= reasons, reasons
	assert {gate.OPTED_IN, cc.REASON_OUTSIDE_HOURS} & reasons, reasons


def slow_verdict(self, key, records):
	"""Scrubber.verdict without its one-record shortcut."""
	if not self.rules:
		return cc.Verdict(True, cc.ALLOWED, None, self.at.astimezone(cc.UTC))
	return self.over_parties(key, records)
