"""The top: every whitelisted method, grouped by who calls it (``consent``, ``control``, ``inbound``, ``sms``,
``evidence``, ``wordings``, ``workspace``, ``history_import``), and ``events``, the handlers hooks.py names.

The consent paths ``opt_consent.api.*`` (``opt_consent.api.opt_in`` and the rest) are the public promise:
they are the functions of :mod:`opt_consent.api.consent`, re-exported here so they answer as before."""

from opt_consent.api.consent import (  # noqa: F401
	act,
	bulk_opt_out,
	can_contact,
	contact_consent,
	get_log,
	opt_in,
	opt_out,
	purpose_states,
	record_revocation,
	text_reauth,
	verify_log,
)
