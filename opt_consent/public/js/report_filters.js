// Filters more than one of the app's reports offer, described once. Not a bundle and not on any page by
// itself: a report's script names it with Frappe's include directive, which
// frappe.desk.query_report.get_script expands when it serves the script, so the filters are there
// before the report reads its settings.

frappe.provide("opt_consent.report_filters");

(function (filters) {
	// From and To dates, then the channel (one, or every channel when empty, from the channel description
	// in the boot info). `from` and `to` are [label, default]; a default left out is no default.
	filters.dated_by_channel = function ({ from, to }) {
		const date = (fieldname, [label, value]) => {
			const filter = { fieldname, label, fieldtype: "Date" };
			if (value !== undefined) filter.default = value;
			return filter;
		};
		return [
			date("from_date", from),
			date("to_date", to),
			{
				fieldname: "channel",
				label: __("Channel"),
				fieldtype: "Select",
				options: [""].concat(Object.keys(frappe.boot.opt_consent.channels)),
			},
		];
	};
})(opt_consent.report_filters);
