// The desk side of consent: ONE description of the channels and their fields, and ONE handler that turns
// it into buttons, the Date / Time / Method dialog, the newest-first log and the list views of Phone and Email.
// Form and list scripts only call `opt_consent.desk.*`.

frappe.provide("opt_consent.desk");

(function (desk) {
	const API = "opt_consent.api.";

	// What each action is. `granting` actions need an Opt Method allowed "for opt in".
	const ACTIONS = {
		opt_in: { method: API + "opt_in", granting: true },
		opt_out: { method: API + "opt_out", granting: false },
		text_reauth: { method: API + "text_reauth", granting: true },
	};

	// The channels, their fields and their (translated) labels: the server's one description, sent in the
	// boot info (opt_consent.core.channels.describe). The desk keeps no copy of it.
	desk.channels = function () {
		return frappe.boot.opt_consent.channels;
	};

	desk.channels_of = function (doctype) {
		return Object.entries(desk.channels())
			.filter(([, spec]) => spec.doctype === doctype)
			.map(([name, spec]) => Object.assign({ name }, spec));
	};

	// The site's Consent Purposes (opt_consent.boot): `several` only when there is more than the default;
	// with one purpose the desk is exactly as before purposes existed.
	desk.purposes = function () {
		return frappe.boot.opt_consent.purposes || { several: false, by_channel: {} };
	};

	desk.purposes_of = function (channel) {
		const site = desk.purposes();
		return site.several ? site.by_channel[channel.name] || [] : [];
	};

	// Whether consent may be given on a channel of this record (a cell-only channel needs a Cell phone).
	desk.can_grant = function (doc, channel) {
		return !channel.cell_only || doc.phone_type === frappe.boot.opt_consent.cell;
	};

	// What the server would accept, from the record's state and each channel's latest logged action.
	desk.offered_actions = function (doc, channel) {
		const last = ((doc.__onload || {}).opt_last_actions || {})[channel.name];
		const revoked = !doc[channel.opt_field] && last === "Opt Out";
		if (desk.purposes_of(channel).length > 1) {
			// several purposes: the dialog names the purpose, the server refuses what is already so
			const several = [];
			if (desk.can_grant(doc, channel)) several.push("opt_in");
			several.push("opt_out");
			if (channel.text_reauth && desk.can_grant(doc, channel)) several.push("text_reauth");
			return { actions: several, extra_opt_out: false };
		}
		const actions = [];
		if (doc[channel.opt_field]) actions.push("opt_out");
		else if (desk.can_grant(doc, channel)) actions.push("opt_in");
		if (channel.text_reauth && desk.can_grant(doc, channel) && !revoked)
			actions.push("text_reauth");
		// "don't contact me" on a channel that is not opted in (never was, or lapsed): recorded as well
		const extra_opt_out = !doc[channel.opt_field] && !revoked;
		return { actions, extra_opt_out };
	};

	// ---------------------------------------------------------------- form

	desk.refresh_form = function (frm) {
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
		const $table = $('<table class="table table-bordered table-condensed opt-consent-purposes"></table>');
		const $head = $("<tr></tr>").appendTo($("<thead></thead>").appendTo($table));
		for (const label of [__("Channel"), __("Purpose"), __("Consent"), __("Latest"), __("Date")])
			$("<th></th>").text(label).appendTo($head);
		const $body = $("<tbody></tbody>").appendTo($table);
		const labels = desk.channels();
		for (const row of answer.states) {
			const $row = $("<tr></tr>")
				.attr("data-channel", row.channel)
				.attr("data-purpose", row.purpose)
				.appendTo($body);
			$("<td></td>").text(labels[row.channel] ? labels[row.channel].label : row.channel).appendTo($row);
			$("<td></td>")
				.text(row.default ? __("{0} (default)", [row.purpose]) : row.purpose)
				.appendTo($row);
			$("<td></td>")
				.append(
					$('<span class="indicator-pill"></span>')
						.addClass(row.opted_in ? "green" : row.action === "Opt Out" ? "red" : "gray")
						.text(row.opted_in ? __("In") : row.action === "Opt Out" ? __("Out") : __("Not given"))
				)
				.appendTo($row);
			$("<td></td>").text(row.action ? __(row.action) : "").appendTo($row);
			$("<td></td>").text(row.date ? frappe.datetime.str_to_user(row.date) : "").appendTo($row);
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

	desk.get_methods = function (granting) {
		const filters = { enabled: 1 };
		filters[granting ? "for_opt_in" : "for_opt_out"] = 1;
		return frappe.db
			.get_list("Opt Method", { filters, fields: ["name"], order_by: "name asc", limit: 0 })
			.then((rows) => rows.map((row) => row.name));
	};

	// The operator's own time zone (their user setting, else the site's): the date and time are typed in it,
	// sent with it, and stored in the site's zone by the server.
	desk.user_time_zone = function () {
		const zones = frappe.boot.time_zone || {};
		return zones.user || zones.system || frappe.sys_defaults.time_zone;
	};

	// Date, Time (in the operator's time zone, said once) and Method fields.
	desk.event_fields = function (methods) {
		const now = frappe.datetime.now_datetime().split(" ");
		return [
			{ fieldname: "refusal", fieldtype: "HTML" },
			{
				fieldname: "date",
				fieldtype: "Date",
				label: __("Date"),
				reqd: 1,
				default: now[0],
				description: __("The date of the authorization or deauthorization."),
			},
			{
				fieldname: "time",
				fieldtype: "Time",
				label: __("Time"),
				reqd: 1,
				default: now[1],
				description: __(
					"The time of the authorization or deauthorization, in your time zone ({0}).",
					[desk.user_time_zone()]
				),
			},
			{
				fieldname: "method",
				fieldtype: "Select",
				label: __("Method"),
				reqd: 1,
				options: [""].concat(methods),
				description: __("How the person gave or withdrew the authorization."),
			},
		];
	};

	// The Consent Wording of consent given: the Published versions for the channel and the chosen method
	// (opt_consent.wordings.offered), the chosen text shown read-only, required when the method says so.
	desk.wording_fields = function () {
		return [
			{
				fieldname: "wording",
				fieldtype: "Select",
				label: __("Consent Wording"),
				options: [""],
				description: __("The wording the person was shown or read when they agreed."),
			},
			{ fieldname: "wording_text", fieldtype: "HTML" },
		];
	};

	desk.load_wordings = function (dialog, channel) {
		const method = dialog.get_value("method");
		const field = dialog.get_field("wording");
		const apply = (required, wordings) => {
			dialog.opt_wordings = {};
			for (const w of wordings) dialog.opt_wordings[w.name] = w;
			dialog.opt_wording_required = required;
			field.df.options = [""].concat(wordings.map((w) => w.name));
			field.df.reqd = required ? 1 : 0;
			field.refresh();
			const current = dialog.get_value("wording");
			if (!dialog.opt_wordings[current]) {
				const only = required && wordings.length === 1 ? wordings[0].name : "";
				dialog.set_value("wording", only);
			}
			desk.show_wording_text(dialog);
		};
		if (!method) return apply(false, []);
		return frappe
			.call({
				method: "opt_consent.wordings.offered",
				type: "GET",
				args: { channel: channel.name, method },
			})
			.then((r) => {
				if (dialog.get_value("method") !== method) return; // the method changed meanwhile
				apply(!!r.message.required, r.message.wordings || []);
			});
	};

	desk.show_wording_text = function (dialog) {
		const $wrapper = dialog.fields_dict.wording_text.$wrapper.empty();
		const chosen = (dialog.opt_wordings || {})[dialog.get_value("wording")];
		if (chosen) {
			$('<blockquote class="opt-consent-wording-text small"></blockquote>')
				.css({ "white-space": "pre-wrap", "border-left": "3px solid var(--border-color)" })
				.css({ "padding-left": "var(--padding-sm)" })
				.text(chosen.text)
				.appendTo($wrapper);
		} else if (dialog.opt_wording_required && !Object.keys(dialog.opt_wordings || {}).length) {
			$('<p class="text-muted small opt-consent-wording-none"></p>')
				.text(
					__(
						"This method requires a Consent Wording, and none is published for this channel and method."
					)
				)
				.appendTo($wrapper);
		}
	};

	desk.show_refusal = function (dialog, message) {
		const $wrapper = dialog.fields_dict.refusal.$wrapper.empty();
		if (message) {
			$('<div class="alert alert-danger opt-consent-refusal" role="alert"></div>')
				.text(message)
				.appendTo($wrapper);
		}
	};

	// The readable message(s) of a failed call, from whatever Frappe put in the response.
	desk.server_message = function (r) {
		let messages = [];
		try {
			messages = JSON.parse((r && r._server_messages) || "[]").map((m) => {
				try {
					const parsed = JSON.parse(m);
					return parsed.message !== undefined ? parsed.message : parsed;
				} catch (e) {
					return m;
				}
			});
		} catch (e) {
			messages = [];
		}
		if (!messages.length && r && r._error_message) messages = [r._error_message];
		if (!messages.length && r && r.exception)
			messages = [String(r.exception).split(": ").pop()];
		if (!messages.length) messages = [__("The action was not recorded. Please try again.")];
		// DOMParser builds an inert document: markup in a message is read as text, never run
		const as_text = (m) =>
			new DOMParser().parseFromString(String(m), "text/html").body.textContent;
		return messages.map(as_text).join(" ");
	};

	// Send one request from a dialog: one at a time (a double click records once), refusals stay in the dialog.
	desk.submit = function (dialog, method, args, on_success) {
		if (dialog.opt_busy) return;
		dialog.opt_busy = true;
		dialog.disable_primary_action();
		desk.show_refusal(dialog, null);
		frappe.call({
			method,
			type: "POST",
			args,
			silent: true,
			freeze: true,
			freeze_message: __("Recording..."),
			always: (r) => {
				dialog.opt_busy = false;
				dialog.enable_primary_action();
				if (r && !r.exc_type && !r.exc && r.message !== undefined) {
					on_success(r.message);
				} else {
					desk.show_refusal(dialog, desk.server_message(r));
				}
			},
		});
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

	// The Date / Time / Method dialog of one action on one record, `target` = {doctype, name}, from any
	// form (the record's own, or a Contact's Consent section); `on_done` runs once the action is recorded.
	desk.open_dialog = function (target, channel, action, on_done) {
		const title = channel[action];
		const granting = ACTIONS[action].granting;
		return desk.get_methods(granting).then((methods) => {
			const fields = desk.event_fields(methods);
			const purposes = desk.purposes_of(channel);
			if (purposes.length > 1) fields.splice(1, 0, desk.purpose_field(purposes, granting));
			if (granting) fields.push(...desk.wording_fields());
			const dialog = new frappe.ui.Dialog({
				title,
				fields,
				primary_action_label: __("OK"),
				secondary_action_label: __("Cancel"),
				secondary_action: () => dialog.hide(),
				primary_action: (values) => {
					const args = {
						name: target.name,
						date: values.date,
						time: values.time,
						method: values.method,
						time_zone: desk.user_time_zone(),
					};
					if (granting && values.wording) args.wording = values.wording;
					if (values.purpose) args.purpose = values.purpose;
					if (action !== "text_reauth") {
						args.doctype = target.doctype;
						args.channel = channel.name;
					}
					desk.submit(dialog, ACTIONS[action].method, args, () => {
						dialog.hide();
						frappe.show_alert({
							message: __("{0}: recorded", [title]),
							indicator: "green",
						});
						if (on_done) on_done();
					});
				},
			});
			dialog.$wrapper.addClass("opt-consent-dialog");
			if (granting) {
				dialog.fields_dict.method.df.onchange = () => desk.load_wordings(dialog, channel);
				dialog.fields_dict.wording.df.onchange = () => desk.show_wording_text(dialog);
			}
			dialog.show();
			return dialog;
		});
	};

	// The purpose an action is for (offered only on a site with several): an opt out may name none, and
	// then covers every purpose of the channel.
	desk.purpose_field = function (purposes, granting) {
		const options = purposes.map((p) => ({ value: p, label: p }));
		if (!granting) options.unshift({ value: "", label: __("Every purpose") });
		return {
			fieldname: "purpose",
			fieldtype: "Select",
			label: __("Purpose"),
			reqd: granting ? 1 : 0,
			options,
			default: granting ? desk.purposes().default : "",
			description: granting
				? __("What the person agreed to be contacted for.")
				: __("What the person asked to stop. Every purpose when they did not say."),
		};
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
		frm.set_df_property("opt_logs", "hidden", 1);
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
				(row) =>
					row.scope === "All Purposes" ? __("All purposes") : row.purpose || "",
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
						? __("{0} at {1}", [__(sent.status), frappe.datetime.str_to_user(sent.sent_at)])
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

	// ---------------------------------------------------------------- list

	desk.list_settings = function (doctype) {
		const channels = desk.channels_of(doctype);
		const block_field = channels[0].block_field;
		const shown = (doc) => channels.filter((c) => desk.can_grant(doc, c) || doc[c.opt_field]);
		return {
			add_fields: ["active", block_field]
				.concat(channels.map((c) => c.opt_field))
				.concat(channels.some((c) => c.cell_only) ? ["phone_type"] : []),
			// One pill per row: blocked first, else the state of each channel (click filters on it).
			get_indicator(doc) {
				doc = Object.assign({ doctype }, doc);
				if (doc[block_field])
					return [channels[0].block_label, "red", `${block_field},=,1`];
				const labels = shown(doc).map((c) => (doc[c.opt_field] ? c.is_in : c.is_out));
				const filter = shown(doc)
					.map((c) => `${c.opt_field},=,${doc[c.opt_field] ? 1 : 0}`)
					.join("|");
				const any_in = channels.some((c) => doc[c.opt_field]);
				return [labels.join(" · "), any_in ? "green" : "gray", filter];
			},
			onload(listview) {
				if (!frappe.model.can_write(doctype)) return;
				listview.page.add_actions_menu_item(__("Opt Out..."), () =>
					desk.bulk_dialog(listview)
				);
			},
		};
	};

	desk.bulk_dialog = function (listview) {
		const names = listview.get_checked_items(true);
		if (!names.length) {
			frappe.msgprint(__("Select the records to opt out first."));
			return;
		}
		const channels = desk.channels_of(listview.doctype);
		return desk.get_methods(false).then((methods) => {
			const fields = desk.event_fields(methods);
			fields.splice(1, 0, {
				fieldname: "channel",
				fieldtype: "Select",
				label: __("Channel"),
				reqd: 1,
				options: channels.map((c) => ({ value: c.name, label: c.label })),
				default: channels[0].name,
			});
			const dialog = new frappe.ui.Dialog({
				title: __("Opt Out {0} selected records", [names.length]),
				fields,
				primary_action_label: __("OK"),
				secondary_action_label: __("Cancel"),
				secondary_action: () => dialog.hide(),
				primary_action: (values) => {
					const args = Object.assign(
						{ doctype: listview.doctype, names, time_zone: desk.user_time_zone() },
						values
					);
					delete args.refusal;
					desk.submit(dialog, API + "bulk_opt_out", args, (result) => {
						dialog.hide();
						desk.show_bulk_result(result);
						listview.clear_checked_items();
						// The list throttles a refresh with the same arguments for 3 s; the data changed, so reload.
						listview.last_args = null;
						listview.refresh();
					});
				},
			});
			dialog.$wrapper.addClass("opt-consent-dialog");
			dialog.show();
			return dialog;
		});
	};

	desk.show_bulk_result = function (result) {
		const $message = $('<div class="opt-consent-bulk-result"></div>');
		$("<p></p>")
			.text(__("{0} opted out, {1} refused.", [result.succeeded, result.refused.length]))
			.appendTo($message);
		if (result.refused.length) {
			const $list = $("<ul></ul>").appendTo($message);
			for (const row of result.refused) {
				$("<li></li>").text(`${row.name}: ${row.reason}`).appendTo($list);
			}
		}
		frappe.msgprint({
			title: __("Opt Out"),
			message: $message.prop("outerHTML"),
			indicator: result.refused.length ? "orange" : "green",
		});
	};
})(opt_consent.desk);
