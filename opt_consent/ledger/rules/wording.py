"""Consent Wording: the text shown or read to a person when consent is asked, kept in numbered versions.

The rules, pure Python (no ``import frappe``): a version's lifecycle (Draft -> Published -> Superseded),
which changes each status allows, the hash of a version's text that a log row seals, and which versions
apply to a channel and an Opt Method at the moment consent was given. The Frappe side is
:mod:`opt_consent.ledger.wording`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from opt_consent.model.channels import CHANNELS, GRANTING
from opt_consent.model.messages import Refused, _

DRAFT, PUBLISHED, SUPERSEDED = "Draft", "Published", "Superseded"
STATUSES = (DRAFT, PUBLISHED, SUPERSEDED)

# The transitions a version may make, each by its own action (Publish), never by editing the status:
# a Draft is published; publishing a later version of the same title supersedes the published one.
TRANSITIONS: dict[str, tuple[str, ...]] = {DRAFT: (PUBLISHED,), PUBLISHED: (SUPERSEDED,), SUPERSEDED: ()}

# The fields each transition sets; nothing else may change with it.
TRANSITION_FIELDS: dict[tuple[str, str], frozenset[str]] = {
	(DRAFT, PUBLISHED): frozenset({"status", "published_on", "published_by", "text_hash", "supersedes"}),
	(PUBLISHED, SUPERSEDED): frozenset({"status", "superseded_on", "superseded_by"}),
}

# Fields only the system sets (a Draft's editor cannot fill them in).
SYSTEM_FIELDS = frozenset(
	{
		"status",
		"version",
		"supersedes",
		"published_on",
		"published_by",
		"text_hash",
		"superseded_on",
		"superseded_by",
	}
)

MAX_TITLE_LENGTH = 120


def text_hash(text: str | None) -> str:
	"""SHA-256 (hex) of a version's text exactly as stored, UTF-8 encoded: what a log row seals."""
	return hashlib.sha256((text or "").encode("utf-8")).hexdigest()


def version_name(title: str, version: int) -> str:
	"""A version's name: ``{title} v{version}``."""
	return f"{title} v{version}"


def next_version(existing: Iterable[int | None]) -> int:
	"""The version number of a new version of a title, given the numbers its versions already have."""
	return max((int(v) for v in existing if v), default=0) + 1


def check_title(title) -> str:
	"""A title as stored: one line of plain text; it names every version (``{title} v{n}``)."""
	if not isinstance(title, str) or not title.strip():
		raise Refused("missing_title", _("Title is required."))
	title = " ".join(title.split())
	if len(title) > MAX_TITLE_LENGTH:
		raise Refused(
			"long_title", _("Title is {0} characters long; the limit is {1}."), len(title), MAX_TITLE_LENGTH
		)
	if any(c in title for c in "<>/\\%#?"):
		raise Refused("bad_title", _("Title cannot contain any of < > / \\ % # ?."))
	return title


def parse_channels(value) -> tuple[str, ...]:
	"""The channels a version applies to, from a comma list (``"Call, Text"``) or a list, in the order of
	:data:`opt_consent.model.channels.CHANNELS`; an unknown channel or none at all is refused."""
	if isinstance(value, str):
		items = [part.strip() for part in value.replace("\n", ",").split(",")]
	elif isinstance(value, Iterable):
		items = [str(part).strip() for part in value]
	else:
		items = []
	items = [item for item in items if item]
	if not items:
		raise Refused("missing_channels", _("Name at least one channel: {0}."), ", ".join(CHANNELS))
	known = {name.casefold(): name for name in CHANNELS}
	unknown = [item for item in items if item.casefold() not in known]
	if unknown:
		raise Refused(
			"unknown_channel",
			_("{0} is not a channel. Use one or more of: {1}."),
			", ".join(unknown)[:80],
			", ".join(CHANNELS),
		)
	chosen = {known[item.casefold()] for item in items}
	return tuple(name for name in CHANNELS if name in chosen)


def format_channels(channels: Iterable[str]) -> str:
	return ", ".join(channels)


def changed(before: Mapping, after: Mapping, fields: Iterable[str]) -> set[str]:
	"""The fields whose values differ (empty and None alike; values compared as text)."""

	def norm(value):
		if value is None or value == "":
			return ""
		if isinstance(value, list | tuple):
			return tuple(norm(v) for v in value)
		return str(value)

	return {f for f in fields if norm(before.get(f)) != norm(after.get(f))}


def check_change(old_status: str | None, new_status: str, changed_fields: set[str], transition: bool) -> None:
	"""May a save change ``changed_fields`` of a version whose stored status is ``old_status`` (None: new)?

	A new version starts as a Draft. A Draft's content may be edited; its status and the fields the
	system sets change only by a transition. A Published or Superseded version never changes, but for
	the fields of its one allowed transition.
	"""
	if old_status is None:
		if new_status != DRAFT:
			raise Refused(
				"new_not_draft", _("A new Consent Wording starts as a Draft; publish it afterwards.")
			)
		return
	if transition:
		if new_status not in TRANSITIONS.get(old_status, ()):
			raise Refused(
				"bad_transition", _("A {0} Consent Wording cannot become {1}."), _(old_status), _(new_status)
			)
		extra = changed_fields - TRANSITION_FIELDS[(old_status, new_status)]
		if extra:
			raise Refused(
				"published_edit",
				_("A Consent Wording cannot be edited while it is published; changed: {0}."),
				", ".join(sorted(extra)),
			)
		return
	if old_status != DRAFT:
		if changed_fields:
			raise Refused(
				"published_edit",
				_(
					"Consent Wording is {0} and can never be edited (consent was recorded under its text). "
					"Use New Version to change the wording."
				),
				_(old_status),
			)
		return
	system = changed_fields & SYSTEM_FIELDS
	if system:
		raise Refused(
			"system_field",
			_("{0} of a Consent Wording is set by Publish and New Version, not by editing."),
			", ".join(sorted(system)),
		)


