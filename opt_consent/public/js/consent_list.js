// The list views of Phone and Email (doctype_list_js, after consent_channels.js): one indicator per row from
// the channel description, and the bulk "Opt Out..." action, whose dialog (consent_dialog.bundle.js) is
// loaded when it is first opened. phone_list.js and email_list.js register `opt_consent.desk.list_settings`.

frappe.provide("opt_consent.desk");

(function (desk) {
	const API = "opt_consent.api.";

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
		// the dialog is a bundle, loaded when it is first opened
		const loaded = frappe.require("consent_dialog.bundle.js");
		return loaded
			.then(() => desk.get_methods(false))
			.then((methods) => {
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
