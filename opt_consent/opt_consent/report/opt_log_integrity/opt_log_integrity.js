// Copyright (c) 2026, opt_consent developers
// License: MIT

frappe.query_reports["Opt Log Integrity"] = {
	filters: [
		{
			fieldname: "record_type",
			label: __("Record Type"),
			fieldtype: "Select",
			options: [""].concat(Object.keys(frappe.boot.opt_consent.records)),
		},
		{
			fieldname: "only_broken",
			label: __("Only Broken"),
			fieldtype: "Check",
			default: 1,
		},
	],
	onload(report) {
		// Large sites: verify every record in the background workers, chunk by chunk; the run's record
		// (Opt Consent Run) shows the progress, the counts and the broken records.
		report.page.add_inner_button(__("Verify All Records"), () =>
			frappe.call({
				method: "opt_consent.opt_consent.doctype.opt_consent_run.opt_consent_run.verify_all_records",
				type: "POST",
				freeze: true,
				callback: (r) => frappe.set_route("Form", "Opt Consent Run", r.message),
			})
		);
	},
};
