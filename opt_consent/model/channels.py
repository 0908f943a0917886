"""The one description of the consent channels, the records that carry them, and their fields.

Everything else reads this: the engine's rules, the controllers' guards, the gate, the integrity check,
the reports, and the desk (which receives :func:`describe` in its boot info rather than keeping a copy).
Adding a channel means one :class:`Channel` entry here plus its fields on the record's doctype (see
``docs/DESIGN.md``, "Adding a channel").

Pure Python: no ``import frappe``.
"""

from __future__ import annotations

from dataclasses import dataclass

from opt_consent.model.messages import _

# The record doctypes.
PHONE = "Phone"
EMAIL = "Email"

# The channels.
CALL = "Call"
TEXT = "Text"
EMAIL_CHANNEL = "Email"

# The actions a log row records.
OPT_IN = "Opt In"
OPT_OUT = "Opt Out"
TEXT_REAUTH = "Text Reauth"
LAPSED = "Lapsed"
ACTIONS = (OPT_IN, OPT_OUT, TEXT_REAUTH, LAPSED)
# Actions that grant consent, and so need a method allowed "for opt in".
GRANTING = (OPT_IN, TEXT_REAUTH)

# Phone types; texting consent can only be given on a Cell phone.
CELL = "Cell"


@dataclass(frozen=True)
class Record:
	"""A doctype that carries consent: the field it is addressed by and its normalised, indexed key."""

	doctype: str
	address_field: str
	key_field: str
	type_field: str
	block_field: str  # Do Not Call / Do Not Email
	block_label: str


class OwnedField:
	"""A consent field a :class:`Channel` owns: read on a channel, the channel's prefix and this suffix."""

	def __init__(self, suffix: str):
		self.suffix = suffix

	def __get__(self, channel: Channel | None, owner: type | None = None):
		return self if channel is None else f"{channel.prefix}_{self.suffix}"


@dataclass(frozen=True)
class Channel:
	"""One consent channel, the record that carries it, the fields it owns and what the desk calls it."""

	name: str
	doctype: str
	prefix: str
	label: str  # "Calls"
	is_in: str  # list indicator "Calls In"
	is_out: str
	opt_in_label: str  # button "Opt In Calls"
	opt_out_label: str
	cell_only: bool = False  # consent can be given only on a Cell phone
	reauth_label: str | None = None  # a channel that can be reauthorised

	@property
	def record(self) -> Record:
		return RECORDS[self.doctype]

	@property
	def block_field(self) -> str:
		return self.record.block_field

	# the fields the channel owns on its record, each its prefix and a suffix ("text_opt_in_date")
	opt_field = OwnedField("opt")
	in_date = OwnedField("opt_in_date")
	in_method = OwnedField("opt_in_method")
	out_date = OwnedField("opt_out_date")
	out_method = OwnedField("opt_out_method")

	@property
	def owned_fields(self) -> tuple[str, ...]:
		"""Fields only the consent actions may change."""
		return (self.opt_field, self.in_date, self.in_method, self.out_date, self.out_method)


RECORDS: dict[str, Record] = {
	PHONE: Record(PHONE, "phone", "phone_e164", "phone_type", "do_not_call", _("Do Not Call")),
	EMAIL: Record(EMAIL, "email_id", "email_normalized", "email_type", "do_not_email", _("Do Not Email")),
}

CHANNELS: dict[str, Channel] = {
	CALL: Channel(
		CALL, PHONE, "call", _("Calls"), _("Calls In"), _("Calls Out"), _("Opt In Calls"), _("Opt Out Calls")
	),
	TEXT: Channel(
		TEXT,
		PHONE,
		"text",
		_("Texts"),
		_("Texts In"),
		_("Texts Out"),
		_("Opt In Texts"),
		_("Opt Out Texts"),
		cell_only=True,
		reauth_label=_("Text Reauth"),
	),
	EMAIL_CHANNEL: Channel(
		EMAIL_CHANNEL,
		EMAIL,
		"email",
		_("Email"),
		_("Email In"),
		_("Email Out"),
		_("Opt In Email"),
		_("Opt Out Email"),
	),
}

# The channels of each record doctype, in the order the desk shows them.
DOCTYPES: dict[str, tuple[str, ...]] = {
	doctype: tuple(name for name, channel in CHANNELS.items() if channel.doctype == doctype)
	for doctype in RECORDS
}


def channels_of(doctype: str) -> tuple[Channel, ...]:
	return tuple(CHANNELS[name] for name in DOCTYPES.get(doctype, ()))


def owned_fields(doctype: str) -> tuple[str, ...]:
	"""Every field of ``doctype`` that only the consent actions may write."""
	return tuple(f for channel in channels_of(doctype) for f in channel.owned_fields)


def initial_state(doctype: str) -> dict:
	"""A new record: Active, not blocked, not opted in to anything."""
	state: dict = {"active": 1}
	for channel in channels_of(doctype):
		state[channel.block_field] = 0
		state.update(dict.fromkeys(channel.owned_fields))
		state[channel.opt_field] = 0
	return state


def describe(translate=lambda text: text) -> dict:
	"""The description as plain data for the desk, its labels passed through ``translate``."""
	return {
		"channels": {
			name: {
				"name": name,
				"doctype": c.doctype,
				"opt_field": c.opt_field,
				"block_field": c.block_field,
				"block_label": translate(c.record.block_label),
				"label": translate(c.label),
				"is_in": translate(c.is_in),
				"is_out": translate(c.is_out),
				"opt_in": translate(c.opt_in_label),
				"opt_out": translate(c.opt_out_label),
				"text_reauth": translate(c.reauth_label) if c.reauth_label else None,
				"cell_only": c.cell_only,
			}
			for name, c in CHANNELS.items()
		},
		"records": {
			doctype: {"address_field": r.address_field, "key_field": r.key_field, "type_field": r.type_field}
			for doctype, r in RECORDS.items()
		},
		"cell": CELL,
	}


# Phone fields the app maintains from the texting reauthorisation rule (opt_consent.reauth.rules). Like the
# consent fields, no form save may change them.
DERIVED_FIELDS: dict[str, tuple[str, ...]] = {
	PHONE: ("text_reauth_status", "text_reauth_due_on", "text_consent_lapses_on"),
}


def derived_fields(doctype: str) -> tuple[str, ...]:
	return DERIVED_FIELDS.get(doctype, ())
