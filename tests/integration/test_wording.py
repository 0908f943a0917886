"""Consent Wording on a real site: versions, Publish / New Version, a published text that no door changes,
and consent recorded under a wording (sealed into the log row, refused when it does not fit)."""

import frappe
import pytest
from frappe.desk.form.save import savedocs
from frappe.utils import add_to_date, now_datetime

from opt_consent.api import consent as api
from opt_consent.api import wordings
from opt_consent.ledger.consent import ActionRequest, record_action
from opt_consent.ledger.integrity import verify_record
from opt_consent.ledger.rules import chain
from opt_consent.ledger.rules.wording import text_hash
from opt_consent.ledger.wording import WordingLockedError
from tests.integration.factories import make_email, make_method, make_phone, random_number, user, when
from tests.integration.http import Client, message_of

TEXT = "Yes, you may text me about my account. Reply STOP to stop."


def make_wording(title=None, channels="Text", methods=(), text=TEXT, publish=True, published_ago=60):
	"""A Consent Wording (as Administrator), published ``published_ago`` minutes ago unless ``publish`` is off."""
	doc = frappe.get_doc(
		{
			"doctype": "Consent Wording",
			"title": title or f"OC Wording {frappe.generate_hash(length=6)}",
			"channels": channels,
			"methods": [{"method": m} for m in methods],
			"text": text,
		}
	).insert()
	if publish:
		doc = wordings.wording.publish(doc.name)
		backdate(doc.name, published_ago)
		doc.reload()
	return doc


def backdate(name: str, minutes: int) -> None:
	"""Test setup: the version was published ``minutes`` ago (so consent can be dated before now)."""
	frappe.db.set_value(
		"Consent Wording",
		name,
		"published_on",
		add_to_date(now_datetime(), minutes=-minutes),
		update_modified=False,
	)


def rows_of(doctype, name):
	return frappe.get_all(
		"Opt Log", filters={"parent": name, "parenttype": doctype}, fields=["*"], order_by="idx asc"
	)


# --- versions ------------------------------------------------------------------------------------------


def test_versions_publish_and_supersede():
	frappe.set_user(user("manager"))
	title = f"OC Web Form {frappe.generate_hash(length=6)}"
	first = frappe.get_doc(
		{"doctype": "Consent Wording", "title": title, "channels": "text, Call", "text": TEXT}
	).insert()
	assert (first.name, first.version, first.status, first.channels) == (
		f"{title} v1",
		1,
		"Draft",
		"Call, Text",
	)
	first.text = TEXT + " Msg & data rates may apply."
	first.save()  # a Draft is edited
	wordings.publish(first.name)
	first.reload()
	assert (first.status, first.published_by) == ("Published", user("manager"))
	assert first.text_hash == text_hash(first.text) and first.published_on

	draft = frappe.get_doc("Consent Wording", wordings.new_version(first.name)["name"])
	assert (draft.name, draft.version, draft.status) == (f"{title} v2", 2, "Draft")
	assert (draft.text, draft.channels, draft.supersedes) == (first.text, first.channels, first.name)
	draft.text = "Yes, text me."
	draft.save()
	wordings.publish(draft.name)
	first.reload()
	assert (first.status, first.superseded_by) == ("Superseded", draft.name)
	assert first.superseded_on >= first.published_on
	assert frappe.db.get_value("Consent Wording", draft.name, "status") == "Published"
	# only a Published version gives a new version; a Superseded one is history
	with pytest.raises(WordingLockedError):
		wordings.new_version(first.name)
	with pytest.raises(WordingLockedError):
		wordings.publish(first.name)


def test_a_new_version_must_start_as_a_draft_and_channels_are_checked():
	frappe.set_user(user("manager"))
	with pytest.raises(WordingLockedError, match="starts as a Draft"):
		frappe.get_doc(
			{
				"doctype": "Consent Wording",
				"title": "OC Sneaky",
				"channels": "Text",
				"text": "x",
				"status": "Published",
			}
		).insert()
	with pytest.raises(WordingLockedError, match="Fax is not a channel"):
		frappe.get_doc(
			{"doctype": "Consent Wording", "title": "OC Fax", "channels": "Text, Fax", "text": "x"}
		).insert()
	draft = make_wording(publish=False)
	draft.status = "Published"  # publishing is Publish's, not an edit's
	with pytest.raises(WordingLockedError, match="set by Publish"):
		draft.save()
	with pytest.raises(frappe.MandatoryError):  # no text, nothing to publish
		make_wording(publish=False, text=" ")


