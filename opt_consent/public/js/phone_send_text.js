// Send Text on a Phone form: through Frappe's own Send SMS door, where texting consent is checked (a number
// without texting consent in force is withheld, the sender told why, the message kept as evidence).
// Registered with `doctype_js` in hooks.py.

frappe.ui.form.on("Phone", {
	refresh(frm) {
		if (frm.is_new()) return;
		frm.page.add_menu_item(__("Send Text..."), () => opt_consent_send_text(frm));
	},
});

function opt_consent_send_text(frm) {
	const dialog = new frappe.ui.Dialog({
		title: __("Send Text to {0}", [frm.doc.phone]),
		fields: [{ fieldname: "message", fieldtype: "Small Text", label: __("Message"), reqd: 1 }],
		primary_action_label: __("Send"),
		primary_action(values) {
			dialog.hide();
			frappe.call({
				method: "frappe.core.doctype.sms_settings.sms_settings.send_sms",
				type: "POST",
				args: { receiver_list: [frm.doc.phone], msg: values.message },
				freeze: true,
				freeze_message: __("Sending..."),
			});
		},
	});
	dialog.show();
}
