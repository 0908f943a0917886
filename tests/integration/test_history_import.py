"""The consent history import on a real site: dry run, apply, sealed rows, refusals, re-runs, bad input,
permissions, the background job and the bench command."""

import csv
import os
import subprocess
import tempfile
from pathlib import Path

import frappe
import pytest
from frappe.utils import add_days, nowdate

from opt_consent.api.consent import verify_log
from opt_consent.history import adapter as importer
from opt_consent.api import history_import as history_api
from opt_consent.history import job as door
from tests.integration import factories
from tests.integration.bench import BENCH, SITE

COLUMNS = [
	"address",
	"channel",
	"action",
	"date",
	"time",
	"method",
	"operator",
	"party",
	"phone_type",
	"external_id",
]


def write_csv(rows, header=COLUMNS, encoding="utf-8") -> str:
	handle, path = tempfile.mkstemp(suffix=".csv", prefix="oc-history-")
	with os.fdopen(handle, "w", newline="", encoding=encoding) as out:
		writer = csv.writer(out)
		writer.writerow(header)
		for row in rows:
			writer.writerow([row.get(c, "") for c in header])
	return path


def day(n: int) -> str:
	return add_days(nowdate(), -n)


def ev(
	address,
	channel="Call",
	action="Opt In",
	days_ago=30,
	at="09:00",
	method="Verbal",
	operator="jsmith",
	**more,
):
	return {
		"address": address,
		"channel": channel,
		"action": action,
		"date": day(days_ago),
		"time": at,
		"method": method,
		"operator": operator,
		**more,
	}


def run(path, dry_run=False, **options):
	return importer.run(path, importer.Options(dry_run=dry_run, **options))


def phone_of(number):
	key = frappe.db.get_value("Phone", {"phone_e164": number.replace(" ", "")}, "name")
	return key


def log_of(doctype, name):
	return frappe.get_all(
		"Opt Log", filters={"parent": name, "parenttype": doctype}, fields=["*"], order_by="idx asc"
	)


def counts():
	return (
		frappe.db.count("Phone"),
		frappe.db.count("Email"),
		frappe.db.count("Opt Log"),
		frappe.db.count(importer.LEDGER),
	)


@pytest.fixture
def history():
	"""A file with a new phone, a new email, refusals of several kinds, and an unknown method."""
	phone, home, email = factories.random_number(), factories.random_number(), factories.random_email()
	rows = [
		ev(phone, "Call", "Opt In", 40, phone_type="Cell", external_id=f"E-{phone}-1"),
		ev(phone, "Text", "Opt In", 40, "09:01", method="Written", phone_type="Cell"),
		ev(phone, "Text", "Opt Out", 20, method="Text Reply", operator="system"),
		ev(phone, "Call", "Opt Out", 10, operator="mlee"),
		ev(home, "Text", "Opt In", 15, phone_type="Home"),  # texting consent on a non-Cell
		ev(home, "Call", "Opt In", 15, method="Phone Keypad", phone_type="Home"),  # unknown method
		ev(email, "Email", "Opt In", 50, method="Web Form"),
		ev(email, "Email", "Opt Out", 5),
		ev("not-a-number", "Call", "Opt In", 5),
		ev(phone, "Call", "Opt In", 3, at="25:00"),  # impossible time
		ev(email, "Email", "Opt In", -3),  # in the future
	]
	path = write_csv(rows)
	yield {"path": path, "phone": phone, "home": home, "email": email}
	os.unlink(path)


def test_dry_run_writes_nothing_and_says_what_would_happen(history):
	before = counts()
	result = run(history["path"], dry_run=True)
	assert counts() == before
	assert result.rows == 11
	assert result.recorded == 6
	assert result.new_records == 2  # the Home phone gets no record: nothing of it would be recorded
	reasons = {r["code"] for r in result.kept}
	assert {"not_cell", "unknown_method", "bad_phone", "bad_time", "future"} <= reasons
	assert result.unknown_methods == {"Phone Keypad": 1}
	assert result.report_path and Path(result.report_path).read_text().count("\n") == result.refused + 1
	os.unlink(result.report_path)


