// Copyright (c) 2026, opt_consent developers
// License: MIT

frappe.listview_settings["Opt Consent Run"] = {
	get_indicator(doc) {
		const colour = {
			Queued: "orange",
			Running: "blue",
			Completed: doc.broken ? "red" : "green",
		};
		return [__(doc.status), colour[doc.status] || "gray", "status,=," + doc.status];
	},
	onload(listview) {
		listview.page.add_inner_button(__("Verify All Records"), () =>
			opt_consent_verify_all_records()
		);
	},
};

function opt_consent_verify_all_records() {
	frappe.call({
		method: "opt_consent.opt_consent.doctype.opt_consent_run.opt_consent_run.verify_all_records",
		type: "POST",
		freeze: true,
		callback: (r) => {
			frappe.show_alert({
				message: __("Every record's log is being verified by the background workers."),
				indicator: "blue",
			});
			frappe.set_route("Form", "Opt Consent Run", r.message);
		},
	});
}
