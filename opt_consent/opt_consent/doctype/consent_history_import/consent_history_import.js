// Consent History Import: attach a CSV, Dry Run (what would be recorded and refused, and why), then Apply.
// Both run as background jobs; their progress and status arrive in real time.

const RUNNING = ["Dry Run Queued", "Dry Run Running", "Apply Queued", "Applying"];

frappe.ui.form.on("Consent History Import", {
	setup(frm) {
		frappe.realtime.on("opt_consent_import_progress", (data) => {
			if (!frm.doc || data.name !== frm.doc.name) return;
			frm.dashboard.show_progress(__("Consent history import"), data.percent, data.text);
			if (data.percent >= 100) {
				frm.dashboard.hide_progress();
				frm.reload_doc();
			}
		});
	},

	onload(frm) {
		frappe.call({
			method: "frappe.core.doctype.user.user.get_timezones",
			callback: (r) => {
				if (r.message) frm.set_df_property("time_zone", "options", r.message.timezones);
			},
		});
	},

	refresh(frm) {
		frm.disable_save(false);
		show_summary(frm);
		if (frm.is_new() || !frm.doc.import_file) return;
		if (RUNNING.includes(frm.doc.status)) {
			frm.dashboard.set_headline(
				__("{0}: the import runs in the background; this form updates when it ends.", [
					__(frm.doc.status),
				]),
				"blue",
			);
			return;
		}
		frm.add_custom_button(__("Dry Run"), () => start(frm, "Dry Run"));
		if (["Dry Run Done", "Failed", "Applied"].includes(frm.doc.status)) {
			frm.add_custom_button(__("Apply"), () => {
				frappe.confirm(
					__(
						"Record the {0} events the dry run accepted into the consent logs? Rows already imported are skipped.",
						[frm.doc.recorded || 0],
					),
					() => start(frm, "Apply"),
				);
			}).addClass("btn-primary");
		}
	},
});

function start(frm, mode) {
	const go = () =>
		frappe
			.call({
				method: "opt_consent.history_import.start",
				args: { name: frm.doc.name, mode },
				freeze: true,
			})
			.then(() => frm.reload_doc());
	if (frm.is_dirty()) frm.save().then(go);
	else go();
}

function show_summary(frm) {
	if (!frm.doc.last_run || RUNNING.includes(frm.doc.status)) return;
	const dry = frm.doc.last_run === "Dry Run";
	const parts = [
		__("Rows: {0}", [frm.doc.total_rows || 0]),
		dry
			? __("Would be recorded: {0}", [frm.doc.recorded || 0])
			: __("Recorded: {0}", [frm.doc.recorded || 0]),
		__("Refused: {0}", [frm.doc.refused_count || 0]),
		__("Already imported: {0}", [frm.doc.duplicates || 0]),
		__("New records: {0}", [frm.doc.new_records || 0]),
	];
	const color = frm.doc.status === "Failed" ? "red" : frm.doc.refused_count ? "orange" : "green";
	frm.dashboard.set_headline(
		`<span class="opt-import-summary">${parts.map(frappe.utils.escape_html).join(" · ")}</span>`,
		color,
	);
}
