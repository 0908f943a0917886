# Copyright (c) 2026, opt_consent developers
# License: MIT

from frappe import _
from frappe.model.document import Document

from opt_consent import engine, reauth
from opt_consent.consent import refuse


class OptConsentSettings(Document):
	def validate(self):
		self.check_rules()

	def on_update(self):
		self.recompute_phones()

	def method_periods_pairs(self) -> list[tuple]:
		return [(row.method, row.period_days) for row in self.get("method_periods") or ()]

	def check_rules(self):
		"""No negative periods, lead time or business days; lead time within every period; a method once."""
		try:
			reauth.check_rules(
				self.text_reauth_days,
				self.reauth_reminder_days,
				self.method_periods_pairs(),
				self.revocation_business_days,
			)
		except engine.Refused as refusal:
			refuse(refusal, title=_("Invalid settings"))

	def recompute_phones(self):
		"""Periods apply to consent already given: move every Phone's due and lapse dates (set-based)."""
		from opt_consent import lapse

		rules = reauth.Rules.make(
			self.text_reauth_days, self.reauth_reminder_days, self.method_periods_pairs()
		)
		lapse.recompute_phones(rules)
