// Contact Control in the desk: "allowed now", or why not and when next, for each channel of a Phone or an
// Email (a section of the form) and of each record in a Contact's Consent section. The server decides
// (opt_consent.control.next_allowed); this only shows its answer, in the user's time and the person's.
// Loaded with frappe.require by the forms that show it (consent_form.js, contact_consent.js).

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
})(opt_consent.control);
