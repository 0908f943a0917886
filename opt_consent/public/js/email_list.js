// The Email list: indicators and the bulk "Opt Out..." action of consent_list.js (loaded before it,
// doctype_list_js in hooks.py).
frappe.listview_settings["Email"] = opt_consent.desk.list_settings("Email");