# --- a published version on every door -----------------------------------------------------------------


@pytest.mark.parametrize("who", ["manager", "Administrator"])
def test_a_published_version_is_changed_by_no_door(who):
	doc = make_wording(methods=["Web Form"])
	before = frappe.get_doc("Consent Wording", doc.name).as_dict()
	frappe.set_user(user(who) if who != "Administrator" else who)
	with pytest.raises(WordingLockedError, match="can never be edited"):
		frappe.client.set_value("Consent Wording", doc.name, "text", "Something else")
	with pytest.raises(WordingLockedError):
		frappe.client.set_value("Consent Wording", doc.name, "channels", "Text, Call")
	form = frappe.get_doc("Consent Wording", doc.name)
	form.set("methods", [])
	with pytest.raises(WordingLockedError):
		form.save()
	edited = frappe.get_doc("Consent Wording", doc.name).as_dict()
	edited["text"] = "Changed in the form"
	with pytest.raises(WordingLockedError):
		savedocs(frappe.as_json(edited), "Save")
	with pytest.raises(WordingLockedError, match="cannot be renamed"):
		frappe.rename_doc("Consent Wording", doc.name, doc.name + " copy", force=True)
	with pytest.raises(WordingLockedError, match="cannot be deleted"):
		frappe.delete_doc("Consent Wording", doc.name)
	frappe.set_user("Administrator")
	after = frappe.get_doc("Consent Wording", doc.name).as_dict()
	for field in ("text", "channels", "status", "text_hash", "title", "version"):
		assert after[field] == before[field], field
	assert [row.method for row in after.methods] == ["Web Form"]


def test_an_opt_method_named_by_a_wording_is_not_renamed():
	make_method("OC Scripted Call")
	make_wording(methods=["OC Scripted Call"])
	with pytest.raises(frappe.ValidationError, match="named by a Consent Wording"):
		frappe.rename_doc("Opt Method", "OC Scripted Call", "OC Scripted Call 2", force=True)


def test_a_draft_is_deleted_and_never_renamed():
	draft = make_wording(publish=False)
	with pytest.raises(WordingLockedError):
		frappe.rename_doc("Consent Wording", draft.name, draft.name + " x", force=True)
	frappe.delete_doc("Consent Wording", draft.name)
	assert not frappe.db.exists("Consent Wording", draft.name)


def test_roles():
	doc = make_wording()
	draft = make_wording(publish=False)
	frappe.set_user(user("user"))
	assert frappe.get_doc("Consent Wording", doc.name).text == TEXT  # read
	assert [w["name"] for w in wordings.offered("Text", "Verbal")["wordings"]].count(doc.name) == 1
	with pytest.raises(frappe.PermissionError):
		frappe.get_doc(
			{"doctype": "Consent Wording", "title": "OC by user", "channels": "Text", "text": "x"}
		).insert()
	with pytest.raises(frappe.PermissionError):
		wordings.publish(draft.name)
	with pytest.raises(frappe.PermissionError):
		wordings.new_version(doc.name)
	frappe.set_user(user("auditor"))
	assert frappe.get_doc("Consent Wording", doc.name).status == "Published"
	with pytest.raises(frappe.PermissionError):
		wordings.publish(draft.name)
	frappe.set_user(user("outsider"))
	with pytest.raises(frappe.PermissionError):
		frappe.get_doc("Consent Wording", doc.name).check_permission("read")
	with pytest.raises(frappe.PermissionError):
		wordings.offered("Text", "Verbal")
	frappe.set_user(user("manager"))
	wordings.publish(draft.name)  # the manager may


def test_offered_lists_the_published_versions_for_channel_and_method():
	text_any = make_wording(channels="Text")
	text_web = make_wording(channels="Text, Email", methods=["Web Form"])
	make_wording(channels="Text", publish=False)
	old = make_wording(channels="Call")
	frappe.set_user(user("manager"))
	wordings.new_version(old.name)
	frappe.set_user("Administrator")
	names = lambda channel, method: {w["name"] for w in wordings.offered(channel, method)["wordings"]}  # noqa: E731
	assert {text_any.name, text_web.name} <= names("Text", "Web Form")
	assert text_any.name in names("Text", "Verbal") and text_web.name not in names("Text", "Verbal")
	assert text_web.name in names("Email", "Web Form") and text_any.name not in names("Email", "Web Form")
	assert old.name in names("Call", "Verbal")
	offered = next(w for w in wordings.offered("Text", "Verbal")["wordings"] if w["name"] == text_any.name)
	assert offered["text"] == TEXT and offered["text_hash"] == text_hash(TEXT)
	make_method("OC Needs Wording")
	frappe.db.set_value("Opt Method", "OC Needs Wording", "requires_wording", 1)
	assert wordings.offered("Text", "OC Needs Wording")["required"] is True
	assert wordings.offered("Text", "Verbal")["required"] is False


