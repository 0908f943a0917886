// Copyright (c) 2026, opt_consent developers
// License: MIT

{% include "opt_consent/public/js/report_filters.js" %}

frappe.query_reports["Consent Activity"] = {
	filters: opt_consent.report_filters.dated_by_channel({
		from: [__("From Date"), frappe.datetime.add_days(frappe.datetime.get_today(), -90)],
		to: [__("To Date"), frappe.datetime.get_today()],
	}),
};
