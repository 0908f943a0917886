from opt_consent.reauth import lapse


def execute():
	"""Fill the texting reauthorisation fields of existing Phones from the current settings."""
	lapse.recompute_phones()
