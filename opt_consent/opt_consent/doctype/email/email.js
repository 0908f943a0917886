// Contact Control, consent buttons, dialog, log and Evidence: public/js/consent_form.js (doctype_js in hooks.py).
frappe.ui.form.on("Email", {
	refresh(frm) {
		opt_consent.desk.refresh_form(frm);
	},
});