def test_apply_writes_sealed_rows_that_verify_with_source_import_and_operator(history):
	result = run(history["path"], mapping={"Phone Keypad": "Verbal"})
	assert result.recorded == 7 and result.new_records == 3
	name = phone_of(history["phone"])
	phone = frappe.get_doc("Phone", name)
	assert (phone.call_opt, phone.do_not_call, phone.active, phone.text_opt) == (0, 1, 0, 0)
	assert phone.phone_type == "Cell"
	rows = log_of("Phone", name)
	assert [(r.channel, r.action) for r in rows] == [
		("Call", "Opt In"),
		("Text", "Opt In"),
		("Text", "Opt Out"),
		("Call", "Opt Out"),
	]
	assert {r.source for r in rows} == {"Import"}
	assert [r.operator for r in rows] == ["jsmith", "jsmith", "system", "mlee"]
	assert {r.recorded_by for r in rows} == {"Administrator"}
	assert all(r.row_hash and r.hash_scheme for r in rows)
	assert rows[2].honour_by and rows[0].honour_by is None
	assert verify_log("Phone", name)["ok"]
	home = phone_of(history["home"])
	assert frappe.db.get_value("Phone", home, ["phone_type", "call_opt", "call_opt_in_method"]) == (
		"Home",
		1,
		"Verbal",
	)
	assert verify_log("Phone", home)["ok"]
	email = frappe.db.get_value("Email", {"email_normalized": history["email"]}, "name")
	assert verify_log("Email", email)["ok"]
	assert frappe.db.get_value("Email", email, "email_opt") == 0
	# the opted-out address is kept from Frappe's mailer, as after a desk opt out
	assert frappe.db.exists("Email Unsubscribe", {"email": history["email"], "global_unsubscribe": 1})


def test_rerunning_the_same_file_changes_nothing(history):
	run(history["path"])
	before = counts()
	name = phone_of(history["phone"])
	snapshot = factories.snapshot("Phone", name)
	again = run(history["path"])
	assert again.recorded == 0
	assert again.duplicates == 6
	assert counts() == before
	assert factories.snapshot("Phone", name) == snapshot


def test_an_existing_record_continues_its_chain_and_earlier_events_are_out_of_order():
	from opt_consent.ledger.consent import ActionRequest, record_action

	phone = factories.make_phone()
	record_action(
		ActionRequest("Phone", phone.name, "Opt In", "Call", day(10), "10:00", "Verbal", source="API")
	)
	path = write_csv(
		[
			ev(phone.phone, "Call", "Opt Out", 20),  # before the logged opt in
			ev(phone.phone, "Call", "Opt Out", 5),
			ev(phone.phone, "Text", "Opt In", 4, method="Written"),
		]
	)
	try:
		result = run(path)
	finally:
		os.unlink(path)
	assert result.recorded == 2 and result.new_records == 0
	assert [r["code"] for r in result.kept] == ["out_of_order"]
	rows = log_of("Phone", phone.name)
	assert [(r.idx, r.source) for r in rows] == [(1, "API"), (2, "Import"), (3, "Import")]
	assert rows[1].prev_hash == rows[0].row_hash
	assert verify_log("Phone", phone.name)["ok"]
	doc = frappe.get_doc("Phone", phone.name)
	assert (doc.call_opt, doc.text_opt) == (0, 1)
	assert doc.text_reauth_status  # texting reauthorisation fields stored, as after a desk action


def test_a_party_links_the_record_and_an_unknown_contact_is_refused():
	contact = frappe.get_doc({"doctype": "Contact", "first_name": "Importee"}).insert(ignore_permissions=True)
	number = factories.random_number()
	path = write_csv(
		[
			ev(number, "Call", "Opt In", 9, party=contact.name),
			ev(factories.random_number(), "Call", "Opt In", 9, party="No Such Contact"),
		]
	)
	try:
		result = run(path)
	finally:
		os.unlink(path)
	assert [r["code"] for r in result.kept] == ["no_party"]
	record = frappe.db.get_value(
		"Phone", {"phone_e164": number.replace(" ", "")}, ["link_doctype", "link_name"], as_dict=True
	)
	assert (record.link_doctype, record.link_name) == ("Contact", contact.name)


