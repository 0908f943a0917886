// Copyright (c) 2026, opt_consent developers
// License: MIT

frappe.ui.form.on("Opt Consent Settings", {
	refresh(frm) {
		frm.add_custom_button(__("Enable Regulation F Rules"), () => {
			frappe.confirm(
				__(
					"Enable the Regulation F rules (7 calls in 7 days per person and debt, 7 days after a conversation, 8 a.m. to 9 p.m. local time) for people in the United States?"
				),
				() =>
					frappe
						.call({
							method: "opt_consent.control.enable_regulation_f",
							freeze: true,
						})
						.then(() => {
							frappe.show_alert({
								message: __("Regulation F rules enabled"),
								indicator: "green",
							});
							frm.reload_doc();
						})
			);
		});
	},
});
