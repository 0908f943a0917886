// The Phone list: indicators and the bulk "Opt Out..." action of consent_list.js (loaded before it,
// doctype_list_js in hooks.py).
frappe.listview_settings["Phone"] = opt_consent.desk.list_settings("Phone");
