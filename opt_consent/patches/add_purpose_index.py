"""The Opt Log index a purpose's check and scrub read (opt_consent.install.INDEXES), on sites that exist."""

from opt_consent.install import ensure_indexes


def execute():
	ensure_indexes()
