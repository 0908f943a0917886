// Buttons, dialog and log come from the shared channel description in opt_consent.bundle.js.
frappe.ui.form.on("Phone", {
	refresh(frm) {
		opt_consent.desk.refresh_form(frm);
	},
});
