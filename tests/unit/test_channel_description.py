"""The doctypes carry exactly what the one channel description (opt_consent.core.channels) says: adding a
channel is one entry there plus its fields, and this test names any field or option left out."""

import json
from pathlib import Path

import pytest

from opt_consent.core import channels, evidence, reauth

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
	for fieldname in reauth.derived_fields(doctype):
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
