"""Consent on Frappe's Contact, through the doors: REST and frappe.client as an Opt Consent User, Data
Import, rename and merge, removing and re-adding a number, the same number on two Contacts, a consent
action on the Contact's timeline, and the Consent section's read method."""

import frappe
import pytest
from frappe.desk.form.load import get_docinfo
from frappe.model.rename_doc import rename_doc

from opt_consent.api import consent as api
from opt_consent.contact.adapter import sync
from opt_consent.gate.adapter import can_contact
from tests.integration.factories import COMMITTED, random_email, random_number, user, when
from tests.integration.http import Client, message_of
from tests.integration.test_bad_input import run_import


def e164(number: str) -> str:
	return number.replace(" ", "")


def make_contact(phones=(), emails=(), owner: str | None = None):
	"""A Contact (rolled back after the test) saved by ``owner``: ``phones`` are (number, is mobile) pairs."""
	frappe.set_user(owner or "Administrator")
	try:
		return frappe.get_doc(
			{
				"doctype": "Contact",
				"first_name": f"OC {frappe.generate_hash(length=8)}",
				"phone_nos": [{"phone": n, "is_primary_mobile_no": int(m)} for n, m in phones],
				"email_ids": [{"email_id": e, "is_primary": int(i == 0)} for i, e in enumerate(emails)],
			}
		).insert()
	finally:
		frappe.set_user("Administrator")


def records_of(contact: str, doctype: str = "Phone") -> list[dict]:
	key = "phone_e164" if doctype == "Phone" else "email_normalized"
	kind = "phone_type" if doctype == "Phone" else "email_type"
	return frappe.get_all(
		doctype,
		filters={"link_doctype": "Contact", "link_name": contact},
		fields=["name", key, kind, "owner", "link_name"],
		order_by="creation asc, name asc",
	)


def committed(contact: str) -> None:
	"""Remove a Contact the web server committed, and its records first (they link to it), at the end."""
	COMMITTED.append(("Contact", contact))
	for doctype in ("Phone", "Email"):
		COMMITTED.extend((doctype, r.name) for r in records_of(contact, doctype))


# --- the sync -----------------------------------------------------------------------------------------


def test_saving_a_contact_creates_one_record_per_number_and_address():
	mobile, landline, email = random_number(), random_number(), random_email().upper()
	contact = make_contact([(mobile, True), (landline, False), (mobile, False)], [email])
	phones = records_of(contact.name)
	assert {(p.phone_e164, p.phone_type) for p in phones} == {
		(e164(mobile), "Cell"),
		(e164(landline), "Other"),
	}
	assert [(e.email_normalized, e.email_type) for e in records_of(contact.name, "Email")] == [
		(email.lower(), "Personal")
	]
	# Frappe keeps mobile_no / email_id in step with the tables: nothing more to create
	assert contact.mobile_no == mobile and contact.email_id == email
	contact.save()
	assert len(records_of(contact.name)) == 2 and len(records_of(contact.name, "Email")) == 1


def test_a_synced_record_is_the_record_the_controller_would_insert():
	"""Created set-based, the record holds what doc.insert would store, and takes consent actions."""
	number = random_number()
	contact = make_contact([(number, True)])
	synced = frappe.get_doc("Phone", records_of(contact.name)[0].name)
	inserted = frappe.get_doc(
		{"doctype": "Phone", "phone": number, "phone_type": "Cell", "link_doctype": "Contact"}
	).insert(ignore_permissions=True)
	skip = {"name", "creation", "modified", "link_name"}
	assert {k: v for k, v in synced.as_dict().items() if k not in skip} == {
		k: v for k, v in inserted.as_dict().items() if k not in skip
	}
	assert synced.name.startswith("PHN-") and synced.link_name == contact.name
	# named from the series Frappe's naming uses: the next record inserted the usual way comes next
	assert int(inserted.name.removeprefix("PHN-")) == int(synced.name.removeprefix("PHN-")) + 1
	api.opt_in(doctype="Phone", name=synced.name, channel="Call", method="Verbal", **when(5))
	assert api.verify_log("Phone", synced.name)["ok"]
	synced.reload()
	synced.phone_type = "Home"  # staff correct the type
	synced.save()
	contact.save()  # a later save of the Contact leaves the record alone
	assert frappe.db.get_value("Phone", synced.name, "phone_type") == "Home"


def test_an_invalid_number_is_skipped_and_said_the_contact_is_saved():
	valid = random_number()
	frappe.local.message_log = []
	contact = make_contact([("12345", False), (valid, True)])
	assert [p.phone_e164 for p in records_of(contact.name)] == [e164(valid)]
	messages = " ".join(str(m) for m in frappe.local.message_log)
	assert "12345 is not a valid phone number" in messages


