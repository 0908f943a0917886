// Copyright (c) 2026, opt_consent developers
// License: MIT

frappe.query_reports["Texting Reauthorisation Due"] = {
	filters: [
		{
			fieldname: "due_within",
			label: __("Due Within (Days)"),
			fieldtype: "Int",
			default: 30,
			reqd: 1,
			description: __("0: phones due today or earlier."),
		},
		{
			fieldname: "include_lapsed",
			label: __("Include Lapsed Phones"),
			fieldtype: "Check",
			default: 0,
		},
	],
};
