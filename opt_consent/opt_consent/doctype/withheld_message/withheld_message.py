# Copyright (c) 2026, opt_consent developers
# License: MIT

from opt_consent.model.messages import _  # marks the messages; the base translates them when shown
from opt_consent.outbound.door_evidence import DoorEvidence


class WithheldMessage(DoorEvidence):
	"""Evidence of a text that left without texting consent in force (withheld, or sent as exempt / with no
	record). Only the SMS door records one; nobody edits one; only a System Manager deletes one."""

	NOUN = _("A withheld message")
	DOOR = _("the SMS door (Send SMS and SMS Notifications)")
