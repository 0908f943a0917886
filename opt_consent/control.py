"""The public paths ``opt_consent.control.*``, kept answering exactly as before (dialers post to ``opt_consent.control.record_attempt``; the desk and other apps call the rest): a thin
alias of :mod:`opt_consent.api.control`, where the code lives. New code imports :mod:`opt_consent.api.control`."""

from opt_consent.api.control import (  # noqa: F401
	MAX_SCRUB,
	enable_regulation_f,
	next_allowed,
	parse_addresses,
	record_attempt,
	scrub,
)
