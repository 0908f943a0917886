// The channels as the desk reads them: the server's ONE description, sent in the boot info
// (opt_consent.model.channels.describe), and what it lets a record offer. Loaded with the forms of Phone,
// Email and Contact (doctype_js) and the lists of Phone and Email (doctype_list_js), before the scripts
// that read it.

frappe.provide("opt_consent.desk");

(function (desk) {
	// The channels, their fields and their (translated) labels. The desk keeps no copy of them.
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
})(opt_consent.desk);
