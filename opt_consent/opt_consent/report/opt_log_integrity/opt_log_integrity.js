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
};
