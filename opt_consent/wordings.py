"""The public paths ``opt_consent.wordings.*``, kept answering exactly as before (the desk calls these): a thin
alias of :mod:`opt_consent.api.wordings`, where the code lives. New code imports :mod:`opt_consent.api.wordings`."""

from opt_consent.api.wordings import (  # noqa: F401
	new_version,
	offered,
	publish,
)
