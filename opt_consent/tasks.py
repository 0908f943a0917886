"""Scheduled jobs (``scheduler_events`` in hooks.py). Thin: the work is in the modules they call."""

from opt_consent.adapters import lapse


def lapse_texting_consent() -> None:
	"""Daily: lapse texting consent whose reauthorisation period has run out (see :mod:`opt_consent.adapters.lapse`), committing batch by batch."""
	lapse.run(commit=lapse.commit_batch)
