"""Scheduled jobs (``scheduler_events`` in hooks.py). Thin: the work is in the modules they call."""

from opt_consent.jobs import runs
from opt_consent.revocation import confirmation_job as confirmation


def lapse_texting_consent() -> None:
	"""Daily: lapse texting consent whose reauthorisation period has run out. This job coordinates: it heals
	the stored dates, plans the lapse in chunks and enqueues one job per chunk for the workers (see
	:mod:`opt_consent.jobs.runs`); each chunk commits batch by batch."""
	runs.lapse_job()


def send_revocation_confirmation(name: str) -> None:
	"""Queued by the inbound door after a revocation by text: the one confirmation text (47 CFR
	64.1200(a)(12)), sent at most once."""
	confirmation.send(name)


def retry_revocation_confirmations() -> None:
	"""Every minute: confirmations whose gateway failed are tried again within the five minutes allowed."""
	confirmation.sweep()
