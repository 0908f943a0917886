"""The one confirmation text after a revocation by text: what it may say and when it is sent or given up.

FCC Report and Order FCC 24-24 (in force 11 April 2025), 47 CFR 64.1200(a)(12): after a revocation a sender
may send **one** text confirming the opt out, which must not include any marketing or advertising content
and must be limited to confirming the request; sent within five minutes of the revocation it is presumed
to be within the person's prior express consent. Nothing may follow it.

Pure Python: no ``import frappe``. The job in :mod:`opt_consent.revocation.confirmation_job` reads the Inbound
Text and asks :func:`next_step`; the settings form calls :func:`check_text`.
"""

from __future__ import annotations

import datetime as dt
import re

from opt_consent.model.messages import Refused, _

WITHIN = dt.timedelta(minutes=5)  # 64.1200(a)(12): the confirmation is presumed fine within five minutes
MAX_ATTEMPTS = 3  # gateway failures retried, inside the five minutes
SENDING_STALE = dt.timedelta(minutes=2)  # a claimed send that never reported back: sent or not, unknown
MAX_CHARS = 160  # one SMS segment

# the states of an Inbound Text's confirmation
NONE = ""  # no revocation applied, nothing to confirm
OFF = "Off"  # the settings send no confirmation
PENDING = "Pending"
SENDING = "Sending"  # claimed by a job, committed before the gateway is called
SENT = "Sent"
FAILED = "Failed"  # the gateway refused every attempt, or five minutes passed
UNKNOWN = "Unknown"  # a job claimed it and never reported: never sent again, for it may have left
STATES = (NONE, OFF, PENDING, SENDING, SENT, FAILED, UNKNOWN)

# what a job does with one
SEND = "send"
GIVE_UP = "give_up"  # PENDING past the five minutes or out of attempts -> FAILED
MARK_UNKNOWN = "mark_unknown"  # SENDING gone stale -> UNKNOWN
NOTHING = "nothing"

LINK = re.compile(r"(https?://|www\.|\b[a-z0-9-]+\.(com|net|org|io|co|us|ly|me|info|biz)\b)", re.IGNORECASE)
MARKETING = re.compile(
	r"\b(offer|offers|discount|sale|deal|deals|promo|promotion|coupon|free|win|prize|buy|shop|save|"
	r"% off|oferta|descuento|promoci[oó]n|gratis|compra)\b",
	re.IGNORECASE,
)


def next_step(state: str, attempts: int, received_at: dt.datetime, now: dt.datetime) -> str:
	"""What to do with a confirmation in ``state`` after ``attempts`` tries, for a revocation received at
	``received_at``. Only a PENDING one inside the five minutes with attempts left is sent: a SENT, FAILED
	or UNKNOWN one is final, and a second text for the same revocation is never sent."""
	if state == SENDING:
		return MARK_UNKNOWN if now - received_at > WITHIN + SENDING_STALE else NOTHING
	if state != PENDING:
		return NOTHING
	if attempts >= MAX_ATTEMPTS or now - received_at > WITHIN:
		return GIVE_UP
	return SEND


def after_attempt(sent: bool, attempts: int, received_at: dt.datetime, now: dt.datetime) -> str:
	"""The state after one attempt: SENT, PENDING again (a retry is still possible), or FAILED."""
	if sent:
		return SENT
	if attempts >= MAX_ATTEMPTS or now - received_at > WITHIN:
		return FAILED
	return PENDING


def check_text(text: str | None) -> str:
	"""The confirmation's wording, or :class:`Refused`: not empty, one SMS segment, no link and no
	marketing (64.1200(a)(12): limited to confirming the opt out)."""
	text = (text or "").strip()
	if not text:
		raise Refused("confirmation_empty", _("The confirmation text is required when confirmations are on."))
	if len(text) > MAX_CHARS:
		raise Refused(
			"confirmation_long",
			_("The confirmation text must fit one text message ({0} characters); it has {1}."),
			MAX_CHARS,
			len(text),
		)
	if LINK.search(text):
		raise Refused(
			"confirmation_link",
			_("The confirmation text may not contain a link: it only confirms the opt out."),
		)
	found = MARKETING.search(text)
	if found:
		raise Refused(
			"confirmation_marketing",
			_("The confirmation text may not contain marketing ({0}): it only confirms the opt out."),
			found.group(0),
		)
	return text
