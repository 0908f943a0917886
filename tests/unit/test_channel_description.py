"""The doctypes carry exactly what the one channel description (opt_consent.model.channels) says: adding a
channel is one entry there plus its fields, and this test names any field or option left out."""

import json
from pathlib import Path

import pytest

from opt_consent.model import channels, evidence

DOCTYPES = Path(__file__).resolve().parents[2] / "opt_consent" / "opt_consent" / "doctype"


def fields_of(doctype: str) -> dict:
	folder = doctype.lower().replace(" ", "_")
	return {
		f["fieldname"]: f for f in json.loads((DOCTYPES / folder / f"{folder}.json").read_text())["fields"]
	}


@pytest.mark.parametrize("name", sorted(channels.CHANNELS))
def test_each_channel_owns_read_only_fields_that_duplicate_never_copies(name):
	channel = channels.CHANNELS[name]
	fields = fields_of(channel.doctype)
	for fieldname in channel.owned_fields:
		assert fieldname in fields, f"{channel.doctype} lacks {fieldname}"
		assert fields[fieldname].get("read_only") and fields[fieldname].get("no_copy"), fieldname
	assert channel.block_field in fields


@pytest.mark.parametrize("doctype", sorted(channels.RECORDS))
def test_each_record_has_its_address_key_type_and_log(doctype):
	record, fields = channels.RECORDS[doctype], fields_of(doctype)
	for fieldname in (record.address_field, record.key_field, record.type_field, record.block_field):
		assert fieldname in fields, f"{doctype} lacks {fieldname}"
	assert fields[evidence.LOG_TABLE_FIELD]["options"] == evidence.LOG_DOCTYPE
	assert fields[evidence.LOG_TABLE_FIELD].get("no_copy")
	for fieldname in channels.derived_fields(doctype):
		assert fields[fieldname].get("read_only") and fields[fieldname].get("no_copy"), fieldname


def test_the_log_offers_exactly_the_described_channels_and_actions_and_carries_every_evidence_field():
	log = fields_of(evidence.LOG_DOCTYPE)
	assert log["channel"]["options"].split("\n") == list(channels.CHANNELS)
	assert [a for a in log["action"]["options"].split("\n") if a] == list(channels.ACTIONS)
	for fieldname in (*evidence.EVIDENCE_FIELDS, *evidence.SEAL_FIELDS):
		assert fieldname in log, f"Opt Log lacks {fieldname}"


def test_the_desk_description_is_plain_data_with_every_label():
	described = channels.describe(lambda text: f"T({text})")
	assert set(described["channels"]) == set(channels.CHANNELS)
	assert described["channels"]["Text"]["text_reauth"] == "T(Text Reauth)"
	assert described["channels"]["Call"]["opt_in"] == "T(Opt In Calls)"
	assert described["records"]["Phone"]["key_field"] == "phone_e164"
	json.dumps(described)


def test_contact_control_doctypes_follow_the_one_description():
	"""Contact Attempt and the settings' rule rows offer exactly the channels, outcomes, sources, kinds and
	"counts per" choices opt_consent.contact_control.rules describes."""
	from opt_consent.contact_control import rules as cc
	from opt_consent.outbound import rules as outbound

	attempt = fields_of("Contact Attempt")
	assert attempt["channel"]["options"].split("\n") == list(channels.CHANNELS)
	assert attempt["outcome"]["options"].split("\n") == list(cc.OUTCOMES)
	assert attempt["source"]["options"].split("\n") == list(cc.SOURCES)
	assert all(
		f.get("read_only")
		for f in attempt.values()
		if f["fieldtype"] not in ("Section Break", "Column Break")
	)
	rule = fields_of("Opt Consent Contact Rule")
	assert rule["kind"]["options"].split("\n") == list(cc.KINDS)
	assert rule["counts_per"]["options"].split("\n") == list(cc.PER)
	# every row the template ships names only fields the rule table has
	for row in cc.regulation_f_template():
		assert set(row) <= set(rule), set(row) - set(rule)
	# the SMS door keeps a withheld text's reason in words the Withheld Message offers
	reasons = fields_of("Withheld Message")["reason"]["options"].split("\n")
	assert set(outbound.REASON_LABELS.values()) <= set(reasons)
