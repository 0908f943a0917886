"""The public paths ``opt_consent.evidence.*``, kept answering exactly as before (the desk and the print formats (``opt_consent_evidence``) call these): a thin
alias of :mod:`opt_consent.api.evidence`, where the code lives. New code imports :mod:`opt_consent.api.evidence`."""

from opt_consent.api.evidence import (  # noqa: F401
	download,
	opt_consent_evidence,
	options,
	produce,
	produce_for_contact,
)
