"""The evidence file (JSON twin) verified offline: round trip, tampering, missing fields, the CLI."""

import copy
import datetime as dt
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from opt_consent.evidence_document.rules import evidence_file
from opt_consent.ledger.rules import chain
from opt_consent.model.evidence import EVIDENCE_FIELDS

REPO = Path(__file__).resolve().parents[2]
SUBJECT = "+14155550123"


def db_row(i: int, **fields) -> dict:
	"""A row as the database returns it (a Time column is a timedelta)."""
	row = dict.fromkeys(EVIDENCE_FIELDS)
	row.update(
		name=f"row{i}",
		idx=i,
		channel="Text" if i % 2 else "Call",
		action="Opt In" if i % 3 else "Opt Out",
		event_date=dt.date(2026, 1, min(i, 28)),
		event_time=dt.timedelta(hours=9, minutes=i % 60, seconds=7),
		entered_tz="America/New_York",
		method="Verbal",
		recorded_by="clerk@example.com",
		recorded_at=dt.datetime(2026, 1, min(i, 28), 12, 0, 0, 250000),
		source="Desk",
		phone_type="Cell",
	)
	row.update(fields)
	return row


def twin(rows: list[dict], doctype="Phone", name="PHN-00001", subject=SUBJECT, scheme=chain.CURRENT_SCHEME):
	chain.seal(rows, doctype, name, "", scheme=scheme, subject=subject)
	return json.loads(
		evidence_file.dumps(
			{
				"format": evidence_file.FORMAT,
				"format_version": evidence_file.FORMAT_VERSION,
				"chain": {
					"parenttype": doctype,
					"parent": name,
					"subject": subject,
					"rows": len(rows),
					"head_hash": rows[-1]["row_hash"] if rows else "",
				},
				"log": [evidence_file.file_row(row) for row in rows],
			}
		)
	)


def rows(n: int = 5) -> list[dict]:
	return [db_row(i) for i in range(1, n + 1)]


def test_a_file_round_trips_and_verifies():
	document = twin(rows(5))
	verdict = evidence_file.verify(document)
	assert verdict.ok and verdict.rows == 5
	assert verdict.head_hash == document["log"][-1]["row_hash"]
	# the file carries the canonical text the chain hashes
	assert document["log"][0]["event_time"] == "09:01:07.000000"
	assert document["log"][0]["note"] == ""


def test_every_scheme_and_an_empty_log_verify():
	for scheme in chain.SCHEMES:
		assert evidence_file.verify(twin(rows(3), scheme=scheme)).ok
	empty = evidence_file.verify(twin([]))
	assert empty.ok and empty.rows == 0 and empty.head_hash == ""


def test_a_mixed_chain_of_schemes_verifies():
	older, newer = rows(4)[:2], rows(4)[2:]
	prev = chain.seal(older, "Phone", "PHN-1", "", scheme=1, subject=SUBJECT)
	chain.seal(newer, "Phone", "PHN-1", prev, scheme=chain.CURRENT_SCHEME, subject=SUBJECT)
	document = twin([], name="PHN-1")
	document["log"] = [evidence_file.file_row(r) for r in older + newer]
	document["chain"].update(rows=4, head_hash=newer[-1]["row_hash"])
	assert evidence_file.verify(document).ok


@pytest.mark.parametrize(
	"tamper, code, idx",
	[
		(lambda d: d["log"][2].update(note="added later"), "edited", 3),
		(lambda d: d["log"][1].update(method="Written"), "edited", 2),
		(lambda d: d["log"][3].update(event_date="2025-12-31"), "edited", 4),
		(lambda d: d["log"][2].update(row_hash="0" * 64), "edited", 3),
		(lambda d: d["log"].pop(1), "position", 3),
		(lambda d: d["log"].insert(0, d["log"].pop(2)), "position", 3),
		(lambda d: d["log"][1].update(hash_scheme=99), "unknown_scheme", 2),
		(lambda d: d["chain"].update(subject="+14155550999"), "edited", 1),
		(lambda d: d["chain"].update(parent="PHN-00002"), "edited", 1),
	],
)
def test_a_tampered_file_names_the_first_broken_row(tamper, code, idx):
	document = twin(rows(5))
	tamper(document)
	verdict = evidence_file.verify(document)
	assert (verdict.ok, verdict.code, verdict.idx) == (False, code, idx)
	assert verdict.message


