// Contact Scrub: attach a CSV of numbers or email addresses, Start Scrub, download the answers.
// The scrub runs as a background job; a progress bar follows it (realtime) and the form polls its status
// while it is queued or running, so it also ends without the realtime server.

const SCRUB_ACTIVE = ["Queued", "Running"];
const SCRUB_POLL_MS = 2000;

frappe.ui.form.on("Contact Scrub", {
	refresh(frm) {
		show_summary(frm);
		poll(frm);
		if (frm.is_new()) return;
		if (SCRUB_ACTIVE.includes(frm.doc.status)) {
			frm.dashboard.set_headline(
				__("{0}: the scrub runs in the background; {1} of {2} addresses done.", [
					__(frm.doc.status),
					frm.doc.processed || 0,
					frm.doc.total || __("all"),
				]),
				"blue",
			);
			return;
		}
		if (frm.doc.result_file && frm.doc.status === "Done") {
			frm.add_custom_button(__("Download Result"), () => {
				window.open(frm.doc.result_file, "_blank");
			});
		}
		if (frm.doc.input_file && frm.perm[0] && frm.perm[0].write) {
			const label = frm.doc.status === "Draft" ? __("Start Scrub") : __("Scrub Again");
			frm.add_custom_button(label, () => start(frm)).addClass("btn-primary");
		}
	},
});

function start(frm) {
	const go = () =>
		frappe
			.call({
				method: "opt_consent.opt_consent.doctype.contact_scrub.contact_scrub.start_scrub",
				type: "POST",
				args: { name: frm.doc.name },
				freeze: true,
				freeze_message: __("Queuing the scrub"),
			})
			.then(() => frm.reload_doc());
	if (frm.is_dirty()) frm.save().then(go);
	else go();
}

function poll(frm) {
	clearTimeout(frm._scrub_poll);
	if (frm.is_new() || !SCRUB_ACTIVE.includes(frm.doc.status)) return;
	frm._scrub_poll = setTimeout(() => {
		if (!frm.doc || frm.doc.doctype !== "Contact Scrub" || cur_frm !== frm) return;
		frappe.db.get_value("Contact Scrub", frm.doc.name, ["status", "processed", "total"]).then((r) => {
			const now = r.message || {};
			if (now.status !== frm.doc.status || now.processed !== frm.doc.processed) frm.reload_doc();
			else poll(frm);
		});
	}, SCRUB_POLL_MS);
}

function show_summary(frm) {
	const field = frm.get_field("summary");
	if (!field) return;
	if (frm.doc.status !== "Done" || !frm.doc.reason_counts) {
		field.$wrapper.empty();
		return;
	}
	let counts = frm.doc.reason_counts;
	if (typeof counts === "string") {
		try {
			counts = JSON.parse(counts);
		} catch (e) {
			counts = [];
		}
	}
	const total = frm.doc.total || 0;
	const allowed = frm.doc.allowed_count || 0;
	const rows = (Array.isArray(counts) ? counts : [])
		.map(
			(row) =>
				`<tr><td>${frappe.utils.escape_html(row.label || row.reason)}</td>` +
				`<td><code>${frappe.utils.escape_html(row.reason)}</code></td>` +
				`<td class="text-right">${cint(row.count)}</td></tr>`,
		)
		.join("");
	field.$wrapper.html(`
		<div class="contact-scrub-summary">
			<p><b>${__("{0} of {1} addresses may be contacted now; {2} may not.", [
				allowed,
				total,
				total - allowed,
			])}</b></p>
			<table class="table table-bordered table-sm" style="max-width: 32rem">
				<thead><tr><th>${__("Reason")}</th><th>${__("Code")}</th><th class="text-right">${__("Addresses")}</th></tr></thead>
				<tbody>${rows}</tbody>
			</table>
		</div>`);
}
