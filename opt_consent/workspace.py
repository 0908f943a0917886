"""The public paths ``opt_consent.workspace.*``, kept answering exactly as before (the workspace's number cards name these): a thin
alias of :mod:`opt_consent.api.workspace`, where the code lives. New code imports :mod:`opt_consent.api.workspace`."""

from opt_consent.api.workspace import (  # noqa: F401
	DUE_WITHIN_DAYS,
	OVERDUE_WINDOW_DAYS,
	card,
	phones_due_this_week,
	revocations_past_honour_by,
)
