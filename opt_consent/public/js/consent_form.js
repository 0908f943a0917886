// The form of a consent record (Phone, Email; doctype_js, after consent_channels.js): Contact Control, the
// consent buttons, Consent per Purpose, the cell-only note, the newest-first log and the Evidence group.
// The phone.js and email.js form scripts call `opt_consent.desk.refresh_form`.

frappe.provide("opt_consent.desk");

(function (desk) {
	const API = "opt_consent.api.";
	// The shared pieces the form shows, loaded on its first refresh (frappe.require runs each bundle once).
	const BUNDLES = [
		"consent_dialog.bundle.js",
		"contact_control.bundle.js",
		"evidence.bundle.js",
	];

	desk.refresh_form = function (frm) {
		// the stored log table stays hidden from the first paint: the form shows it newest first
		if (frm.fields_dict.opt_logs_html) frm.set_df_property("opt_logs", "hidden", 1);
		// a later refresh asked again: only its render runs
		const token = (frm.opt_consent_form_token = (frm.opt_consent_form_token || 0) + 1);
		frappe.require(BUNDLES, () => {
			if (token !== frm.opt_consent_form_token) return;
			opt_consent.control.show_on_form(frm);
			desk.show_form(frm);
			// Evidence: print, PDF and JSON twin of the whole log (managers, auditors, System Managers)
			opt_consent.evidence.add_buttons(frm);
		});
	};

	desk.show_form = function (frm) {
		desk.render_logs(frm);
		if (frm.is_new()) return; // no consent buttons on an unsaved record
		desk.render_purposes(frm);
		const can_write = frm.perm[0] && frm.perm[0].write;
		let text_hidden = false;
		for (const channel of desk.channels_of(frm.doctype)) {
			if (!desk.can_grant(frm.doc, channel)) text_hidden = true;
			if (!can_write) continue;
			const { actions, extra_opt_out } = desk.offered_actions(frm.doc, channel);
			for (const action of actions) {
				frm.add_custom_button(channel[action], () =>
					desk.open_form_dialog(frm, channel, action)
				);
			}
			if (extra_opt_out) {
				frm.add_custom_button(
					channel.opt_out,
					() => desk.open_form_dialog(frm, channel, "opt_out"),
					__("Record Opt Out")
				);
			}
		}
		desk.show_cell_note(frm, text_hidden);
	};

	// Consent per channel and purpose at a glance, on a site with several purposes.
	desk.render_purposes = function (frm) {
		if (!desk.purposes().several) return;
		const name = frm.doc.name;
		frappe.call({
			method: API + "purpose_states",
			type: "POST", // never a cached answer: the state changes with every action
			args: { doctype: frm.doctype, name },
			callback: (r) => {
				if (frm.doc.name === name) desk.show_purposes(frm, r.message); // still the same record
			},
		});
	};

	desk.show_purposes = function (frm, answer) {
		if (!answer || !answer.several) return;
		const $table = $(
			'<table class="table table-bordered table-condensed opt-consent-purposes"></table>'
		);
		const $head = $("<tr></tr>").appendTo($("<thead></thead>").appendTo($table));
		for (const label of [
			__("Channel"),
			__("Purpose"),
			__("Consent"),
			__("Latest"),
			__("Date"),
		])
			$("<th></th>").text(label).appendTo($head);
		const $body = $("<tbody></tbody>").appendTo($table);
		const labels = desk.channels();
		for (const row of answer.states) {
			const $row = $("<tr></tr>")
				.attr("data-channel", row.channel)
				.attr("data-purpose", row.purpose)
				.appendTo($body);
			$("<td></td>")
				.text(labels[row.channel] ? labels[row.channel].label : row.channel)
				.appendTo($row);
			$("<td></td>")
				.text(row.default ? __("{0} (default)", [row.purpose]) : row.purpose)
				.appendTo($row);
			$("<td></td>")
				.append(
					$('<span class="indicator-pill"></span>')
						.addClass(
							row.opted_in ? "green" : row.action === "Opt Out" ? "red" : "gray"
						)
						.text(
							row.opted_in
								? __("In")
								: row.action === "Opt Out"
								? __("Out")
								: __("Not given")
						)
				)
				.appendTo($row);
			$("<td></td>")
				.text(row.action ? __(row.action) : "")
				.appendTo($row);
			$("<td></td>")
				.text(row.date ? frappe.datetime.str_to_user(row.date) : "")
				.appendTo($row);
		}
		// one section per form, replaced on each refresh (the dashboard's reset may have run or not yet)
		frm.dashboard.parent.find(".opt-consent-purposes-section").remove();
		frm.dashboard.add_section(
			$table.prop("outerHTML"),
			__("Consent per Purpose"),
			"custom opt-consent-purposes-section"
		);
		frm.dashboard.show();
	};

	// One note per form (the form keeps its intro across refreshes: set or clear it, never add another).
	desk.show_cell_note = function (frm, show) {
		if (!show) {
			if (frm.opt_consent_note) frm.set_intro("");
			frm.opt_consent_note = false;
			return;
		}
		const note = __(
			"Texting consent is given on Cell phones only; this phone is {0}. A texting opt out is still recorded.",
			[__(frm.doc.phone_type || "of no type")]
		);
		frm.set_intro("");
		frm.set_intro(
			`<span class="opt-consent-cell-only">${frappe.utils.escape_html(note)}</span>`,
			"blue"
		);
		frm.opt_consent_note = true;
	};

	// The dialog on the record's own form: the form must be saved first, and reloads afterwards.
	desk.open_form_dialog = function (frm, channel, action) {
		if (frm.is_dirty()) {
			frappe.msgprint(__("Save or discard your changes first."), __("Unsaved changes"));
			return;
		}
		return desk.open_dialog(
			{ doctype: frm.doctype, name: frm.doc.name },
			channel,
			action,
			() => frm.reload_doc()
		);
	};

	// The log, newest event first (stored rows keep their order; only the display is sorted).
	desk.sorted_logs = function (rows) {
		const key = (row) => `${row.event_date || ""} ${desk.pad_time(row.event_time)}`;
		return (rows || []).slice().sort((a, b) => {
			const by_time = key(b).localeCompare(key(a));
			return by_time !== 0 ? by_time : (b.idx || 0) - (a.idx || 0);
		});
	};

	desk.pad_time = function (value) {
		const parts = String(value || "")
			.split(".")[0]
			.split(":");
		return parts.map((p) => p.padStart(2, "0")).join(":");
	};

	desk.render_logs = function (frm) {
		const field = frm.fields_dict.opt_logs_html;
		if (!field) return;
		const columns = [
			["channel", __("Channel")],
			["action", __("Action")],
			["event_date", __("Date")],
			["event_time", __("Time")],
			["method", __("Method")],
			["wording", __("Wording")],
			[
				"purpose",
				__("Purpose"),
				// a revocation of every purpose says so; a row from before purposes names none
				(row) => (row.scope === "All Purposes" ? __("All purposes") : row.purpose || ""),
			],
			["recorded_by", __("Operator")],
			["source", __("Source")],
		];
		const rows = desk.sorted_logs(frm.doc.opt_logs);
		// a revocation received by text shows its one confirmation text beside it
		const confirmations = (frm.doc.__onload && frm.doc.__onload.opt_confirmations) || {};
		if (Object.keys(confirmations).length) {
			columns.push([
				"confirmation",
				__("Confirmation"),
				(row) => {
					const sent = row.message_id && confirmations[row.message_id];
					if (!sent) return "";
					return sent.sent_at
						? __("{0} at {1}", [
								__(sent.status),
								frappe.datetime.str_to_user(sent.sent_at),
						  ])
						: __(sent.status);
				},
			]);
		}
		const $table = $(`<table class="table table-bordered table-sm opt-consent-log"></table>`);
		const $head = $("<tr></tr>").appendTo($("<thead></thead>").appendTo($table));
		for (const [, label] of columns) $("<th></th>").text(label).appendTo($head);
		const $body = $("<tbody></tbody>").appendTo($table);
		desk.append_log_rows($body, columns, rows);
		if (!rows.length) {
			$("<tr></tr>")
				.append(
					$("<td></td>")
						.attr("colspan", columns.length)
						.addClass("text-muted")
						.text(__("No consent recorded yet."))
				)
				.appendTo($body);
		}
		field.$wrapper.empty().append($table);
		// A record loads only its newest log rows (controllers.LOG_WINDOW): page the older ones in on request.
		const total = (frm.doc.__onload && frm.doc.__onload.opt_log_count) || 0;
		if (total > rows.length)
			desk.add_older_button(frm, field.$wrapper, $body, columns, rows.length, total);
	};

	desk.append_log_rows = function ($body, columns, rows) {
		for (const row of rows) {
			const $tr = $("<tr></tr>").attr("data-idx", row.idx).appendTo($body);
			for (const [fieldname, , read] of columns) {
				let value = read ? read(row) : row[fieldname];
				if (fieldname === "event_date") value = frappe.datetime.str_to_user(value);
				else if (fieldname === "event_time") value = desk.pad_time(value);
				else if (["channel", "action", "source"].includes(fieldname) && value)
					value = __(value);
				$("<td></td>")
					.attr("data-fieldname", fieldname)
					.text(value || "")
					.appendTo($tr);
			}
		}
	};

	desk.add_older_button = function (frm, $wrapper, $body, columns, shown, total) {
		const $more = $('<p class="text-muted small opt-consent-log-more"></p>').appendTo(
			$wrapper
		);
		const $count = $("<span></span>").appendTo($more);
		const $button = $(
			'<button class="btn btn-xs btn-default ml-2 opt-consent-log-older"></button>'
		)
			.text(__("Show older entries"))
			.appendTo($more);
		const update = () => {
			$count.text(
				shown < total
					? __("Showing the newest {0} of {1} entries.", [shown, total])
					: __("Showing all {0} entries.", [total])
			);
			$button.toggle(shown < total);
		};
		update();
		$button.on("click", () => {
			$button.prop("disabled", true);
			frappe
				.call({
					method: API + "get_log",
					args: {
						doctype: frm.doctype,
						name: frm.doc.name,
						start: shown,
						page_length: 50,
					},
				})
				.then((r) => {
					desk.append_log_rows($body, columns, r.message.rows);
					shown += r.message.rows.length;
					total = r.message.total;
					update();
				})
				.always(() => $button.prop("disabled", false));
		});
	};
})(opt_consent.desk);