def test_a_removed_last_row_is_caught_by_the_count_and_the_head():
	document = twin(rows(5))
	document["log"].pop()
	verdict = evidence_file.verify(document)
	assert (verdict.ok, verdict.code) == (False, "count")
	document["chain"]["rows"] = 4
	verdict = evidence_file.verify(document)
	assert (verdict.ok, verdict.code) == (False, "head")


@pytest.mark.parametrize("field", ["note", "method", "phone_type", "prev_hash", "row_hash", "idx"])
def test_a_missing_field_is_named(field):
	document = twin(rows(3))
	del document["log"][1][field]
	verdict = evidence_file.verify(document)
	assert (verdict.ok, verdict.code, verdict.idx) == (False, "missing", 2)
	assert field in verdict.message


@pytest.mark.parametrize("key", ["subject", "parent", "parenttype"])
def test_a_missing_chain_key_is_named(key):
	document = twin(rows(2))
	del document["chain"][key]
	verdict = evidence_file.verify(document)
	assert (verdict.ok, verdict.code) == (False, "missing") and key in verdict.message


def test_not_an_evidence_file():
	assert evidence_file.verify({"hello": 1}).code == "format"
	assert evidence_file.verify(b"{not json").code == "unreadable"
	document = twin(rows(1))
	document["format_version"] = 99
	assert evidence_file.verify(document).code == "format"


def test_wording_text_is_checked_against_its_sealed_hash():
	text = "You agree to receive texts."
	digest = evidence_file.sha256(text.encode("utf-8"))
	document = twin([db_row(1, wording="Texts v1", wording_hash=digest)])
	document["wordings"] = {"Texts v1": {"text": text}}
	verdict = evidence_file.verify(document)
	assert verdict.ok and "matches" in verdict.notes[0]
	document["wordings"]["Texts v1"]["text"] = text + " Or not."
	assert "does not match" in evidence_file.verify(document).notes[0]


values = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=30)


@settings(max_examples=60, deadline=None)
@given(
	notes=st.lists(values, min_size=1, max_size=8),
	edit_at=st.integers(min_value=0, max_value=7),
	new_note=values,
)
def test_any_note_round_trips_and_any_edit_of_one_is_caught(notes, edit_at, new_note):
	document = twin([db_row(i, note=note) for i, note in enumerate(notes, 1)])
	# through the file's own serialisation and back
	document = json.loads(evidence_file.dumps(document))
	assert evidence_file.verify(document).ok
	edit_at %= len(notes)
	if document["log"][edit_at]["note"] == new_note:
		return
	document["log"][edit_at]["note"] = new_note
	verdict = evidence_file.verify(document)
	assert (verdict.ok, verdict.idx) == (False, edit_at + 1)


def test_dumps_is_stable():
	document = twin(rows(3))
	shuffled = json.loads(json.dumps(document, sort_keys=False))
	assert evidence_file.dumps(shuffled) == evidence_file.dumps(copy.deepcopy(document))


# --- the command line, under the system's Python, without Frappe -----------------------------------


def cli(*args):
	return subprocess.run(
		[sys.executable, "-m", "opt_consent.evidence_document.rules.evidence_file", *args],
		cwd=REPO,
		capture_output=True,
		text=True,
		timeout=60,
	)


