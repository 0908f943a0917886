// The consent dialog: Date, Time (in the operator's zone), Method, Purpose and Consent Wording of one action,
// sent once, a refusal kept in the dialog. Shared by the Phone and Email forms, a Contact's Consent section
// and the lists' bulk Opt Out; each loads it when it needs it (frappe.require("consent_dialog.bundle.js")).
// Reads the channel description of consent_channels.js, loaded with those forms and lists.

frappe.provide("opt_consent.desk");

(function (desk) {
	const API = "opt_consent.api.";

	// What each action is. `granting` actions need an Opt Method allowed "for opt in".
	const ACTIONS = {
		opt_in: { method: API + "opt_in", granting: true },
		opt_out: { method: API + "opt_out", granting: false },
		text_reauth: { method: API + "text_reauth", granting: true },
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
})(opt_consent.desk);
