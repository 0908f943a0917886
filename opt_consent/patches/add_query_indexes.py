from opt_consent.install import ensure_indexes


def execute():
	ensure_indexes()
