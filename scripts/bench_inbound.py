"""The inbound door's measures of scripts/benchmark.py (``--inbound N``): reading a reply, and the door
handling one, each against a floor measured in the same run.

- **Reading a reply**: :func:`opt_consent.revocation.rules.replies.classify` over the labelled corpus in
  ``tests/data/replies.csv`` (every reply, N passes): the median per reply, against the goal of 1 ms.
- **The door, an ordinary reply** from a number on file (read, matched to its phones, its honour-by date
  counted, kept as an Inbound Text): ``inbound.handle`` against the floor of inserting the same Inbound
  Text alone (the document Frappe inserts, the same fields), interleaved; goal 2x.
- **The door, a STOP applied** (the same, plus the opt out sealed into the phone's log): reported against the
  same floor, for information (a consent action is a save with a sealed log row, measured on its own by the
  consent-action measure).

Each sample runs in a savepoint that is rolled back: the site is left as it was.
"""

from __future__ import annotations

import csv
import statistics
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO / "tests" / "data" / "replies.csv"
NUMBERS = "+1 415 555 {0:04d}"


def corpus() -> list[str]:
	with CORPUS.open(newline="", encoding="utf-8") as handle:
		return [row["text"] for row in csv.DictReader(handle)]


def bench_classify(passes: int) -> dict:
	from opt_consent.revocation.rules import replies

	texts = corpus()
	per_reply = []
	for _ in range(passes):
		for text in texts:
			start = time.perf_counter()
			replies.classify(text)
			per_reply.append(time.perf_counter() - start)
	median_ms = statistics.median(per_reply) * 1000
	p99_ms = statistics.quantiles(per_reply, n=100)[-1] * 1000
	return {
		"name": f"classify one reply (pure, corpus of {len(texts)})",
		"goal_ms": 1.0,
		"median_ms": median_ms,
		"p99_ms": p99_ms,
		"n": len(per_reply),
		"met": median_ms < 1.0 and p99_ms < 1.0,
	}


def phones(count: int) -> list[tuple[str, str]]:
	"""``count`` Cell phones opted in to texts (in the run's transaction): (number, e164)."""
	import frappe

	from opt_consent.ledger.consent import ActionRequest, record_action

	made = []
	for i in range(count):
		number = NUMBERS.format(1000 + i)
		doc = frappe.get_doc({"doctype": "Phone", "phone": number, "phone_type": "Cell"}).insert()
		at = frappe.utils.add_to_date(frappe.utils.now_datetime(), days=-1)
		record_action(ActionRequest("Phone", doc.name, "Opt In", "Text", at.date(), at.time(), "Verbal"))
		made.append((number, doc.phone_e164))
	return made


def bench_door(samples: int, compare, interleaved) -> list[dict]:
	import frappe

	from opt_consent.api import inbound

	numbers = phones(20)
	ordinary = "Can you send the payment link again? I will pay Friday"

	def in_savepoint(fn):
		def run(i):
			frappe.db.savepoint("bench_inbound")
			try:
				fn(i)
			finally:
				frappe.db.rollback(save_point="bench_inbound")

		return run

	def door(message):
		def run(i):
			number, e164 = numbers[i % len(numbers)]
			inbound.handle(number, e164, message, f"bench-{i}-{frappe.generate_hash(length=6)}")

		return run

	def floor(i):
		number, e164 = numbers[i % len(numbers)]
		doc = frappe.get_doc(
			{
				"doctype": "Inbound Text",
				"sender": number,
				"sender_e164": e164,
				"message": ordinary,
				"message_id": f"floor-{i}-{frappe.generate_hash(length=6)}",
				"received_at": frappe.utils.now_datetime(),
				"status": "Unrecognised",
				"keyword": None,
				"reading": "Other",
				"honour_by": frappe.utils.today(),
				"phones": [
					{"phone": frappe.db.get_value("Phone", {"phone_e164": e164}), "phone_type": "Cell"}
				],
			}
		)
		doc.flags.from_gateway = True
		doc.insert(ignore_permissions=True)

	ours, base = interleaved(samples, in_savepoint(door(ordinary)), in_savepoint(floor))
	results = [
		compare(
			"inbound door, an ordinary reply from a number on file",
			2.0,
			ours,
			base,
			"read, matched to its phones, honour-by counted, kept; floor: inserting the same Inbound Text alone",
		)
	]
	ours, base = interleaved(samples, in_savepoint(door("STOP")), in_savepoint(floor))
	stop = compare(
		"inbound door, a STOP applied (information)",
		10.0,
		ours,
		base,
		"the same plus the opt out sealed into the phone's log; a loose bound, for information",
	)
	results.append(stop)
	return results


def data_line(report: dict) -> str:
	return (
		"- data: 20 Cell phones opted in to texts, made in the run and rolled back; every sample in a "
		"savepoint rolled back; the replies corpus of tests/data/replies.csv"
	)


def section(report: dict) -> list[str]:
	reading = report["classify"]
	verdict = "met" if reading["met"] else "**missed**"
	return [
		"## Reading a reply",
		"",
		f"- {reading['name']}: median {reading['median_ms'] * 1000:.1f} µs, p99 {reading['p99_ms'] * 1000:.1f} µs "
		f"over {reading['n']:,} readings; goal under 1 ms: {verdict}.",
		"",
		"## What the door does beyond the floor",
		"",
		"- The floor inserts the Inbound Text Frappe would insert anyway. The door adds the reading, one",
		"  indexed query for the phones with the number (`phone_e164`), the honour-by date (the settings and",
		"  holidays, cached) and the confirmation's state. A STOP adds a consent action per phone: the locked",
		"  read of the phone, the engine, the sealed log row and the save, as any opt out does.",
	]