# --- consent under a wording ---------------------------------------------------------------------------


def test_opt_in_under_a_wording_seals_its_name_and_hash():
	doc = make_wording(channels="Text, Call")
	phone = make_phone()
	frappe.set_user(user("user"))
	api.opt_in(doctype="Phone", name=phone.name, channel="Text", method="Verbal", wording=doc.name, **when(5))
	api.text_reauth(name=phone.name, method="Verbal", wording=doc.name, **when(2))
	api.opt_in(doctype="Phone", name=phone.name, channel="Call", method="Verbal", **when(1))
	frappe.set_user("Administrator")
	rows = rows_of("Phone", phone.name)
	assert [(r.action, r.wording, r.wording_hash, r.hash_scheme) for r in rows] == [
		("Opt In", doc.name, text_hash(TEXT), chain.CURRENT_SCHEME),
		("Text Reauth", doc.name, text_hash(TEXT), chain.CURRENT_SCHEME),
		("Opt In", None, None, chain.CURRENT_SCHEME),
	]
	assert verify_record("Phone", phone.name)["ok"]
	# the sealed wording cannot be edited in the database unnoticed
	frappe.db.set_value(
		"Opt Log", rows[0].name, "wording_hash", text_hash("another text"), update_modified=False
	)
	broken = verify_record("Phone", phone.name)
	assert (broken["ok"], broken["idx"], broken["code"]) == (False, 1, "edited")


def test_an_email_opt_in_under_a_wording_and_the_operator_kept_apart():
	doc = make_wording(channels="Email", methods=["Web Form"])
	email = make_email()
	record_action(
		ActionRequest(
			"Email",
			email.name,
			"Opt In",
			"Email",
			method="Web Form",
			wording=doc.name,
			operator="legacy: j.smith",
			**when(3),
		)
	)
	row = rows_of("Email", email.name)[0]
	assert (row.wording, row.operator, row.recorded_by) == (doc.name, "legacy: j.smith", "Administrator")
	assert verify_record("Email", email.name)["ok"]


def refused_and_nothing_written(match, **kwargs):
	phone = kwargs.pop("phone")
	before = rows_of("Phone", phone)
	with pytest.raises(frappe.ValidationError, match=match):
		record_action(
			ActionRequest(
				"Phone", phone, kwargs.pop("action", "Opt In"), kwargs.pop("channel", "Text"), **kwargs
			)
		)
	assert rows_of("Phone", phone) == before
	assert frappe.db.get_value("Phone", phone, "text_opt") == (1 if before else 0)


def test_consent_under_a_wording_that_does_not_fit_is_refused():
	phone = make_phone().name
	call_only = make_wording(channels="Call")
	web_only = make_wording(channels="Text", methods=["Web Form"])
	draft = make_wording(publish=False)
	recent = make_wording(published_ago=1)
	base = {"phone": phone, "method": "Verbal", **when(10)}
	refused_and_nothing_written("not a known Consent Wording", wording="OC No Such v1", **base)
	refused_and_nothing_written("applies to Call, not to Text", wording=call_only.name, **base)
	refused_and_nothing_written(
		"applies to the methods Web Form, not to Verbal", wording=web_only.name, **base
	)
	refused_and_nothing_written("is a Draft", wording=draft.name, **base)
	refused_and_nothing_written("after the consent was given", wording=recent.name, **base)
	ok = make_wording()
	record_action(
		ActionRequest("Phone", phone, "Opt In", "Text", method="Verbal", wording=ok.name, **when(20))
	)
	refused_and_nothing_written(
		"not with Opt Out", action="Opt Out", wording=ok.name, phone=phone, method="Verbal", **when(5)
	)


def test_a_method_that_requires_a_wording():
	make_method("OC Needs Wording")
	frappe.db.set_value("Opt Method", "OC Needs Wording", "requires_wording", 1)
	doc = make_wording()
	phone = make_phone().name
	refused_and_nothing_written(
		"requires a Consent Wording", phone=phone, method="OC Needs Wording", **when(10)
	)
	record_action(
		ActionRequest(
			"Phone", phone, "Opt In", "Text", method="OC Needs Wording", wording=doc.name, **when(10)
		)
	)
	# an opt out by that method needs no wording
	record_action(ActionRequest("Phone", phone, "Opt Out", "Text", method="OC Needs Wording", **when(5)))
	assert [r.action for r in rows_of("Phone", phone)] == ["Opt In", "Opt Out"]


