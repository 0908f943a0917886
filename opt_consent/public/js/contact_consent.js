// The Consent section of a Contact: each number and address with its state, the same buttons and the same
// Date / Time / Method dialog as the Phone and Email forms (consent_dialog.bundle.js), acting on the
// underlying record, and a link to its full log. Registered with `doctype_js`, after consent_channels.js.
frappe.ui.form.on("Contact", {
	refresh(frm) {
		opt_consent.contact.render(frm);
	},
});

frappe.provide("opt_consent.contact");

(function (contact) {
	const desk = opt_consent.desk;
	const CSS = "opt-consent-contact";
	const BUNDLES = ["consent_dialog.bundle.js", "contact_control.bundle.js", "evidence.bundle.js"];

	contact.render = function (frm) {
		if (frm.is_new()) return;
		const token = (frm.opt_consent_token = (frm.opt_consent_token || 0) + 1);
		// the section arrives with what it shows: the dialog, Contact Control and the Evidence action
		Promise.all([
			frappe.call({
				method: "opt_consent.api.contact_consent",
				type: "GET",
				args: { contact: frm.doc.name },
			}),
			frappe.require(BUNDLES),
		]).then(([r]) => {
			// a later refresh asked again: only its answer is shown
			if (token !== frm.opt_consent_token) return;
			contact.show(frm, r.message);
		});
	};

	contact.show = function (frm, data) {
		frm.dashboard.parent.find(`.${CSS}`).remove();
		const $body = $(frm.dashboard.add_section("", __("Consent"), `custom ${CSS}`));
		$body.append(contact.table(frm, data));
		if (data.records.length && opt_consent.evidence.may_produce()) {
			// Evidence of every record at once: one JSON twin per record, in one zip
			$('<button class="btn btn-xs btn-default mb-2 opt-consent-contact-evidence">')
				.text(__("Evidence of All Records (JSON, zip)"))
				.on("click", () => opt_consent.evidence.contact_zip(frm.doc.name))
				.appendTo($body);
		}
		for (const doctype of data.unreadable) {
			$('<p class="text-muted small"></p>')
				.text(__("You may not read the {0} records of this Contact.", [__(doctype)]))
				.appendTo($body);
		}
		frm.dashboard.show();
	};

	// One column per channel of the one channel description; a row per record.
	contact.table = function (frm, data) {
		// the records' doctypes in the server's order (Phone, then Email), each with its channels
		const doctypes = [...new Set(data.records.map((record) => record.doctype))];
		const channels = doctypes.flatMap((doctype) => desk.channels_of(doctype));
		const $table = $(
			'<table class="table table-bordered table-sm opt-consent-contact-table">'
		);
		const $head = $("<tr>").appendTo($("<thead>").appendTo($table));
		for (const label of [__("Number or Address"), __("Type")])
			$("<th>").text(label).appendTo($head);
		for (const channel of channels) $("<th>").text(channel.label).appendTo($head);
		for (const label of [__("Status"), __("Record Consent")])
			$("<th>").text(label).appendTo($head);
		const $body = $("<tbody>").appendTo($table);
		for (const record of data.records) {
			contact.row(frm, record, channels).appendTo($body);
		}
		if (!data.records.length) {
			$("<tr>")
				.append(
					$("<td>")
						.attr("colspan", channels.length + 4)
						.addClass("text-muted")
						.text(__("No numbers or addresses on this Contact yet."))
				)
				.appendTo($body);
		}
		return $table;
	};

	contact.row = function (frm, record, channels) {
		const spec = frappe.boot.opt_consent.records[record.doctype];
		const own = desk.channels_of(record.doctype);
		const $tr = $("<tr>").attr({ "data-doctype": record.doctype, "data-name": record.name });

		// the address, a link to the record and its full log
		const $address = $('<td data-fieldname="address">').appendTo($tr);
		$("<div>")
			.text(record.address || "")
			.appendTo($address);
		$('<a class="small opt-consent-full-log">')
			.attr("href", frappe.utils.get_form_link(record.doctype, record.name))
			.text(__("{0}: full log", [record.name]))
			.appendTo($address);
		if (!record.on_contact) {
			$('<div class="small text-muted opt-consent-not-on-contact">')
				.text(__("No longer on this Contact; the record and its log are kept."))
				.appendTo($address);
		}
		$('<td data-fieldname="type">')
			.text(__(record[spec.type_field] || ""))
			.appendTo($tr);

		for (const channel of channels) {
			const $cell = $("<td>").attr("data-channel", channel.name).appendTo($tr);
			if (channel.doctype !== record.doctype) continue;
			contact.channel_state(record, channel).appendTo($cell);
			// Contact Control: allowed now, or why not and when next
			opt_consent.control.line((record.next_allowed || {})[channel.name], true).appendTo($cell);
		}

		const $status = $('<td data-fieldname="status">').appendTo($tr);
		if (record[own[0].block_field]) contact.pill(own[0].block_label, "red").appendTo($status);
		if (!record.active) contact.pill(__("Inactive"), "gray").appendTo($status);

		const $actions = $('<td data-fieldname="actions">').appendTo($tr);
		if (record.can_write) contact.buttons(frm, record, own).appendTo($actions);
		if (opt_consent.evidence.may_produce()) {
			opt_consent.evidence
				.dropdown({ doctype: record.doctype, name: record.name })
				.appendTo($actions);
		}
		return $tr;
	};

	contact.pill = function (label, color) {
		return $(`<span class="indicator-pill ${color} text-nowrap mr-1 mb-1">`).append(
			$("<span>").text(label)
		);
	};

	// In / Out as the list shows it; texting adds when its consent lapses (or that it lapsed).
	contact.channel_state = function (record, channel) {
		const $state = $("<div>");
		if (!record[channel.opt_field] && !desk.can_grant(record, channel)) {
			$('<span class="text-muted small">').text(__("Not a Cell phone")).appendTo($state);
		} else {
			const on = !!record[channel.opt_field];
			contact
				.pill(on ? channel.is_in : channel.is_out, on ? "green" : "gray")
				.appendTo($state);
		}
		// the other purposes of the channel, on a site with several (the pill above is the default's)
		for (const state of record.purposes || []) {
			if (state.channel !== channel.name || state.default) continue;
			const label = __("{0}: {1}", [
				state.purpose,
				state.opted_in ? __("In") : state.action === "Opt Out" ? __("Out") : __("Not given"),
			]);
			$('<div class="opt-consent-contact-purpose">')
				.attr("data-purpose", state.purpose)
				.append(contact.pill(label, state.opted_in ? "green" : "gray"))
				.appendTo($state);
		}
		if (channel.text_reauth) {
			const lapses = record.text_consent_lapses_on;
			if (record[channel.opt_field] && lapses) {
				$('<div class="small text-muted opt-consent-lapses">')
					.text(__("Lapses on {0}", [frappe.datetime.str_to_user(lapses)]))
					.appendTo($state);
			} else if (record.text_reauth_status === "Lapsed") {
				$('<div class="small text-muted opt-consent-lapses">')
					.text(__("Lapsed"))
					.appendTo($state);
			}
		}
		return $state;
	};

	// The buttons the record's own form offers, from the same rules (an opt out of a channel that is not
	// opted in under Record Opt Out, as there); the same dialog acts on the record.
	contact.buttons = function (frm, record, own) {
		const $buttons = $('<div class="opt-consent-contact-actions">');
		const target = { doctype: record.doctype, name: record.name };
		const open = (channel, action) =>
			desk.open_dialog(target, channel, action, () => contact.after_action(frm));
		const extra = [];
		for (const channel of own) {
			const { actions, extra_opt_out } = desk.offered_actions(record, channel);
			for (const action of actions) {
				$('<button class="btn btn-xs btn-default mr-1 mb-1">')
					.text(channel[action])
					.attr("data-label", channel[action])
					.on("click", () => open(channel, action))
					.appendTo($buttons);
			}
			if (extra_opt_out) extra.push(channel);
		}
		if (extra.length) {
			const $group = $('<div class="btn-group dropdown mb-1">').appendTo($buttons);
			$(
				'<button class="btn btn-xs btn-default dropdown-toggle" data-toggle="dropdown" aria-expanded="false">'
			)
				.text(__("Record Opt Out"))
				.appendTo($group);
			const $menu = $('<div class="dropdown-menu">').appendTo($group);
			for (const channel of extra) {
				$('<a class="dropdown-item" href="#">')
					.text(channel.opt_out)
					.attr("data-label", channel.opt_out)
					.on("click", (event) => {
						event.preventDefault();
						open(channel, "opt_out");
					})
					.appendTo($menu);
			}
		}
		return $buttons;
	};

	// The action is on the Contact's timeline: reload a saved Contact to show it; an edited one keeps its edits.
	contact.after_action = function (frm) {
		if (frm.is_dirty()) contact.render(frm);
		else frm.reload_doc();
	};
})(opt_consent.contact);
