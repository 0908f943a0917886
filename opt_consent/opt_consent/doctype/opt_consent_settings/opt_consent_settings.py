# Copyright (c) 2026, opt_consent developers
# License: MIT

import frappe
from frappe import _
from frappe.model.document import Document

from opt_consent.contact_control.rules import make_rule
from opt_consent.ledger import site_purposes as purposes
from opt_consent.ledger.refusals import refuse
from opt_consent.ledger.rules import purposes as scope_rules
from opt_consent.model.messages import Refused
from opt_consent.reauth import rules as reauth
from opt_consent.revocation.rules import confirmation, replies
from opt_consent.revocation.settings import reply_rows


class OptConsentSettings(Document):
	def validate(self):
		self.check_rules()
		self.check_contact_rules()
		self.check_replies()
		self.check_purposes()

	def on_update(self):
		purposes.clear_cache()
		if not self.flags.seeding:
			self.recompute_phones()

	def check_purposes(self):
		"""The default purpose names the record's own consent fields: it cannot move once the log names a
		purpose (rows would change meaning). The scope is one of the two the rules know."""
		if self.revocation_scope and self.revocation_scope not in scope_rules.SCOPE_SETTINGS:
			frappe.throw(
				_("{0} is not a revocation scope. Use one of: {1}.").format(
					frappe.bold(self.revocation_scope), ", ".join(_(s) for s in scope_rules.SCOPE_SETTINGS)
				),
				title=_("Invalid settings"),
			)
		before = self.get_doc_before_save()
		old = (before.default_purpose if before else None) or None
		if old and self.default_purpose != old and frappe.db.exists("Opt Log", {"purpose": ["is", "set"]}):
			frappe.throw(
				_(
					"The default purpose is {0} and the consent log already names purposes: it cannot change."
				).format(frappe.bold(old)),
				title=_("Invalid settings"),
			)
		if not self.default_purpose:
			self.default_purpose = (
				old or scope_rules.DEFAULT_PURPOSE
				if frappe.db.exists("Consent Purpose", old or scope_rules.DEFAULT_PURPOSE)
				else None
			)

	def check_contact_rules(self):
		"""Every Contact Control rule, enabled or not, must make sense; names are unique."""
		names = set()
		for row in self.get("contact_rules") or ():
			try:
				make_rule(row.as_dict())
			except Refused as refusal:
				refuse(refusal, title=_("Invalid Contact Control rule"))
			if row.rule_name in names:
				frappe.throw(
					_("Two Contact Control rules are named {0}.").format(frappe.bold(row.rule_name)),
					title=_("Invalid settings"),
				)
			names.add(row.rule_name)

	def check_replies(self):
		"""The site's reply words may add to the FCC's words, never take one away; the one confirmation text
		only confirms (47 CFR 64.1200(a)(12): no marketing), in one text message."""
		try:
			replies.vocabulary(reply_rows(self))
			if self.send_revocation_confirmation:
				self.revocation_confirmation_text = confirmation.check_text(self.revocation_confirmation_text)
				if self.revocation_scope_question:
					# the text with its scope question is still one text that only confirms
					confirmation.check_text(
						scope_rules.with_question(
							self.revocation_confirmation_text, self.revocation_scope_question
						)
					)
		except Refused as refusal:
			refuse(refusal, title=_("Invalid settings"))

	def check_rules(self):
		"""No negative periods, lead time or business days; lead time within every period; a method once."""
		try:
			reauth.check_rules(
				self.text_reauth_days,
				self.reauth_reminder_days,
				method_pairs(self),
				self.revocation_business_days,
			)
		except Refused as refusal:
			refuse(refusal, title=_("Invalid settings"))

	def recompute_phones(self):
		"""Periods apply to consent already given: every Phone's due and lapse dates move. That can be many
		phones, so it runs in a background job (batch by batch), not in this request; the form says so."""
		if not self.rules_changed():
			return
		from opt_consent.jobs.runs import queue_recompute

		queue_recompute()

	def rules_changed(self) -> bool:
		before = self.get_doc_before_save()
		if before is None:
			return True
		return (before.text_reauth_days, before.reauth_reminder_days, method_pairs(before)) != (
			self.text_reauth_days,
			self.reauth_reminder_days,
			method_pairs(self),
		)


def method_pairs(doc) -> list[tuple]:
	return [(row.method, row.period_days) for row in doc.get("method_periods") or ()]
