"""Scheduled jobs (``scheduler_events`` in hooks.py). Thin: the work is in the modules they call."""

from opt_consent.adapters import runs


def lapse_texting_consent() -> None:
	"""Daily: lapse texting consent whose reauthorisation period has run out. This job coordinates: it heals
	the stored dates, plans the lapse in chunks and enqueues one job per chunk for the workers (see
	:mod:`opt_consent.adapters.runs`); each chunk commits batch by batch."""
	runs.lapse_job()
