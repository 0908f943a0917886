// Buttons, dialog and log come from the shared channel description in opt_consent.bundle.js.
frappe.ui.form.on("Phone", {
	refresh(frm) {
		opt_consent.desk.refresh_form(frm);
		// Evidence: print, PDF and JSON twin of the whole log (managers, auditors, System Managers)
		frappe.require("evidence.bundle.js", () => opt_consent.evidence.add_buttons(frm));
	},
});
