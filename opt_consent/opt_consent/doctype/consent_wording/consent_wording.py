# Copyright (c) 2026, opt_consent developers
# License: MIT

from frappe.model.document import Document

from opt_consent.ledger import wording


class ConsentWording(Document):
	"""A version of the text shown or read to a person when consent is asked. Only a Draft is edited;
	Publish makes it the title's current version; a Published or Superseded version never changes, is never
	deleted and never renamed (see opt_consent.ledger.rules.wording)."""

	def autoname(self):
		wording.autoname(self)

	def validate(self):
		wording.validate(self)

	def on_trash(self):
		wording.on_trash(self)

	def before_rename(self, old: str, new: str, merge: bool = False):
		wording.before_rename(self, old)
