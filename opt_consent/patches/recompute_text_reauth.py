from opt_consent import lapse


def execute():
	"""Fill the texting reauthorisation fields of existing Phones from the current settings (issue 4)."""
	lapse.recompute_phones()
