// Copyright (c) 2026, opt_consent developers
// License: MIT

// Only a Draft is edited; Publish makes it the title's current version (the one before it becomes
// Superseded); New Version copies a Published version into a Draft.
frappe.ui.form.on("Consent Wording", {
	refresh(frm) {
		if (frm.is_new()) return;
		const status = frm.doc.status;
		const can_write = frm.perm[0] && frm.perm[0].write;
		if (status !== "Draft") {
			frm.disable_form();
			frm.set_intro(
				status === "Published"
					? __(
							"Published: consent is recorded under this text, so it can no longer be changed. Use New Version to change the wording."
					  )
					: __("Superseded by {0}: kept as the text earlier consent was given under.", [
							frm.doc.superseded_by || "",
					  ]),
				status === "Published" ? "green" : "orange"
			);
		}
		if (status === "Draft" && can_write) {
			frm.add_custom_button(__("Publish"), () => {
				if (frm.is_dirty()) {
					frappe.msgprint(__("Save your changes first."));
					return;
				}
				frappe.confirm(
					__(
						"Publish {0}? Its text can never be changed afterwards, and the version published before it becomes Superseded.",
						[frm.doc.name]
					),
					() =>
						frappe
							.call({
								method: "opt_consent.wordings.publish",
								type: "POST",
								args: { name: frm.doc.name },
								freeze: true,
							})
							.then(() => frm.reload_doc())
				);
			});
		}
		if (status === "Published" && frappe.model.can_create("Consent Wording")) {
			frm.add_custom_button(__("New Version"), () =>
				frappe
					.call({
						method: "opt_consent.wordings.new_version",
						type: "POST",
						args: { name: frm.doc.name },
						freeze: true,
					})
					.then((r) => frappe.set_route("Form", "Consent Wording", r.message.name))
			);
		}
	},
});
