// Copyright (c) 2026, opt_consent developers
// License: MIT

frappe.ui.form.on("Opt Consent Run", {
	refresh(frm) {
		frm.disable_save();
		if (frm.doc.status === "Running") {
			frm.add_custom_button(__("Resume"), () =>
				frappe.call({
					method: "opt_consent.opt_consent.doctype.opt_consent_run.opt_consent_run.resume",
					type: "POST",
					args: { run: frm.doc.name },
					callback: () => frappe.show_alert(__("The chunks not done are queued again.")),
				})
			);
		}
		if (frm.doc.status !== "Completed") {
			// the chunks report progress on this record; reload when they do
			frappe.realtime.off("progress");
			frappe.realtime.on("progress", (data) => {
				if (data.doctype === frm.doctype && data.docname === frm.doc.name) {
					frm.reload_doc();
				}
			});
		}
	},
});
