// Contact Control in the desk: "allowed now", or why not and when next, for each channel of a Phone or an
// Email (a section of the form) and of each record in a Contact's Consent section. The server decides
// (opt_consent.control.next_allowed); this only shows its answer, in the user's time and the person's.

frappe.provide("opt_consent.control");

(function (control) {
	const CSS = "opt-consent-next-allowed";

	// A server datetime (site time) in the user's time zone, as the user reads dates.
	control.user_time = function (value) {
		const user = frappe.datetime.convert_to_user_tz
			? frappe.datetime.convert_to_user_tz(value)
			: value;
		return frappe.datetime.str_to_user(user);
	};

	// One line for one channel: a jQuery element (text only: nothing from the server is read as HTML).
	// With `beside_consent` (the Contact's section, which already shows the consent state), a refusal by
	// consent itself adds nothing: only the rules' "not now" and "next allowed" are shown.
	control.line = function (verdict, beside_consent) {
		const $line = $(`<div class="small ${CSS}">`);
		if (!verdict) return $line;
		if (beside_consent && !verdict.allowed && !verdict.rule) return $line;
		if (verdict.allowed) {
			$line.addClass("text-success").text(__("Allowed now"));
			return $line;
		}
		$line.addClass("text-danger");
		let text = __("Not now: {0}", [verdict.reason_label]);
		if (verdict.rule) text += " " + __("(rule: {0})", [verdict.rule]);
		$("<div>").text(text).appendTo($line);
		if (verdict.next_allowed_at) {
			const local = (verdict.local_next_allowed_at || [])
				.map((item) => __("{0} in {1}", [frappe.datetime.str_to_user(item.at), item.zone]))
				.join("; ");
			$('<div class="opt-consent-next-allowed-at">')
				.text(__("Next allowed: {0} your time", [control.user_time(verdict.next_allowed_at)]))
				.appendTo($line);
			if (local)
				$('<div class="opt-consent-next-allowed-local">')
					.text(__("Their local time: {0}", [local]))
					.appendTo($line);
		} else {
			$("<div>")
				.text(__("Only a new opt in or a change to the record can allow it."))
				.appendTo($line);
		}
		return $line;
	};

	// The form's "Contact Control" section: each channel of the record.
	control.show_on_form = function (frm) {
		if (frm.is_new()) return;
		const token = (frm.opt_consent_control_token = (frm.opt_consent_control_token || 0) + 1);
		frappe
			.call({
				method: "opt_consent.control.next_allowed",
				type: "GET",
				args: { doctype: frm.doctype, name: frm.doc.name },
			})
			.then((r) => {
				if (token !== frm.opt_consent_control_token) return;
				frm.dashboard.parent.find(`.${CSS}-section`).remove();
				const $body = $(
					frm.dashboard.add_section("", __("Contact Control"), `custom ${CSS}-section`)
				);
				const $row = $('<div class="row">').appendTo($body);
				for (const channel of opt_consent.desk.channels_of(frm.doctype)) {
					const $col = $('<div class="col-sm-4">')
						.attr("data-channel", channel.name)
						.appendTo($row);
					$("<div class='bold'>").text(channel.label).appendTo($col);
					control.line(r.message.channels[channel.name]).appendTo($col);
				}
				frm.dashboard.show();
			});
	};

	// "Record Call..." on a Phone: a dialer-less desk records a call it placed. The server checks consent and
	// the rules first; a refusal says why and when next, and nothing is recorded.
	control.record_call = function (frm) {
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
})(opt_consent.control);

for (const doctype of ["Phone", "Email"]) {
	frappe.ui.form.on(doctype, {
		refresh(frm) {
			opt_consent.control.show_on_form(frm);
			if (
				doctype === "Phone" &&
				!frm.is_new() &&
				frappe.model.can_create("Contact Attempt")
			) {
				frm.page.add_menu_item(__("Record Call..."), () =>
					opt_consent.control.record_call(frm)
				);
			}
		},
	});
}
