"""What the desk receives at login: the channel description it builds buttons, dialogs and lists from."""

from frappe import _

from opt_consent.core.channels import describe
from opt_consent.core.contact_control import CALL_OUTCOMES


def boot_session(bootinfo) -> None:
	"""``boot_session`` hook: the one channel description, its labels translated for the user, and the
	outcomes a call attempt can have (Contact Control)."""
	bootinfo.opt_consent = {**describe(_), "call_outcomes": list(CALL_OUTCOMES)}
