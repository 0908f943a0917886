# Copyright (c) 2026, opt_consent developers
# License: MIT

from opt_consent.model.messages import _  # marks the messages; the base translates them when shown
from opt_consent.outbound.door_evidence import DoorEvidence


class SentText(DoorEvidence):
	"""Evidence of a text the SMS door handed to the gateway, with its answer. Only the door records one;
	nobody edits one; only a System Manager deletes one."""

	NOUN = _("A sent text")
	DOOR = _("the SMS door")