def check_publish(status: str, text: str | None, channels) -> tuple[str, ...]:
	"""A Draft with text and at least one channel may be published; returns its channels."""
	if status != DRAFT:
		raise Refused("publish_not_draft", _("Only a Draft can be published; this one is {0}."), _(status))
	if not (text or "").strip():
		raise Refused(
			"missing_text", _("The wording's text is empty: write what the person is shown or read.")
		)
	return parse_channels(channels)


def check_removal(status: str, action: str) -> None:
	"""A version that was ever published is never deleted or renamed; a Draft may be deleted."""
	if status != DRAFT:
		if action == "rename":
			message = _(
				"Consent Wording is {0}: consent is recorded under its name, so it cannot be renamed."
			)
		else:
			message = _("Consent Wording is {0}: consent is recorded under it, so it cannot be deleted.")
		raise Refused("published_" + action, message, _(status))


@dataclass(frozen=True)
class Wording:
	"""What the rules need to know of a Consent Wording version."""

	name: str
	status: str
	channels: tuple[str, ...]
	methods: tuple[str, ...] = ()  # empty: any method
	text: str = ""
	published_on: dt.datetime | None = None
	superseded_on: dt.datetime | None = None
	stored_hash: str | None = None  # the hash Publish recorded

	def applies(self, channel: str, method: str | None) -> bool:
		return channel in self.channels and (not self.methods or method in self.methods)


def current(wordings: Iterable[Wording], channel: str, method: str | None) -> list[Wording]:
	"""The Published versions that apply to ``channel`` and ``method`` (what the desk offers), by name."""
	return sorted(
		(w for w in wordings if w.status == PUBLISHED and w.applies(channel, method)), key=lambda w: w.name
	)


def _fmt(at: dt.datetime) -> str:
	return at.strftime("%Y-%m-%d %H:%M:%S")


def check_for_action(
	action: str,
	channel: str,
	method: str | None,
	wording_name: str | None,
	wording: Wording | None,
	event_at: dt.datetime,
	method_requires_wording: bool,
) -> dict:
	"""The wording evidence of an action (``wording``, ``wording_hash``), or :class:`Refused`.

	Consent given (Opt In, Text Reauth) may name the version it was given under; a method that requires a
	wording must. The version must exist, apply to the channel (and to the method, if it names methods),
	and have been in force when the consent was given: published at or before the event, and not yet
	superseded (a Superseded version still serves consent given before the version after it was
	published, recorded late). A revocation never names a wording: it needs no consent text.
	"""
	if not wording_name:
		if action in GRANTING and method_requires_wording:
			raise Refused(
				"missing_wording",
				_("Opt Method {0} requires a Consent Wording: choose the wording the person agreed to."),
				method or "",
			)
		return {}
	if action not in GRANTING:
		raise Refused(
			"wording_on_revocation",
			_("A Consent Wording is recorded with consent given (opt in, reauthorisation), not with {0}."),
			action,
		)
	if wording is None:
		raise Refused("unknown_wording", _("{0} is not a known Consent Wording."), str(wording_name)[:140])
	check_applies(wording, channel, method)
	check_in_force(wording, event_at)
	digest = text_hash(wording.text)
	if wording.stored_hash and wording.stored_hash != digest:
		raise Refused(
			"wording_changed",
			_("The text of Consent Wording {0} no longer matches the text it was published with."),
			wording.name,
		)
	return {"wording": wording.name, "wording_hash": digest}


def check_applies(wording: Wording, channel: str, method: str | None) -> None:
	"""The version was published (not a Draft) and applies to ``channel`` and (if it names methods)
	``method``, or :class:`Refused`."""
	if wording.status == DRAFT or wording.published_on is None:
		raise Refused(
			"draft_wording",
			_("Consent Wording {0} is a Draft: publish it before recording consent under it."),
			wording.name,
		)
	if channel not in wording.channels:
		raise Refused(
			"wording_channel",
			_("Consent Wording {0} applies to {1}, not to {2}."),
			wording.name,
			format_channels(wording.channels),
			channel,
		)
	if wording.methods and method not in wording.methods:
		raise Refused(
			"wording_method",
			_("Consent Wording {0} applies to the methods {1}, not to {2}."),
			wording.name,
			", ".join(wording.methods),
			method or "",
		)


def check_in_force(wording: Wording, event_at: dt.datetime) -> None:
	"""The version was in force at ``event_at``: published at or before it, and not superseded before it,
	or :class:`Refused`."""
	# to the second: the desk's time field has no fraction, Publish's clock has
	if event_at < wording.published_on.replace(microsecond=0):
		raise Refused(
			"wording_not_yet",
			_("Consent Wording {0} was published on {1}, after the consent was given ({2})."),
			wording.name,
			_fmt(wording.published_on),
			_fmt(event_at),
		)
	if wording.status == SUPERSEDED and (wording.superseded_on is None or event_at >= wording.superseded_on):
		raise Refused(
			"wording_superseded",
			_(
				"Consent Wording {0} was superseded on {1}; consent given since then is recorded under the newer version."
			),
			wording.name,
			_fmt(wording.superseded_on) if wording.superseded_on else "",
		)
