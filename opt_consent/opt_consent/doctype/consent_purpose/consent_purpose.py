# Copyright (c) 2026, opt_consent developers
# License: MIT

import frappe
from frappe import _
from frappe.model.document import Document

from opt_consent.ledger import site_purposes as purposes


class ConsentPurpose(Document):
	"""What consent is given for: its legal basis, whether written consent is required, its channels.

	A purpose named in the consent log is part of sealed rows: it keeps its name and is never deleted
	(disable it instead); the default purpose stays enabled and open to every channel it had.
	"""

	def validate(self):
		if not (self.for_call or self.for_text or self.for_email):
			frappe.throw(_("A Consent Purpose must apply to calls, texts or email."), title=_("Not saved"))
		if int(self.reauth_days or 0) < 0:
			frappe.throw(_("Texting Consent Lasts (Days) cannot be negative."), title=_("Not saved"))
		if self.name == purposes.default_name() and not self.is_new():
			if not self.enabled:
				frappe.throw(
					_("{0} is the default purpose and cannot be disabled.").format(frappe.bold(self.name)),
					title=_("Not saved"),
				)

	def on_update(self):
		purposes.clear_cache()
		before = self.get_doc_before_save()
		changed = before is not None and int(before.reauth_days or 0) != int(self.reauth_days or 0)
		if changed and self.name == purposes.default_name():
			# the default purpose's period is the Phones' stored due and lapse dates: recompute them, in
			# the background as a change of the settings' period does
			from opt_consent.jobs.runs import queue_recompute

			queue_recompute()

	def on_trash(self):
		if self.name == purposes.default_name():
			frappe.throw(
				_("{0} is the default purpose and cannot be deleted.").format(frappe.bold(self.name)),
				title=_("Not deleted"),
			)
		if frappe.db.exists("Opt Log", {"purpose": self.name}):
			frappe.throw(
				_(
					"Consent Purpose {0} is named in the consent log and cannot be deleted; disable it."
				).format(frappe.bold(self.name)),
				title=_("Not deleted"),
			)
		purposes.clear_cache()

	def before_rename(self, old: str, new: str, merge: bool = False):
		"""The log's sealed rows name the purpose: a rename would rewrite them (``frappe.rename_doc``
		sets every Link), so no purpose is ever renamed."""
		frappe.throw(
			_("A Consent Purpose cannot be renamed: sealed consent log rows name it. Add a new one."),
			title=_("Not renamed"),
		)
