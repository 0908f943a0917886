// Copyright (c) 2026, opt_consent developers
// License: MIT

frappe.query_reports["Revocations"] = {
	filters: [
		{
			fieldname: "from_date",
			label: __("Received From"),
			fieldtype: "Date",
			default: frappe.datetime.add_months(frappe.datetime.get_today(), -1),
		},
		{ fieldname: "to_date", label: __("Received To"), fieldtype: "Date" },
		{
			fieldname: "channel",
			label: __("Channel"),
			fieldtype: "Select",
			options: [""].concat(Object.keys(frappe.boot.opt_consent.channels)),
		},
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