def test_a_superseded_wording_serves_only_consent_given_before_it_was_superseded():
	old = make_wording(published_ago=120)
	frappe.set_user(user("manager"))
	new = wordings.new_version(old.name)["name"]
	wordings.publish(new)
	frappe.set_user("Administrator")
	# superseded 30 minutes ago; the new version published 30 minutes ago too
	thirty_ago = add_to_date(now_datetime(), minutes=-30)
	frappe.db.set_value("Consent Wording", old.name, "superseded_on", thirty_ago, update_modified=False)
	frappe.db.set_value("Consent Wording", new, "published_on", thirty_ago, update_modified=False)
	late, now = make_phone().name, make_phone().name
	record_action(
		ActionRequest("Phone", late, "Opt In", "Text", method="Verbal", wording=old.name, **when(45))
	)
	assert rows_of("Phone", late)[0].wording == old.name
	refused_and_nothing_written("was superseded on", phone=now, method="Verbal", wording=old.name, **when(10))
	record_action(ActionRequest("Phone", now, "Opt In", "Text", method="Verbal", wording=new, **when(10)))
	assert rows_of("Phone", now)[0].wording_hash == text_hash(TEXT)


# --- through the web server ----------------------------------------------------------------------------


@pytest.fixture
def committed_wording():
	"""A published wording the web server sees; removed (with its rows) afterwards, straight from the tables
	(no door deletes a published version)."""
	doc = make_wording(channels="Text", methods=["Verbal"])
	frappe.db.commit()
	yield doc
	frappe.db.rollback()
	frappe.db.delete("Consent Wording Method", {"parent": doc.name})
	frappe.db.delete("Consent Wording", {"name": doc.name})
	frappe.db.commit()


def test_rest(server, committed_wording):
	name = committed_wording.name
	manager, user_client, outsider = (
		Client(server, "manager"),
		Client(server, "user"),
		Client(server, "outsider"),
	)
	response = manager.put(f"/api/resource/Consent Wording/{name}", text="Changed over REST")
	assert response.status_code == 417, response.text
	assert "can never be edited" in message_of(response)
	response = manager.delete(f"/api/resource/Consent Wording/{name}")
	assert response.status_code in (417, 403), response.text
	response = manager.post(
		"/api/method/frappe.client.set_value",
		doctype="Consent Wording",
		name=name,
		fieldname="status",
		value="Draft",
	)
	assert response.status_code == 417, response.text
	assert outsider.get("/api/method/opt_consent.wordings.offered", channel="Text").status_code == 403
	response = user_client.get("/api/method/opt_consent.wordings.offered", channel="Text", method="Verbal")
	assert name in [w["name"] for w in response.json()["message"]["wordings"]]
	assert user_client.post("/api/method/opt_consent.wordings.offered", channel="Text").status_code != 200
	phone = user_client.create("Phone", phone=random_number(), phone_type="Cell")["name"]
	response = user_client.action(
		"opt_in", doctype="Phone", name=phone, channel="Text", method="Written", wording=name, **when(5)
	)
	assert response.status_code == 417, response.text
	assert "not to Written" in message_of(response)
	response = user_client.action(
		"opt_in", doctype="Phone", name=phone, channel="Text", method="Verbal", wording=name, **when(5)
	)
	assert response.status_code == 200, response.text
	row = response.json()["message"]["opt_logs"][-1]
	assert (row["wording"], row["wording_hash"], row["hash_scheme"]) == (
		name,
		text_hash(TEXT),
		chain.CURRENT_SCHEME,
	)
	frappe.db.rollback()
	stored = frappe.get_doc("Consent Wording", name)
	assert (stored.text, stored.status) == (TEXT, "Published")
	assert verify_record("Phone", phone)["ok"]


def test_the_methods_table_is_not_changed_on_its_own(server, committed_wording):
	row = frappe.get_all("Consent Wording Method", filters={"parent": committed_wording.name}, pluck="name")[
		0
	]
	response = Client(server, "manager").put(f"/api/resource/Consent Wording Method/{row}", method="Web Form")
	assert response.status_code in (403, 417), response.text
	frappe.db.rollback()
	assert frappe.db.get_value("Consent Wording Method", row, "method") == "Verbal"
