// Texting reauthorisation: a note on the Phone form when texting consent is due or lapsed.
// Registered with `doctype_js` in hooks.py, next to the Phone form script.

frappe.provide("opt_consent.reauth");

// The note for a Phone, or null. Dates are YYYY-MM-DD strings, so they compare as text.
opt_consent.reauth.note = function (doc, today) {
	const lapses_on = doc.text_consent_lapses_on;
	const due_on = doc.text_reauth_due_on;
	if (doc.text_opt && lapses_on && today >= lapses_on) {
		return {
			color: "red",
			message: __(
				"Texting consent lapsed on {0}: do not text this number. Record a Text Reauth to restore it.",
				[frappe.datetime.str_to_user(lapses_on)]
			),
		};
	}
	if (!doc.text_opt && doc.text_reauth_status === "Lapsed") {
		return {
			color: "red",
			message: __("Texting consent lapsed on {0}. Record a Text Reauth to restore it.", [
				frappe.datetime.str_to_user(lapses_on),
			]),
		};
	}
	if (doc.text_opt && due_on && today >= due_on) {
		return {
			color: "orange",
			message: __("Texting consent is due for reauthorisation: it lapses on {0}.", [
				frappe.datetime.str_to_user(lapses_on),
			]),
		};
	}
	return null;
};

frappe.ui.form.on("Phone", {
	refresh(frm) {
		frm.trigger("show_text_reauth_note");
	},

	show_text_reauth_note(frm) {
		if (frm.is_new()) return;
		const note = opt_consent.reauth.note(frm.doc, frappe.datetime.get_today());
		if (note) {
			frm.dashboard.set_headline_alert(
				`<span class="opt-consent-reauth-note">${note.message}</span>`,
				note.color
			);
		}
	},
});
