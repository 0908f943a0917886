# Copyright (c) 2026, opt_consent developers
# License: MIT

from frappe.model.document import Document

from opt_consent.ledger.refusals import refuse
from opt_consent.model.messages import Refused
from opt_consent.revocation.rules import replies
from opt_consent.revocation.settings import REPLY_KINDS


class OptConsentReplyWord(Document):
	"""A site's own word or phrase for reading inbound replies (a revocation, an opt-in or a help keyword).

	Checked here too, not only by the settings form: a row written on its own (REST on the child table skips
	the parent's validate) may not take a revocation away either."""

	def validate(self):
		try:
			replies.vocabulary([(REPLY_KINDS.get(self.kind, self.kind), self.phrase or "")])
		except Refused as refusal:
			refuse(refusal)
