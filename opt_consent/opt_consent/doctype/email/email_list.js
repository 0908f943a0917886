// Indicators and the bulk "Opt Out..." action come from the shared description in opt_consent.bundle.js.
frappe.listview_settings["Email"] = opt_consent.desk.list_settings("Email");
