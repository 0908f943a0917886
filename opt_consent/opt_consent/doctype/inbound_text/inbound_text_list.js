// Copyright (c) 2026, opt_consent developers
// License: MIT

// The review queue: revocations not applied yet (the gateway retries them) and unrecognised texts (a
// revocation may be worded any reasonable way).
frappe.listview_settings["Inbound Text"] = {
	add_fields: ["status"],
	filters: [["status", "in", ["Not Applied", "Unrecognised"]]],
	get_indicator(doc) {
		const colours = {
			"Not Applied": "red",
			Unrecognised: "orange",
			"Unknown Number": "yellow",
			Applied: "green",
			"No Change": "gray",
			Help: "blue",
			Reviewed: "gray",
		};
		return [__(doc.status), colours[doc.status] || "gray", "status,=," + doc.status];
	},
};
