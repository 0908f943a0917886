"""What the desk receives at login: the channel description it builds buttons, dialogs and lists from."""

from frappe import _

from opt_consent.contact_control.rules import CALL_OUTCOMES
from opt_consent.ledger.site_purposes import get_purposes
from opt_consent.model.channels import CHANNELS, describe


def boot_session(bootinfo) -> None:
	"""``boot_session`` hook: the one channel description, its labels translated for the user, and the
	outcomes a call attempt can have (Contact Control), and the site's Consent Purposes."""
	site = get_purposes()
	bootinfo.opt_consent = {
		**describe(_),
		"call_outcomes": list(CALL_OUTCOMES),
		# the Consent Purposes the dialog offers (only when there is more than the default)
		"purposes": {
			"several": site.several,
			"default": site.default,
			"by_channel": {name: list(site.of_channel(name)) for name in CHANNELS},
		},
	}
