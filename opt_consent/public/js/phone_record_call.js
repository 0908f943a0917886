// "Record Call..." on a Phone form: a dialer-less desk records a call it placed. The server checks consent
// and the rules first; a refusal says why and when next, and nothing is recorded. Registered with
// `doctype_js` in hooks.py.

frappe.provide("opt_consent.control");

opt_consent.control.record_call = function (frm) {
	const outcomes = frappe.boot.opt_consent.call_outcomes || [];
	const dialog = new frappe.ui.Dialog({
		title: __("Record Call to {0}", [frm.doc.phone]),
		fields: [
			{
				fieldname: "outcome",
				fieldtype: "Select",
				label: __("Outcome"),
				options: outcomes.map((value) => ({ value, label: __(value) })),
				reqd: 1,
			},
			{
				fieldname: "reference",
				fieldtype: "Data",
				label: __("Reference"),
				description: __("The document the call is about, for example the debt."),
			},
			{
				fieldname: "override_reason",
				fieldtype: "Small Text",
				label: __("Override Reason"),
				description: __(
					"Only if a Contact Control rule refuses the call and you hold the override role."
				),
			},
		],
		primary_action_label: __("Record"),
		primary_action(values) {
			frappe
				.call({
					method: "opt_consent.control.record_attempt",
					args: { channel: "Call", address: frm.doc.phone_e164, ...values },
					freeze: true,
				})
				.then((r) => {
					if (!r.exc) {
						dialog.hide();
						frappe.show_alert({
							message: __("Call recorded"),
							indicator: "green",
						});
						frm.reload_doc();
					}
				});
		},
	});
	dialog.$wrapper.addClass("opt-consent-record-call");
	dialog.show();
};

frappe.ui.form.on("Phone", {
	refresh(frm) {
		if (!frm.is_new() && frappe.model.can_create("Contact Attempt")) {
			frm.page.add_menu_item(__("Record Call..."), () =>
				opt_consent.control.record_call(frm)
			);
		}
	},
});
