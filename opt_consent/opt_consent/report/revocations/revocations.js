// Copyright (c) 2026, opt_consent developers
// License: MIT

{% include "opt_consent/public/js/report_filters.js" %}

frappe.query_reports["Revocations"] = {
	filters: [
		...opt_consent.report_filters.dated_by_channel({
			from: [__("Received From"), frappe.datetime.add_months(frappe.datetime.get_today(), -1)],
			to: [__("Received To")],
		}),
		{ fieldname: "overdue", label: __("Past Honour-By Date"), fieldtype: "Check" },
	],
	formatter(value, row, column, data, default_formatter) {
		const formatted = default_formatter(value, row, column, data);
		if (
			column.fieldname === "days_left" &&
			data &&
			data.days_left !== null &&
			data.days_left < 0
		) {
			return `<span class="text-danger">${formatted}</span>`;
		}
		return formatted;
	},
};
