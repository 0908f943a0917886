"""The columns of the app's script reports, each described once.

Every plain column any report shows is in :func:`vocabulary`, by its fieldname (unique across the reports);
a report names the ones it shows, in order, with :func:`named`, and a record type with the Dynamic Link it
types with :func:`typed_link`. Labels are translated when a report runs (in the user's language).
"""

from __future__ import annotations

from frappe import _


def column(fieldname: str, label: str, fieldtype: str, width: int, options: str | None = None) -> dict:
	"""One report column (``options``: a Link's doctype, a Dynamic Link's type column)."""
	described = {"fieldname": fieldname, "label": label, "fieldtype": fieldtype}
	if options:
		described["options"] = options
	described["width"] = width
	return described


def vocabulary() -> dict[str, dict]:
	"""Every column of the app's reports by fieldname, but a record type and the Dynamic Link it types
	(:func:`typed_link`)."""
	columns = [
		# values (Consent Activity, Opt Log Integrity, Revocations, Texting Reauthorisation Due)
		column("week", _("Week Of"), "Date", 120),
		column("opt_ins", _("Opt Ins"), "Int", 100),
		column("opt_outs", _("Opt Outs"), "Int", 100),
		column("rows", _("Log Rows"), "Int", 90),
		column("status", _("Status"), "Data", 130),
		column("broken_idx", _("First Broken Row"), "Int", 120),
		column("broken_row", _("Row ID"), "Data", 120),
		column("problem", _("Problem"), "Data", 420),
		column("deleted_document", _("Deleted Document"), "Data", 140),
		column("received", _("Received"), "Datetime", 160),
		column("honour_by", _("Honour By"), "Date", 110),
		column("days_left", _("Days Left"), "Int", 90),
		column("state", _("State"), "Data", 130),
		column("channel", _("Channel"), "Data", 80),
		column("source", _("Source"), "Data", 110),
		column("address", _("Address"), "Data", 200),
		column("recorded_by", _("Recorded By"), "Data", 150),
		column("message_id", _("Message ID"), "Data", 140),
		column("phone", _("Phone Number"), "Data", 150),
		column("text_reauth_status", _("Status"), "Data", 90),
		column("text_opt_in_date", _("Last Authorised On"), "Date", 130),
		column("text_reauth_due_on", _("Due On"), "Date", 110),
		column("text_consent_lapses_on", _("Lapses On"), "Date", 110),
		# links
		column("method", _("Method"), "Link", 120, options="Opt Method"),
		column("name", _("Phone"), "Link", 120, options="Phone"),
		column("text_opt_in_method", _("Method"), "Link", 120, options="Opt Method"),
	]
	by_fieldname = {described["fieldname"]: described for described in columns}
	if len(by_fieldname) != len(columns):
		raise ValueError("a report column's fieldname is described twice")
	return by_fieldname


def named(*fieldnames: str) -> list[dict]:
	"""The columns ``fieldnames``, in that order, as :func:`vocabulary` describes them."""
	described = vocabulary()
	return [dict(described[fieldname]) for fieldname in fieldnames]


def typed_link(
	type_field: str, type_label: str, type_width: int, fieldname: str, label: str, width: int
) -> list[dict]:
	"""A record type column and the Dynamic Link column it types. The type is Data, not Link: the desk's
	report runner filters Link columns by read permission on their doctype."""
	return [
		column(type_field, type_label, "Data", type_width),
		column(fieldname, label, "Dynamic Link", width, options=type_field),
	]