@pytest.mark.parametrize(
	"content,message",
	[
		(b"address,channel\n+14155550101,Call\n", "lacks the column"),
		(
			"address,channel,action,date,time,method,operator\n+14155550101,Call,Opt In,2025-01-02,09:00,Verbal,Jos\xe9\n".encode(
				"latin-1"
			),
			"not UTF-8",
		),
		(
			b'address,channel,action,date,time,method,operator\n+14155550101,Call,"Opt In,2025\n',
			"not valid CSV",
		),
		(b"", "empty"),
	],
)
def test_a_file_that_cannot_be_read_is_refused_whole_and_writes_nothing(content, message):
	handle, path = tempfile.mkstemp(suffix=".csv")
	os.write(handle, content)
	os.close(handle)
	before = counts()
	try:
		with pytest.raises(importer.ImportFileError) as error:
			run(path)
	finally:
		os.unlink(path)
	assert message in str(error.value)
	assert counts() == before


def test_utf8_with_a_bom_is_read():
	number = factories.random_number()
	path = write_csv([ev(number)], encoding="utf-8-sig")
	try:
		assert run(path, dry_run=True).recorded == 1
	finally:
		os.unlink(path)


def test_a_file_over_the_limit_is_refused_before_it_is_read(monkeypatch):
	monkeypatch.setitem(frappe.local.conf, "opt_consent_import_max_mb", 1)
	handle, path = tempfile.mkstemp(suffix=".csv")
	os.truncate(path, 3 << 20)  # sparse: 3 MB that would take reading to discover
	os.close(handle)
	try:
		with pytest.raises(importer.ImportFileError) as error:
			run(path)
	finally:
		os.unlink(path)
	assert "limit is 1 MB" in str(error.value)


def test_a_mapping_to_a_method_that_does_not_exist_is_refused(history):
	with pytest.raises(importer.ImportFileError):
		run(history["path"], mapping={"Phone Keypad": "Nope"})


def test_an_apply_that_fails_mid_way_keeps_whole_chunks_and_a_rerun_continues(monkeypatch):
	"""Committed for real (as the job commits per chunk), removed afterwards."""
	numbers = [factories.random_number() for _ in range(4)]
	rows = [ev(n, "Call", "Opt In", 9) for n in numbers] + [ev(n, "Call", "Opt Out", 8) for n in numbers]
	path = write_csv(rows)
	original = importer.apply_chunk
	done = []

	def failing(groups, *args):
		if len(done) == 2:
			raise RuntimeError("the worker died")
		original(groups, *args)
		done.append(groups)

	monkeypatch.setattr(importer, "apply_chunk", failing)
	frappe.db.commit()
	created = []
	try:
		with pytest.raises(RuntimeError):
			importer.run(path, importer.Options(dry_run=False, chunk_events=2), None, frappe.db.commit)
		imported = [n for n in numbers if phone_of(n)]
		assert len(imported) == 2  # two whole chunks (one record each) committed, the third rolled back
		created = [("Phone", phone_of(n)) for n in imported]
		for _doctype, name in created:
			assert [r.action for r in log_of("Phone", name)] == ["Opt In", "Opt Out"]
		monkeypatch.setattr(importer, "apply_chunk", original)
		result = importer.run(path, importer.Options(dry_run=False, chunk_events=2), None, frappe.db.commit)
		assert (result.recorded, result.duplicates) == (4, 4)
		created = [("Phone", phone_of(n)) for n in numbers]
		for _doctype, name in created:
			assert [r.action for r in log_of("Phone", name)] == ["Opt In", "Opt Out"]
			assert verify_log("Phone", name)["ok"]
	finally:
		os.unlink(path)
		cleanup(created)


# ---------------------------------------------------------------- the doors


def make_import(path, user="Administrator", **fields):
	file_doc = frappe.get_doc(
		{
			"doctype": "File",
			"file_name": os.path.basename(path),
			"is_private": 1,
			"content": Path(path).read_bytes(),
		}
	).insert(ignore_permissions=True)
	doc = frappe.get_doc({"doctype": door.DOCTYPE, "import_file": file_doc.file_url, **fields})
	return doc.insert()