def test_the_cli_verifies_a_file_and_a_tampered_copy(tmp_path):
	document = twin(rows(4))
	good = tmp_path / "good.json"
	good.write_bytes(evidence_file.dumps(document))
	result = cli("verify", str(good), "--sha256", evidence_file.sha256(good.read_bytes()))
	assert result.returncode == 0, result.stdout + result.stderr
	assert "OK" in result.stdout and document["chain"]["head_hash"] in result.stdout

	document["log"][1]["recorded_by"] = "someone-else@example.com"
	bad = tmp_path / "bad.json"
	bad.write_bytes(evidence_file.dumps(document))
	result = cli("verify", str(bad))
	assert result.returncode == 1 and "BROKEN (row 2" in result.stdout

	# the file is intact but not the one logged
	result = cli("verify", str(good), "--sha256", "0" * 64)
	assert result.returncode == 1 and "SHA-256" in result.stdout


def test_the_cli_verifies_every_file_of_a_zip(tmp_path):
	archive = tmp_path / "contact.zip"
	good, bad = twin(rows(2)), twin(rows(3), name="PHN-00002")
	bad["log"][0]["action"] = "Opt Out"
	with zipfile.ZipFile(archive, "w") as z:
		z.writestr("phone-PHN-00001-evidence.json", evidence_file.dumps(good))
		z.writestr("phone-PHN-00002-evidence.json", evidence_file.dumps(bad))
	result = cli("verify", str(archive))
	assert result.returncode == 1
	assert result.stdout.count("OK:") == 1 and result.stdout.count("BROKEN") == 1


def test_the_cli_refuses_what_is_not_evidence(tmp_path):
	path = tmp_path / "x.json"
	path.write_text("[]")
	assert cli("verify", str(path)).returncode == 2
	assert cli("verify", str(tmp_path / "missing.json")).returncode == 2


# --- docs/VERIFY-EVIDENCE.md: its worked example and its stand-alone script ------------------------------

GUIDE = REPO / "docs" / "VERIFY-EVIDENCE.md"
EXAMPLE = REPO / "docs" / "evidence-example.json"


def guide_block(language: str, containing: str) -> str:
	text = GUIDE.read_text(encoding="utf-8")
	blocks = [b.split("```", 1)[0] for b in text.split(f"```{language}\n")[1:]]
	found = [b for b in blocks if containing in b]
	assert len(found) == 1, f"one {language} block with {containing!r} in {GUIDE.name}"
	return "\n".join(line[3:] if line.startswith("   ") else line for line in found[0].splitlines())


def test_the_worked_example_verifies_and_its_first_array_is_what_the_chain_hashes():
	verdict = evidence_file.verify(EXAMPLE)
	assert verdict.ok and verdict.rows == 2
	document = evidence_file.load(EXAMPLE)
	row, seal = document["log"][0], document["chain"]
	shown = guide_block("json", '["scheme",').strip()
	hashed = chain.serialise(
		row["hash_scheme"],
		evidence_file.scheme_fields(row["hash_scheme"]),
		row,
		seal["parenttype"],
		seal["parent"],
		"",
		seal["subject"],
	)
	assert shown.encode("utf-8") == hashed
	text = GUIDE.read_text(encoding="utf-8")
	assert row["row_hash"] in text and seal["head_hash"] in text
	# the scheme table of the guide lists what the chain hashes
	assert evidence_file.schemes() == seal["schemes"]


def test_the_stand_alone_script_of_the_guide_agrees(tmp_path):
	script = tmp_path / "check.py"
	script.write_text(guide_block("python", "hashlib.sha256(data)"), encoding="utf-8")
	run = lambda path: subprocess.run(  # noqa: E731
		[sys.executable, str(script), str(path)], capture_output=True, text=True, timeout=60
	)
	result = run(EXAMPLE)
	assert result.returncode == 0 and "OK 2 rows" in result.stdout, result.stderr
	document = evidence_file.load(EXAMPLE)
	document["log"][0]["note"] = "signed form 18"
	tampered = tmp_path / "tampered.json"
	tampered.write_bytes(evidence_file.dumps(document))
	result = run(tampered)
	assert result.returncode != 0 and "row 1: changed" in result.stderr
	# on a file the app exports (every scheme), the script and the verifier agree
	for scheme in chain.SCHEMES:
		path = tmp_path / f"scheme{scheme}.json"
		path.write_bytes(evidence_file.dumps(twin(rows(3), scheme=scheme)))
		assert run(path).returncode == 0