def test_removing_a_number_keeps_its_record_and_log_adding_it_back_finds_it():
	number, other = random_number(), random_number()
	contact = make_contact([(number, True), (other, False)])
	record = next(p.name for p in records_of(contact.name) if p.phone_e164 == e164(number))
	api.opt_out(doctype="Phone", name=record, channel="Text", method="Verbal", **when(5))
	contact.set("phone_nos", [row for row in contact.phone_nos if row.phone != number])
	contact.save()
	assert frappe.db.get_value("Phone", record, "link_name") == contact.name
	assert frappe.db.count("Opt Log", {"parent": record}) == 1
	section = {r["name"]: r for r in api.contact_consent(contact.name)["records"]}
	assert section[record]["on_contact"] is False and section[record]["text_opt"] == 0
	contact.append("phone_nos", {"phone": number, "is_primary_mobile_no": 1})
	contact.save()
	assert [p.name for p in records_of(contact.name) if p.phone_e164 == e164(number)] == [record]
	assert api.contact_consent(contact.name)["records"][0]["on_contact"] is True


def test_the_same_number_on_two_contacts_has_two_records_and_the_gate_answers_most_restrictive():
	number = random_number()
	first, second = make_contact([(number, True)]), make_contact([(number, True)])
	a, b = records_of(first.name)[0].name, records_of(second.name)[0].name
	assert a != b
	api.opt_in(doctype="Phone", name=a, channel="Call", method="Verbal", **when(10))
	api.opt_in(doctype="Phone", name=b, channel="Call", method="Verbal", **when(10))
	assert can_contact("Call", number)["allowed"] is True
	api.opt_out(doctype="Phone", name=b, channel="Call", method="Verbal", **when(5))
	answer = can_contact("Call", number)
	assert (answer["allowed"], answer["reason"], answer["record"]) == (False, "opted_out", b)


def test_rename_and_merge_keep_the_links():
	kept, shared, moved = random_number(), random_number(), random_number()
	target = make_contact([(kept, True), (shared, False)])
	source = make_contact([(shared, False), (moved, True)])
	renamed = rename_doc("Contact", target.name, f"{target.name} renamed", force=True)
	assert {p.phone_e164 for p in records_of(renamed)} == {e164(kept), e164(shared)}
	assert not records_of(target.name)
	source_records = {p.name for p in records_of(source.name)}
	rename_doc("Contact", source.name, renamed, merge=True, force=True)
	assert not frappe.db.exists("Contact", source.name)
	merged = records_of(renamed)
	assert source_records <= {p.name for p in merged}  # nothing of the merged Contact is lost
	assert len(merged) == 4  # the shared number: one record from each person, both kept
	frappe.get_doc("Contact", renamed).save()  # found, not created again
	assert len(records_of(renamed)) == 4


def test_a_contact_with_records_is_not_deleted_its_records_are_evidence():
	contact = make_contact([(random_number(), True)])
	with pytest.raises(frappe.LinkExistsError):
		frappe.delete_doc("Contact", contact.name)
	assert records_of(contact.name)


def test_the_record_fields_use_frappes_phone_and_email_validation():
	# a number with an extension is a valid number to phonenumbers, not to Frappe's Phone option
	with pytest.raises(frappe.InvalidPhoneNumberError):
		frappe.get_doc(
			{"doctype": "Phone", "phone": f"{random_number()} ext. 12", "phone_type": "Cell"}
		).insert()
	for phone in ("call me <b>", "12345"):
		with pytest.raises(frappe.ValidationError, match="not a valid phone number"):
			frappe.get_doc({"doctype": "Phone", "phone": phone, "phone_type": "Cell"}).insert()
	# Frappe's Email option takes a list of addresses; a consent record is for one
	with pytest.raises(frappe.ValidationError, match="not a valid email address"):
		frappe.get_doc({"doctype": "Email", "email_id": f"{random_email()}, {random_email()}"}).insert()
	assert frappe.get_meta("Phone").get_field("phone").options == "Phone"
	assert frappe.get_meta("Email").get_field("email_id").options == "Email"


# --- the timeline -------------------------------------------------------------------------------------


def test_a_consent_action_goes_on_the_contacts_timeline():
	contact = make_contact([(random_number(), True)], [random_email()])
	phone, email = records_of(contact.name)[0].name, records_of(contact.name, "Email")[0].name
	frappe.set_user(user("manager"))
	api.opt_in(
		doctype="Phone", name=phone, channel="Text", method="Written", date="2026-01-02", time="09:30:00"
	)
	api.opt_out(doctype="Email", name=email, channel="Email", method="Verbal", **when(5))
	frappe.set_user("Administrator")
	get_docinfo(frappe.get_doc("Contact", contact.name))  # what the form's timeline shows
	infos = [
		log for log in frappe.response["docinfo"].info_logs if phone in log.content or email in log.content
	]
	assert len(infos) == 2 and {log.owner for log in infos} == {user("manager")}
	text = next(log.content for log in infos if phone in log.content)
	assert "Opt In Texts" in text and "Written" in text and "09:30" in text
	assert frappe.utils.formatdate("2026-01-02") in text
	assert any("Opt Out Email" in log.content for log in infos)


