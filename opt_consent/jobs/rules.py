"""Cutting a long job into independent chunks by keyset ranges. Pure Python (no Frappe).

A job that walks a table in one order (the daily lapse along ``(lapse date, name)``, a backlog or the
recompute along ``name``, the integrity walk along each doctype's ``name``) is cut into ranges of that order.
A coordinator reads every ``size``-th key of the walk with one indexed query (the *boundaries*) and plans
one chunk per range:

- chunk 0 covers keys ``<= boundaries[0]``, chunk i keys ``> boundaries[i-1]`` and ``<= boundaries[i]``,
  the last one keys ``> boundaries[-1]`` with no upper bound;
- so the chunks are disjoint and together cover every key, whatever was added after the plan was made.

A key is a tuple (``(name,)`` or ``(lapse date, name)``); the chunk's bounds are stored as JSON text
(:func:`encode_key` / :func:`decode_key`) in the run's chunk rows, and the job id of a chunk is
deterministic (:func:`job_id`), so enqueuing the same chunk twice is deduplicated by the queue.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

Key = tuple


@dataclass(frozen=True)
class Chunk:
	"""Keys ``after < key <= upto`` (``None``: unbounded on that side)."""

	no: int
	after: Key | None
	upto: Key | None

	def contains(self, key: Key) -> bool:
		return (self.after is None or key > self.after) and (self.upto is None or key <= self.upto)


def plan(boundaries: Sequence[Key]) -> list[Chunk]:
	"""Chunks between sorted, distinct ``boundaries``: ``len(boundaries) + 1`` of them, covering every key."""
	keys = [tuple(key) for key in boundaries]
	if any(a >= b for a, b in pairwise(keys)):
		raise ValueError("boundaries must be sorted and distinct")
	lows: list[Key | None] = [None, *keys]
	highs: list[Key | None] = [*keys, None]
	return [Chunk(no, after, upto) for no, (after, upto) in enumerate(zip(lows, highs, strict=True))]


def job_id(run: str, chunk_no: int) -> str:
	"""The queue's id of a chunk: one per (run, chunk), so a second enqueue of it is a no-op."""
	return f"opt_consent_run_{run}_chunk_{chunk_no}"


def encode_key(key: Key | None) -> str | None:
	"""A key as JSON text (dates as ISO strings), for a chunk row's bounds."""
	if key is None:
		return None
	return json.dumps([{"date": part.isoformat()} if isinstance(part, dt.date) else part for part in key])


def decode_key(text: str | None) -> Key | None:
	if not text:
		return None
	return tuple(
		dt.date.fromisoformat(part["date"]) if isinstance(part, dict) else part for part in json.loads(text)
	)
