"""The columns of the app's script reports, each described in one line.

Labels are translated by the caller (``_("...")`` where the string stands, for the message extractor).
"""

from __future__ import annotations


def column(fieldname: str, label: str, fieldtype: str, width: int, options: str | None = None) -> dict:
	"""One report column (``options``: a Link's doctype, a Dynamic Link's type column)."""
	described = {"fieldname": fieldname, "label": label, "fieldtype": fieldtype}
	if options:
		described["options"] = options
	described["width"] = width
	return described


def typed_link(
	type_field: str, type_label: str, type_width: int, fieldname: str, label: str, width: int
) -> list[dict]:
	"""A record type column and the Dynamic Link column it types. The type is Data, not Link: the desk's
	report runner filters Link columns by read permission on their doctype."""
	return [
		column(type_field, type_label, "Data", type_width),
		column(fieldname, label, "Dynamic Link", width, options=type_field),
	]
