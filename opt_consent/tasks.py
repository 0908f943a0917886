"""Scheduled jobs (``scheduler_events`` in hooks.py). Thin: the work is in the modules they call."""

from opt_consent import lapse


def lapse_texting_consent() -> None:
	"""Daily: lapse texting consent whose reauthorisation period has run out (see :mod:`opt_consent.lapse`)."""
	lapse.run()
