// Copyright (c) 2026, opt_consent developers
// License: MIT

frappe.ui.form.on("Inbound Text", {
	refresh(frm) {
		frm.trigger("add_review_buttons");
	},

	add_review_buttons(frm) {
		if (!["Unrecognised", "Unknown Number", "Flagged"].includes(frm.doc.status) || !frm.perm[0]?.write) {
			return;
		}
		if (frm.doc.status === "Unrecognised") {
			frm.add_custom_button(__("Record as Revocation"), () =>
				frm.events.mark_reviewed(frm, true)
			);
		}
		frm.add_custom_button(__("Mark Reviewed"), () => frm.events.mark_reviewed(frm, false));
	},

	mark_reviewed(frm, as_revocation) {
		const title = as_revocation
			? __("Record {0} as a Revocation", [frm.doc.name])
			: __("Mark {0} Reviewed", [frm.doc.name]);
		const fields = [{ fieldname: "note", fieldtype: "Small Text", label: __("Review Note") }];
		if (as_revocation) {
			fields.unshift({
				fieldtype: "HTML",
				options: `<p class="text-muted">${frappe.utils.escape_html(
					__(
						"Texting consent is withdrawn on every phone with this number, dated when the text was received ({0}).",
						[frappe.datetime.str_to_user(frm.doc.received_at)]
					)
				)}</p>`,
			});
		}
		frappe.prompt(
			fields,
			(values) => {
				frappe
					.call({
						method: "opt_consent.inbound.mark_reviewed",
						args: { name: frm.doc.name, note: values.note, as_revocation: as_revocation ? 1 : 0 },
						freeze: true,
					})
					.then(() => frm.reload_doc());
			},
			title,
			as_revocation ? __("Record as Revocation") : __("Mark Reviewed")
		);
	},
});
