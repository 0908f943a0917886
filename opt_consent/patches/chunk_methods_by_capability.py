"""The app is laid out by capability: the chunk methods stored in Opt Consent Run rows move with their code
(:data:`opt_consent.jobs.runs.RENAMED`), so a run started before the upgrade resumes after ``bench migrate``.
Only the run rows change; no log row is touched. Idempotent: a row already renamed matches no old name."""

import frappe

from opt_consent.jobs.runs import RENAMED, RUN


def execute():
	for old, new in RENAMED.items():
		frappe.db.set_value(RUN, {"chunk_method": old}, "chunk_method", new, update_modified=False)
