"""The history import and the Contact Scrub as the desk runs them, on 1, 2, ... ``bench worker`` processes,
against the same work in one process, in the same run (``scripts/benchmark.py --import-events N
--file-workers 1,2``, ``--scrub N --file-workers 1,2``).

- Import: the CSV the import measure generated, attached to a Consent History Import; the single-process
  figure is that measure's own run (``history.adapter.run``, committing per part); each worker
  figure is :func:`opt_consent.history_import.run_job` (the coordinator: the first pass and the plan, here)
  with its buckets on K fresh workers of the test queue, timed from the start to the run's completion
  (worker start-up excluded). Every run is checked (the same events recorded, no duplicate) and undone.
- Scrub: the numbers the scrub measure generated, in a Contact Scrub's CSV; the single-process figure is
  :func:`opt_consent.scrub.adapter.run` with its parts run inline, each worker figure the same
  coordinator with its parts on K workers. The result files must be identical.

The CPU seconds of the workers (with the work horses they fork), of the MariaDB server and of this process
are read from /proc, as for the lapse backlog (``scripts/bench_scale.py``).
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

from bench_scale import timed_on_workers  # scripts/, next to this file
from bench_workers import QUEUE


def configurations(text: str) -> list[int]:
	return [int(k) for k in text.split(",") if k.strip()]


def private_copy(path: Path, name: str) -> str:
	"""``path`` as a private File of the site (copied into its private files, registered), for a document
	to attach. Returns its URL."""
	import frappe

	target = Path(frappe.get_site_path("private", "files", name))
	shutil.copyfile(path, target)
	file = frappe.get_doc(
		{"doctype": "File", "file_name": name, "file_url": f"/private/files/{name}", "is_private": 1}
	).insert(ignore_permissions=True)
	return file.file_url


def remove_copies(prefix: str) -> None:
	"""The measure's files in the site's private files (Frappe may have stored a copy under a new name)."""
	import frappe

	for path in Path(frappe.get_site_path("private", "files")).glob(f"{prefix}*"):
		path.unlink(missing_ok=True)


def worker_results(bm, label: str, single_s: float, figures: list[dict]) -> list[dict]:
	"""Each worker figure against the single-process run (goal 1.5x: the coordinator's first pass and the
	working files cost at most half again), and the last against the first (the scaling, reported as a
	ratio of times: below 1 is faster)."""
	results = []
	for figure in figures:
		spent = figure["cpu_s"]
		results.append(
			bm.compare(
				f"{label} on {figure['workers']} `bench worker` vs the same in one process",
				1.5,
				[figure["seconds"]],
				[single_s],
				note=f"{figure['seconds']:.1f} s vs {single_s:.1f} s; CPU seconds: workers {spent['workers']:.1f}, "
				f"MariaDB {spent['database'] or 0:.1f}, coordinator {spent['coordinator']:.1f}; load "
				f"{figure['load_before']} -> {figure['load_after']}",
			)
		)
	if len(figures) > 1:
		first, last = figures[0], figures[-1]
		busy = [
			(f["cpu_s"]["workers"] + (f["cpu_s"]["database"] or 0) + f["cpu_s"]["coordinator"]) / f["seconds"]
			for f in (first, last)
		]
		results.append(
			bm.compare(
				f"{label} on {last['workers']} workers vs on {first['workers']}",
				1.0,
				[last["seconds"]],
				[first["seconds"]],
				note=f"cores busy (CPU seconds of workers, MariaDB and coordinator per second): {busy[0]:.2f} on "
				f"{first['workers']}, {busy[1]:.2f} on {last['workers']}, of {os.cpu_count()} cores",
			)
		)
	return results


# ---------------------------------------------------------------- the import


def bench_import_workers(
	bm, path: Path, single_s: float, recorded: int, workers: str, report: dict
) -> list[dict]:
	"""The import of ``path`` (already measured in one process: ``single_s``, ``recorded`` events) as the
	desk runs it on each number of workers; each run checked and undone."""
	import frappe

	from opt_consent.history import job as door
	from opt_consent.jobs import runs

	url = private_copy(path, "opt-bench-history.csv")
	figures = []
	try:
		for count in configurations(workers):
			bm.remove_imported()
			doc = frappe.get_doc({"doctype": door.DOCTYPE, "import_file": url}).insert(
				ignore_permissions=True
			)
			frappe.db.commit()

			def finished(run, name=doc.name) -> bool:
				return frappe.db.get_value(runs.RUN, run, "status") == runs.COMPLETED or (
					frappe.db.get_value(door.DOCTYPE, name, "status") == "Failed"
				)

			figure = timed_on_workers(
				count, lambda name=doc.name: door.run_job(name, door.APPLY, queue_name=QUEUE), finished
			)
			done = frappe.get_doc(door.DOCTYPE, doc.name)
			assert done.status == "Applied", done.error_message
			assert (done.recorded, done.duplicates) == (recorded, 0), (done.recorded, done.duplicates)
			figure["chunks"] = frappe.db.count(runs.CHUNK, {"parent": figure["run"]})
			figures.append(figure)
			print(
				f"import on {count} worker(s): {figure['seconds']:.1f} s, {figure['chunks']} buckets",
				flush=True,
			)
			frappe.db.delete(door.DOCTYPE, {"name": doc.name})
			frappe.delete_doc(runs.RUN, figure["run"], force=True, ignore_permissions=True)
			frappe.db.commit()
	finally:
		frappe.db.rollback()
		bm.remove_imported()
		frappe.db.delete("File", {"file_url": url})
		frappe.db.commit()
		remove_copies("opt-bench-history")
	report["import_workers"] = {"single_s": single_s, "runs": figures}
	return worker_results(bm, "history import", single_s, figures)


# ---------------------------------------------------------------- the scrub


def bench_scrub_workers(bm, numbers: list[str], workers: str, report: dict) -> list[dict]:
	"""A Contact Scrub of ``numbers`` (Call) in one process, then on each number of workers; the result
	files must be identical."""
	import frappe

	from opt_consent.jobs import runs
	from opt_consent.scrub import adapter as scrub

	content = ("phone\n" + "\n".join(numbers) + "\n").encode()
	directory = Path(frappe.get_site_path("private", "files"))
	source = directory / "opt-bench-scrub-list.csv"
	source.write_bytes(content)
	made = []
	at = frappe.utils.now_datetime().replace(microsecond=0)  # one moment for every run: the same answers

	def new_scrub() -> str:
		doc = frappe.get_doc({"doctype": scrub.DOCTYPE, "channel": "Call", "at": at})
		doc.insert(ignore_permissions=True)
		doc.input_file = private_copy(source, f"opt-bench-scrub-{doc.name}.csv")
		doc.save(ignore_permissions=True)
		frappe.db.commit()
		made.append(doc.name)
		return doc.name

	def result_of(name: str) -> tuple:
		doc = frappe.get_doc(scrub.DOCTYPE, name)
		assert doc.status == scrub.DONE, doc.error
		file = frappe.get_doc("File", {"file_url": doc.result_file})
		return doc.total, doc.allowed_count, doc.reason_counts, Path(file.get_full_path()).read_bytes()

	try:
		name = new_scrub()
		started = time.perf_counter()
		scrub.run(name, "Administrator", inline=True)
		single_s = time.perf_counter() - started
		expected = result_of(name)
		print(f"scrub in one process: {single_s:.1f} s", flush=True)
		figures = []
		for count in configurations(workers):
			name = new_scrub()

			def finished(run) -> bool:
				return frappe.db.get_value(runs.RUN, run, "status") == runs.COMPLETED

			figure = timed_on_workers(
				count, lambda name=name: scrub.run(name, "Administrator", queue_name=QUEUE), finished
			)
			got = result_of(name)
			if got != expected:
				lines = (expected[3].decode().splitlines(), got[3].decode().splitlines())
				differ = [(a, b) for a, b in zip(*lines, strict=False) if a != b][:5]
				raise AssertionError(
					f"the workers' result differs from the single process's: {expected[:3]} vs {got[:3]}; "
					f"{len(lines[0])} vs {len(lines[1])} lines; first differing: {differ}"
				)
			figure["chunks"] = frappe.db.count(runs.CHUNK, {"parent": figure["run"]})
			figures.append(figure)
			print(
				f"scrub on {count} worker(s): {figure['seconds']:.1f} s, {figure['chunks']} parts", flush=True
			)
			frappe.delete_doc(runs.RUN, figure["run"], force=True, ignore_permissions=True)
			frappe.db.commit()
	finally:
		frappe.db.rollback()
		for name in made:
			for file in frappe.get_all("File", filters={"attached_to_name": name}, pluck="name"):
				frappe.delete_doc("File", file, force=True, ignore_permissions=True)
			frappe.db.delete(scrub.DOCTYPE, {"name": name})
		frappe.db.commit()
		source.unlink(missing_ok=True)
		remove_copies("opt-bench-scrub")
	report["scrub_workers"] = {"single_s": single_s, "runs": figures}
	return worker_results(bm, f"Contact Scrub of {len(numbers):,} numbers", single_s, figures)


def section(report: dict) -> list[str]:
	"""The worker runs of an import or a scrub measure, as a table (for the generated document)."""
	lines = []
	for key, title, part in (
		("import_workers", "The history import on workers", "buckets"),
		("scrub_workers", "Contact Scrub on workers", "parts"),
	):
		figures = report.get(key)
		if not figures:
			continue
		lines += [
			f"## {title}",
			"",
			"As the desk runs it: the coordinator (the first pass over the whole file and the plan) here, then "
			f"one chunk per {part[:-1]} on K fresh `bench worker` processes of the test queue, timed from the start "
			"to the run's completion (worker start-up excluded); checked against the single-process run "
			"and undone (scripts/bench_files.py).",
			"",
			f"| workers | time | {part} | CPU s: workers | CPU s: MariaDB | CPU s: coordinator | cores busy |",
			"| --- | --- | --- | --- | --- | --- | --- |",
			f"| one process | {figures['single_s']:.1f} s | | | | | |",
		]
		for f in figures["runs"]:
			spent = f["cpu_s"]
			busy = (spent["workers"] + (spent["database"] or 0) + spent["coordinator"]) / f["seconds"]
			lines.append(
				f"| {f['workers']} | {f['seconds']:.1f} s | {f['chunks']} | {spent['workers']:.1f} | "
				f"{spent['database'] or 0:.1f} | {spent['coordinator']:.1f} | {busy:.2f} of {os.cpu_count()} |"
			)
		lines.append("")
	return lines
