"""What every screen and widget is given: the shared store, the clock and where Redis is."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from console.data.state import Store
from engine.contract.keys import Keys

Clock = Callable[[], datetime]
"""Returns the current time, aware; tests pass a fixed one."""


def local_now() -> datetime:
    """The real clock, in the operator's local zone."""
    return datetime.now().astimezone()


@dataclass(frozen=True)
class Context:
    """Shared, read-only handles. Screens post messages to the app to change anything.

    Attributes:
        store: the documents and statuses the app has applied.
        now: the clock; times are shown in its zone.
        redis_url: for screens that read their own stream (the log screen).
        keys: key names under the prefix in use.
        read_only: every action that changes something is hidden and refused.
    """

    store: Store
    now: Clock
    redis_url: str
    keys: Keys
    read_only: bool = False
