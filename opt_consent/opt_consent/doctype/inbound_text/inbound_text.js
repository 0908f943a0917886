// Copyright (c) 2026, opt_consent developers
// License: MIT

frappe.ui.form.on("Inbound Text", {
	refresh(frm) {
		frm.trigger("add_review_button");
	},

	add_review_button(frm) {
		if (!["Unrecognised", "Unknown Number"].includes(frm.doc.status) || !frm.perm[0]?.write) {
			return;
		}
		frm.add_custom_button(__("Mark Reviewed"), () => frm.trigger("mark_reviewed"));
	},

	mark_reviewed(frm) {
		frappe.prompt(
			[{ fieldname: "note", fieldtype: "Small Text", label: __("Review Note") }],
			(values) => {
				frappe
					.call({
						method: "opt_consent.inbound.mark_reviewed",
						args: { name: frm.doc.name, note: values.note },
						freeze: true,
					})
					.then(() => frm.reload_doc());
			},
			__("Mark {0} Reviewed", [frm.doc.name]),
			__("Mark Reviewed")
		);
	},
});