def test_a_phone_without_a_contact_adds_nothing_to_any_timeline():
	phone = frappe.get_doc({"doctype": "Phone", "phone": random_number(), "phone_type": "Cell"}).insert()
	before = frappe.db.count("Comment", {"comment_type": "Info"})
	api.opt_in(doctype="Phone", name=phone.name, channel="Call", method="Verbal", **when(5))
	assert frappe.db.count("Comment", {"comment_type": "Info"}) == before


# --- the Consent section's read method ----------------------------------------------------------------


def test_the_section_shows_the_records_a_user_may_read_with_their_state():
	contact = make_contact([(random_number(), True)], [random_email()], owner=user("user"))
	phone = records_of(contact.name)[0].name
	api.opt_in(doctype="Phone", name=phone, channel="Call", method="Verbal", **when(10))
	api.opt_out(doctype="Phone", name=phone, channel="Text", method="Verbal", **when(5))
	frappe.set_user(user("user"))
	section = api.contact_consent(contact.name)
	assert section["unreadable"] == []
	rows = {r["doctype"]: r for r in section["records"]}
	assert rows["Phone"]["call_opt"] == 1 and rows["Phone"]["do_not_call"] == 1
	assert rows["Phone"]["__onload"]["opt_last_actions"] == {"Call": "Opt In", "Text": "Opt Out"}
	assert rows["Phone"]["can_write"] and rows["Phone"]["on_contact"]
	assert rows["Email"]["email_opt"] == 0 and rows["Email"]["__onload"]["opt_last_actions"] == {}
	# a user with no right to the records sees that, not the records
	frappe.set_user(user("outsider"))
	with pytest.raises(frappe.PermissionError):
		api.contact_consent(contact.name)  # nor the Contact (not theirs)


def test_the_section_applies_row_level_permissions():
	contact = make_contact([(random_number(), True), (random_number(), False)], owner=user("restricted"))
	mine, other = (p.name for p in records_of(contact.name))
	frappe.get_doc(
		{"doctype": "User Permission", "user": user("restricted"), "allow": "Phone", "for_value": mine}
	).insert(ignore_permissions=True)
	frappe.set_user(user("restricted"))
	assert [r["name"] for r in api.contact_consent(contact.name)["records"]] == [mine]
	assert other


# --- the doors: REST, frappe.client, Data Import ------------------------------------------------------


def test_rest_and_frappe_client_as_an_opt_consent_user_create_the_records(server):
	client = Client(server, "user")
	mobile, email = random_number(), random_email()
	doc = client.create(
		"Contact",
		first_name=f"OC REST {frappe.generate_hash(length=6)}",
		phone_nos=[{"phone": mobile, "is_primary_mobile_no": 1}],
		email_ids=[{"email_id": email, "is_primary": 1}],
	)
	COMMITTED.pop()
	response = client.post(
		"/api/method/frappe.client.insert",
		doc={
			"doctype": "Contact",
			"first_name": f"OC Client {frappe.generate_hash(length=6)}",
			"phone_nos": [{"phone": mobile, "is_primary_phone": 1}, {"phone": "12345"}],
		},
	)
	assert response.status_code == 200, message_of(response)
	assert "12345 is not a valid phone number" in message_of(response)
	other = response.json()["message"]["name"]
	frappe.db.rollback()
	committed(doc["name"])
	committed(other)
	assert [(p.phone_e164, p.phone_type, p.owner) for p in records_of(doc["name"])] == [
		(e164(mobile), "Cell", user("user"))
	]
	assert [e.email_normalized for e in records_of(doc["name"], "Email")] == [email]
	assert [(p.phone_e164, p.phone_type) for p in records_of(other)] == [(e164(mobile), "Other")]


def test_a_user_without_create_on_phone_still_gets_the_records(server):
	"""The sync is the app's bookkeeping of a Contact save the user may make (here: their own Contact)."""
	number = random_number()
	doc = Client(server, "outsider").create(
		"Contact",
		first_name=f"OC CRM {frappe.generate_hash(length=6)}",
		phone_nos=[{"phone": number, "is_primary_mobile_no": 1}],
	)
	COMMITTED.pop()
	frappe.db.rollback()
	committed(doc["name"])
	assert [p.phone_e164 for p in records_of(doc["name"])] == [e164(number)]
	assert not frappe.has_permission("Phone", "create", user=user("outsider"))


def test_data_import_of_contacts_creates_the_records():
	tag = frappe.generate_hash(length=6)
	people = [(f"OC Import {tag} {i}", random_number(), random_email()) for i in range(3)]
	logs = run_import(
		"Contact",
		"Insert New Records",
		["first_name", "phone_nos.phone", "phone_nos.is_primary_mobile_no", "email_ids.email_id"],
		[[name, number, 1, email] for name, number, email in people],
	)
	assert logs and all(log.success for log in logs), logs
	for name, number, email in people:
		contact = frappe.db.get_value("Contact", {"first_name": name})
		committed(contact)
		assert [(p.phone_e164, p.phone_type) for p in records_of(contact)] == [(e164(number), "Cell")]
		assert [e.email_normalized for e in records_of(contact, "Email")] == [email]


def test_sync_returns_only_what_it_created():
	contact = make_contact([(random_number(), True)])
	assert sync(contact) == []
