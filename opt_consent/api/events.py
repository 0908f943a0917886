"""The document events hooks.py names (``doc_events``), at the top so that hooks call the top layer only.
Each is the capability's own handler; the work is there.

- Email ``on_update``: keep Frappe's global Email Unsubscribe in step with email consent (the gate), and put a
  consent action on a Contact's record on the Contact's timeline (consent on the Contact).
- Phone ``validate``: store the texting reauthorisation due and lapse dates (reauthorisation); ``on_update``:
  the Contact's timeline.
- Contact ``on_update``: a consent record for every number and address on the Contact.
- Email Queue ``after_insert``: mail Frappe queues to a person with a consent record counts as an attempt
  (Contact Control).
- Communication ``after_insert``: a received email that says "unsubscribe" withdraws email consent (revocation
  by any reasonable means, 47 CFR 64.1200(a)(10); FCC 24-24).
"""

from opt_consent.contact.adapter import on_contact_update, on_record_update
from opt_consent.contact_control.adapter import on_email_queued
from opt_consent.gate.mail_sync import on_email_update
from opt_consent.reauth.lapse import on_phone_validate
from opt_consent.revocation.email_replies import on_communication_insert

__all__ = [
	"on_communication_insert",
	"on_contact_update",
	"on_email_queued",
	"on_email_update",
	"on_phone_validate",
	"on_record_update",
]
