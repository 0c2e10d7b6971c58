"""Warnings about bad Redis documents the console skipped: each key once, rate-limited so
thousands of bad documents never flood the screen (the count is in the status line)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from engine.contract.documents import REJECTED, RejectedDocuments

WARNING_EVERY_SECONDS = 5.0
"""At most one warning notification this often."""
KEYS_PER_WARNING = 3
"""Keys a warning names; the others of the same moment are counted in it."""
KEYS_REMEMBERED = 10_000
"""Keys already warned about (beyond it, the oldest may be warned about again)."""


@dataclass(frozen=True)
class BadDocumentsWarning:
    """One notification's text: the keys (with why) and how many more were skipped."""

    text: str
    keys: tuple[str, ...]


class RejectedWatch:
    """Follows `REJECTED` from the moment it is made (earlier rejections are not this
    console's news).

    Args:
        rejected: the process's counter (`engine.contract.documents.REJECTED`).
        clock: monotonic seconds (tests may pass their own).
    """

    def __init__(
        self,
        rejected: RejectedDocuments = REJECTED,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rejected = rejected
        self.clock = clock
        self.start = rejected.count
        self._seen_up_to = rejected.count
        self._warned: dict[str, None] = {}
        self._next_warning = 0.0

    @property
    def count(self) -> int:
        """Documents skipped as bad since this watch began."""
        return self.rejected.count - self.start

    def take_warning(self) -> BadDocumentsWarning | None:
        """A warning about keys not warned about yet, unless one was given too recently."""
        now = self.clock()
        if now < self._next_warning or self.rejected.count == self._seen_up_to:
            return None
        fresh = [
            (key, reason)
            for key, reason in self.rejected.since(self._seen_up_to)
            if key not in self._warned
        ]
        skipped = self.rejected.count - self._seen_up_to
        self._seen_up_to = self.rejected.count
        if not fresh:
            return None
        for key, _reason in fresh:
            self._warned[key] = None
        while len(self._warned) > KEYS_REMEMBERED:
            self._warned.pop(next(iter(self._warned)))
        self._next_warning = now + WARNING_EVERY_SECONDS
        named = fresh[:KEYS_PER_WARNING]
        lines = [f"{key}: {_short(reason)}" for key, reason in named]
        if len(fresh) > len(named):
            more = len(fresh) - len(named)
            lines.append(f"... and {more} more keys ({skipped} bad documents in all)")
        lines.append(
            "Skipped; everything else is shown. The engine's next write of a key repairs it; "
            "the count is in the status line."
        )
        return BadDocumentsWarning("\n".join(lines), tuple(key for key, _ in named))


def _short(reason: str, limit: int = 120) -> str:
    return reason if len(reason) <= limit else reason[: limit - 1] + "…"