@pytest.mark.parametrize("key", ["user", "auditor", "outsider"])
def test_only_managers_import(key, history):
	frappe.set_user(factories.user(key))
	with pytest.raises(frappe.PermissionError):
		make_import(history["path"])
	frappe.set_user("Administrator")
	doc = make_import(history["path"])
	frappe.set_user(factories.user(key))
	with pytest.raises(frappe.PermissionError):
		history_api.start(doc.name, door.DRY_RUN)
	with pytest.raises(frappe.PermissionError):
		door.run_file(history["path"], True)


def test_a_manager_starts_a_dry_run_and_apply_waits_for_it(history):
	frappe.set_user(factories.user("manager"))
	doc = make_import(history["path"])
	with pytest.raises(frappe.ValidationError):
		history_api.start(doc.name, door.APPLY)
	assert history_api.start(doc.name, door.DRY_RUN)["status"] == "Dry Run Queued"
	with pytest.raises(frappe.ValidationError):
		history_api.start(doc.name, door.DRY_RUN)  # already running


def test_job_dry_run_then_apply_commits_per_chunk_and_reruns(history):
	"""The background job as a worker runs it (it commits): dry run fills the summary, the refused rows and
	the method mapping; apply records; a second apply records nothing. The data is removed afterwards."""
	doc = make_import(history["path"])
	frappe.db.commit()
	created = []
	try:
		door.run_job(doc.name, door.DRY_RUN, inline=True)
		doc.reload()
		assert (doc.status, doc.total_rows, doc.recorded, doc.refused_count) == ("Dry Run Done", 11, 6, 5)
		assert counts()[3] == frappe.db.count(importer.LEDGER)
		assert not phone_of(history["phone"])
		assert [(m.from_method, m.rows, m.to_method) for m in doc.method_mapping] == [
			("Phone Keypad", 1, None)
		]
		assert len(doc.refused_rows) == 5 and doc.report_file
		doc.method_mapping[0].to_method = "Verbal"
		doc.save()
		frappe.db.commit()
		door.run_job(doc.name, door.APPLY, inline=True)
		doc.reload()
		assert (doc.status, doc.recorded, doc.new_records) == ("Applied", 7, 3)
		created = [("Phone", phone_of(history["phone"])), ("Phone", phone_of(history["home"]))]
		created.append(
			("Email", frappe.db.get_value("Email", {"email_normalized": history["email"]}, "name"))
		)
		assert all(name for _d, name in created)
		door.run_job(doc.name, door.APPLY, inline=True)
		doc.reload()
		assert (doc.recorded, doc.duplicates) == (0, 7)
	finally:
		cleanup(created, doc.name)


def test_the_job_keeps_its_run_and_a_refused_file_leaves_none():
	"""A run per Dry Run or Apply, linked from the import, with one chunk per bucket, Completed; a file
	refused by the first pass fails the import and keeps no run."""
	good = make_import(write_csv([ev(factories.random_number())]))
	bad = make_import(write_csv([{"address": "x"}], header=["address"]))
	frappe.db.commit()
	try:
		door.run_job(good.name, door.DRY_RUN, inline=True, buckets=3)
		good.reload()
		assert good.status == "Dry Run Done" and good.consent_run
		run = frappe.get_doc("Opt Consent Run", good.consent_run)
		assert (run.kind, run.status, run.reference_name) == ("Import", "Completed", good.name)
		assert run.chunks_total == run.chunks_done == 1  # one non-empty bucket of the three
		assert door.run_job(bad.name, door.DRY_RUN, inline=True) is None
		bad.reload()
		assert bad.status == "Failed" and bad.error_message and not bad.consent_run
		assert not frappe.get_all("Opt Consent Run", filters={"reference_name": bad.name})
	finally:
		frappe.db.rollback()
		for run in frappe.get_all(
			"Opt Consent Run", filters={"reference_name": ["in", [good.name, bad.name]]}
		):
			frappe.delete_doc("Opt Consent Run", run.name, force=True, ignore_permissions=True)
		for name in (good.name, bad.name):
			cleanup([], name)


