// Copyright (c) 2026, opt_consent developers
// License: MIT

// The review queue: revocations not applied yet (the gateway retries them), unrecognised texts (a
// revocation may be worded any reasonable way; each has its honour-by date) and revocations applied but
// flagged for a person to look at.
frappe.listview_settings["Inbound Text"] = {
	add_fields: ["status", "honour_by"],
	filters: [["status", "in", ["Not Applied", "Unrecognised", "Flagged"]]],
	get_indicator(doc) {
		const colours = {
			"Not Applied": "red",
			Unrecognised: "orange",
			Flagged: "purple",
			"Unknown Number": "yellow",
			Applied: "green",
			"No Change": "gray",
			Help: "blue",
			Reviewed: "gray",
		};
		return [__(doc.status), colours[doc.status] || "gray", "status,=," + doc.status];
	},
};
