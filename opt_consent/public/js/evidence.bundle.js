// The Evidence action: a consent record's whole log as a print (its Evidence print format), a PDF where the
// site can make one, and its JSON twin. Each is produced by a POST that logs an Evidence Export.
// Loaded on demand (frappe.require("evidence.bundle.js")) by the Phone, Email and Contact forms.

frappe.provide("opt_consent.evidence");

(function (evidence) {
	const METHOD = "opt_consent.evidence.";
	const ROLES = ["System Manager", "Opt Consent Manager", "Opt Consent Auditor"];

	// Whether to offer the action at all (the server checks the role and the record again).
	evidence.may_produce = function () {
		return frappe.session.user === "Administrator" || frappe.user.has_role(ROLES);
	};

	// The Evidence group on a Phone or Email form.
	evidence.add_buttons = function (frm) {
		if (frm.is_new() || !evidence.may_produce()) return;
		const target = { doctype: frm.doctype, name: frm.doc.name };
		const group = __("Evidence");
		frm.add_custom_button(__("Print"), () => evidence.print(target), group);
		frm.add_custom_button(__("PDF"), () => evidence.pdf(target), group);
		frm.add_custom_button(__("Download JSON"), () => evidence.json(target), group);
	};

	// Log a Print export, then open the print view of the record's Evidence print format.
	evidence.print = function (target) {
		// opened now, while the click still counts as the user's gesture (no popup blocker)
		const win = window.open("", "_blank");
		return frappe
			.call({
				method: METHOD + "produce",
				type: "POST",
				args: Object.assign({ format: "Print" }, target),
				freeze: true,
				freeze_message: __("Producing evidence..."),
			})
			.then((r) => {
				const url = frappe.urllib.get_full_url(r.message.url);
				if (win) win.location = url;
				else window.open(url, "_blank");
				frappe.show_alert({
					message: __("Evidence Export {0} logged.", [r.message.export]),
					indicator: "green",
				});
			})
			.catch(() => win && win.close());
	};

	// The PDF, where the site can make one; otherwise the server's reason, and nothing logged.
	evidence.pdf = function (target) {
		frappe
			.call({ method: METHOD + "options", type: "GET", args: target })
			.then((r) => {
				if (!r.message.pdf) {
					frappe.msgprint({
						title: __("PDF not available"),
						message: r.message.pdf_message,
						indicator: "orange",
					});
					return;
				}
				evidence.download(target, "PDF");
			});
	};

	evidence.json = function (target) {
		evidence.download(target, "JSON");
	};

	evidence.download = function (target, format) {
		open_url_post(
			frappe.urllib.get_full_url("/api/method/" + METHOD + "produce"),
			Object.assign({ format }, target)
		);
		frappe.show_alert({ message: __("Evidence produced and logged."), indicator: "green" });
	};

	// A dropdown for one record in a Contact's Consent section.
	evidence.dropdown = function (target) {
		const $group = $('<div class="btn-group dropdown mb-1 opt-consent-evidence">');
		$(
			'<button class="btn btn-xs btn-default dropdown-toggle" data-toggle="dropdown" aria-expanded="false">'
		)
			.text(__("Evidence"))
			.appendTo($group);
		const $menu = $('<div class="dropdown-menu">').appendTo($group);
		const items = [
			[__("Print"), () => evidence.print(target)],
			[__("PDF"), () => evidence.pdf(target)],
			[__("Download JSON"), () => evidence.json(target)],
		];
		for (const [label, action] of items) {
			$('<a class="dropdown-item" href="#">')
				.text(label)
				.attr("data-label", label)
				.on("click", (event) => {
					event.preventDefault();
					action();
				})
				.appendTo($menu);
		}
		return $group;
	};

	// Every record of a Contact: one JSON twin each, in one zip (each logged).
	evidence.contact_zip = function (contact) {
		open_url_post(
			frappe.urllib.get_full_url("/api/method/" + METHOD + "produce_for_contact"),
			{ contact }
		);
		frappe.show_alert({ message: __("Evidence produced and logged."), indicator: "green" });
	};
})(opt_consent.evidence);