def cleanup(records, import_name=None):
	frappe.db.rollback()
	for doctype, name in records:
		if name:
			frappe.db.sql(
				"delete ledger from `tabConsent History Import Ledger` ledger join `tabOpt Log` log "
				"on log.name = ledger.log_row where log.parent = %s",
				name,
			)
			frappe.db.delete("Opt Log", {"parent": name, "parenttype": doctype})
			frappe.db.delete(doctype, {"name": name})
	if import_name:
		frappe.db.delete(importer.LEDGER, {"history_import": import_name})
		frappe.db.delete("File", {"attached_to_doctype": door.DOCTYPE, "attached_to_name": import_name})
		frappe.db.delete(door.DOCTYPE, {"name": import_name})
	frappe.db.commit()


def bench(*args):
	return subprocess.run(
		["bench", "--site", SITE, *args], cwd=BENCH, capture_output=True, text=True, timeout=300
	)


def test_the_bench_command_dry_runs_applies_and_refuses_a_bad_file(history):
	before = counts()
	done = bench("opt-consent-import", history["path"], "--dry-run")
	assert done.returncode == 0, done.stderr
	assert "would be recorded: 6" in done.stdout
	assert 'unknown method "Phone Keypad"' in done.stdout
	assert counts() == before
	bad = write_csv([{"address": "x"}], header=["address", "channel"])
	try:
		refused = bench("opt-consent-import", bad)
	finally:
		os.unlink(bad)
	assert refused.returncode == 1
	assert "lacks the column" in refused.stderr
	created = []
	try:
		applied = bench("opt-consent-import", history["path"], "--map", "Phone Keypad=Verbal")
		assert applied.returncode == 0, applied.stderr
		assert "recorded: 7" in applied.stdout
		frappe.db.rollback()  # a fresh snapshot: the command committed in its own process
		created = [("Phone", phone_of(history["phone"])), ("Phone", phone_of(history["home"]))]
		created.append(
			("Email", frappe.db.get_value("Email", {"email_normalized": history["email"]}, "name"))
		)
		assert verify_log("Phone", created[0][1])["ok"]
		again = bench("opt-consent-import", history["path"], "--map", "Phone Keypad=Verbal")
		assert "recorded: 0" in again.stdout and "already imported: 7" in again.stdout
	finally:
		cleanup(created)


def file_with_a_bad_byte_on(line: int) -> tuple[str, int]:
	"""A CSV whose first byte that is not UTF-8 (Latin-1 é) is on ``line``; its path and that byte's offset."""
	header = ",".join(COLUMNS[:7]) + "\n"
	good = "".join(
		f"+1415555{i % 10000:04d},Call,Opt In,{day(30)},09:00,Verbal,jsmith\n" for i in range(line - 2)
	)
	data = (header + good).encode() + f"+14155550199,Call,Opt In,{day(30)},09:00,Verbal,Jos".encode()
	offset = len(data)
	data += "\xe9\n".encode("latin-1") + (header.replace("address", "x") * 50).encode()
	handle, path = tempfile.mkstemp(suffix=".csv", prefix="oc-history-")
	os.write(handle, data)
	os.close(handle)
	return path, offset


def test_the_bench_command_names_the_line_and_byte_of_a_bad_byte():
	"""Line 2,501 of a 150 KB file, past two 64 KiB blocks: named as line 2,501, not where its block starts."""
	path, offset = file_with_a_bad_byte_on(2501)
	before = counts()
	try:
		assert os.path.getsize(path) > 2 * (1 << 16)
		refused = bench("opt-consent-import", path)
	finally:
		os.unlink(path)
	assert refused.returncode == 1, refused.stdout
	assert f"line 2501 holds its first byte that is not (at byte offset {offset})" in refused.stderr
	assert counts() == before


def test_the_desk_import_names_the_line_and_byte_of_a_bad_byte():
	path, offset = file_with_a_bad_byte_on(4)
	doc = make_import(path)
	frappe.db.commit()
	try:
		door.run_job(doc.name, door.DRY_RUN, inline=True)
		doc.reload()
		assert doc.status == "Failed"
		assert f"line 4 holds its first byte that is not (at byte offset {offset})" in doc.error_message
	finally:
		os.unlink(path)
		cleanup([], doc.name)
