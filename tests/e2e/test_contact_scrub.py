"""Contact Scrub in the desk, as an Opt Consent User: a new scrub, a small CSV attached through the upload
dialog, Start Scrub, the job's answers, the summary and Download Result."""

import csv
import io
import re

import frappe
from frappe.utils import add_to_date, now_datetime
from playwright.sync_api import expect

from opt_consent.ledger.consent import ActionRequest, record_action
from opt_consent.scrub import adapter as scrub_job
from tests.e2e.conftest import shot
from tests.e2e.desk import button
from tests.integration.factories import COMMITTED, make_phone, random_number, user

DOCTYPE = "Contact Scrub"


def opted_in_phones(count: int) -> list[str]:
	numbers = []
	for _ in range(count):
		phone = make_phone(random_number(), "Cell")
		at = add_to_date(now_datetime(), days=-2)
		record_action(
			ActionRequest("Phone", phone.name, "Opt In", "Call", at.date(), at.strftime("%H:%M:%S"), "Verbal")
		)
		COMMITTED.append(("Phone", phone.name))
		numbers.append(phone.phone)
	frappe.db.commit()
	return numbers


def run_queued_job(name: str) -> None:
	"""What a worker of the long queue does with the queued job (taken off the queue, run here)."""
	from frappe.utils.background_jobs import get_job

	job = get_job(scrub_job.job_id(name))
	assert job is not None, "Start Scrub queued no job"
	kwargs = job.kwargs["kwargs"]
	assert kwargs == {"name": name, "user": user("user")}
	if job.get_status() != "queued":
		return  # a worker of this bench took it: the form follows it all the same
	job.delete()
	scrub_job.run(**kwargs, inline=True)
	frappe.set_user("Administrator")


def test_scrub_a_small_list_in_the_desk(page, tmp_path):
	numbers = opted_in_phones(2)
	listed = [*numbers, random_number(), "not a number"]
	source = tmp_path / "numbers-to-call.csv"
	source.write_text("phone\n" + "\n".join(listed) + "\n", encoding="utf-8")

	page.goto("/app/contact-scrub/new")
	page.locator(".frappe-control[data-fieldname='channel'] select:visible").select_option("Call")
	page.locator(".frappe-control[data-fieldname='reference'] input:visible").fill("Spring campaign")
	page.keyboard.press("Control+s")
	page.wait_for_url(re.compile(r"/app/contact-scrub/SCRUB-\d+$"))
	name = page.url.rstrip("/").rsplit("/", 1)[-1]
	COMMITTED.append((DOCTYPE, name))
	page.wait_for_function("(name) => window.cur_frm && cur_frm.doc.name === name", arg=name)

	# attach the CSV through the upload dialog, then save
	page.locator(".frappe-control[data-fieldname='input_file'] button:visible").first.click()
	dialog = page.locator(".modal.show .file-uploader")
	expect(dialog).to_be_visible()
	dialog.locator("input[type=file]").set_input_files(str(source))
	page.locator(".modal.show .modal-footer .btn-primary:visible").click()
	page.wait_for_function("() => cur_frm.doc.input_file && cur_frm.doc.input_file.endsWith('.csv')")
	if page.evaluate("cur_frm.is_dirty()"):
		page.keyboard.press("Control+s")
	page.wait_for_function("() => !cur_frm.is_dirty()")
	start = button(page, "Start Scrub")
	expect(start).to_be_visible()
	shot(page, "70-contact-scrub-ready")

	start.click()
	page.wait_for_function("() => ['Queued', 'Running', 'Done'].includes(cur_frm.doc.status)")
	frappe.db.rollback()
	assert frappe.db.get_value(DOCTYPE, name, "status") == "Queued"
	run_queued_job(name)

	# the form follows the job on its own (it polls while queued or running)
	page.wait_for_function("() => cur_frm.doc.status === 'Done'", timeout=60_000)
	summary = page.locator(".contact-scrub-summary")
	expect(summary).to_contain_text("2 of 4 addresses may be contacted now")
	expect(summary).to_contain_text("No consent record for this address.")
	expect(summary).to_contain_text("Not a valid address.")
	download = button(page, "Download Result")
	expect(download).to_be_visible()
	shot(page, "71-contact-scrub-done")

	# the result is the user's to download: the same rows back, one per address
	result_url = page.evaluate("cur_frm.doc.result_file")
	response = page.request.get(result_url)
	assert response.status == 200, response.status
	rows = list(csv.DictReader(io.StringIO(response.text())))
	assert [row["address"] for row in rows] == listed
	assert [row["allowed"] for row in rows] == ["1", "1", "0", "0"]
	assert [row["reason"] for row in rows][2:] == ["unknown_address", "invalid_address"]
