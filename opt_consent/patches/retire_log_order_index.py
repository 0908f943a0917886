from opt_consent.install import ensure_indexes, retire_indexes


def execute():
	# The log's (parent, idx) index becomes (parent, parenttype, parentfield, idx): the form's row count and
	# newest rows, and the lapse job's last row of each record, are then read from the index alone.
	retire_indexes()
	ensure_indexes()
