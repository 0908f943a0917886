# Copyright (c) 2026, opt_consent developers
# License: MIT

from opt_consent.adapters.door_evidence import DoorEvidence
from opt_consent.core.messages import _  # marks the messages; the base translates them when shown


class SentText(DoorEvidence):
	"""Evidence of a text the SMS door handed to the gateway, with its answer. Only the door records one;
	nobody edits one; only a System Manager deletes one."""

	NOUN = _("A sent text")
	DOOR = _("the SMS door")
