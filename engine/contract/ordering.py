"""Ordering rules both sides apply: which run is newer, which version of a document wins."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from engine.contract.times import parse_iso


class Timed(Protocol):
    """A run-like document: a flow run, a task run or a deployment's `last_run` (the
    `expected_start_time` and `created` of those that have them count too)."""

    @property
    def start_time(self) -> str | None: ...


class Updated(Protocol):
    """A document that carries the time of its last change."""

    @property
    def updated(self) -> str | None: ...


def run_moment(run: Timed) -> datetime | None:
    """When a run started, else when it is expected to, else when it was created."""
    return (
        parse_iso(run.start_time)
        or parse_iso(getattr(run, "expected_start_time", None))
        or parse_iso(getattr(run, "created", None))
    )


def run_order(run: Timed) -> float:
    """The flow runs index score of a run (start, else expected start, else created), in
    epoch seconds; 0 when it has none. Sorting by it descending lists the newest first."""
    moment = run_moment(run)
    return moment.timestamp() if moment is not None else 0.0


def is_newer(current: Updated, incoming: Updated) -> bool:
    """True if `current` was updated strictly after `incoming` (events can arrive late, and
    a reader's snapshot and tail may carry the same change): `incoming` must not replace it."""
    a, b = parse_iso(current.updated), parse_iso(incoming.updated)
    return a is not None and b is not None and a > b
