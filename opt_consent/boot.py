"""What the desk receives at login: the channel description it builds buttons, dialogs and lists from."""

from frappe import _

from opt_consent.core.channels import describe


def boot_session(bootinfo) -> None:
	"""``boot_session`` hook: the one channel description, its labels translated for the user."""
	bootinfo.opt_consent = describe(_)
