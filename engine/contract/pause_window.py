"""Maintenance windows: "pause until" as an operator types it, and its Redis record.

Stdlib + redis only: the console parses the same text as `aiwf-engine pause --until`, and
reads nothing of this but the parser. The engine keeps each deployment's auto-resume time
in the ZSET `{p}:auto_resume` (member: deployment name, score: epoch seconds), so a pause
with a window survives an engine restart and ends even with no console open.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Any

import redis

from engine.contract.keys import Keys

_RELATIVE = re.compile(r"^\s*(\d+)\s*([mhd])\s*$", re.IGNORECASE)
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}
_LOCAL_FORMATS = ("%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S")

UNTIL_HELP = "30m, 2h, 1d, or a local date-time such as 2026-11-27 06:00"
"""What `parse_until` accepts, for hints and error messages."""


class WindowError(ValueError):
    """The text is not a time `parse_until` understands, or not in the future."""


def parse_until(text: str, now: datetime) -> datetime | None:
    """The moment a pause should end, aware; None for empty text (pause indefinitely).

    `30m`, `2h`, `1d` count from `now`; `2026-11-27 06:00` is a wall time in `now`'s zone
    (the operator's); an ISO time with an offset is taken as it is.

    Raises:
        WindowError: unreadable text, or a moment that is not after `now`.
    """
    text = text.strip()
    if not text:
        return None
    relative = _RELATIVE.match(text)
    if relative:
        amount, unit = int(relative.group(1)), relative.group(2).lower()
        if amount <= 0:
            raise WindowError(f"{text!r}: the window must be longer than 0")
        return now + timedelta(**{_UNITS[unit]: amount})
    moment = _parse_moment(text, now)
    if moment is None:
        raise WindowError(f"{text!r} is not a time; use {UNTIL_HELP}")
    if moment <= now:
        shown = moment.astimezone(now.tzinfo).strftime("%Y-%m-%d %H:%M %Z")
        raise WindowError(f"{text!r} ({shown}) is not in the future")
    return moment


def _parse_moment(text: str, now: datetime) -> datetime | None:
    for fmt in _LOCAL_FORMATS:
        try:
            naive = datetime.strptime(text, fmt)
        except ValueError:
            continue
        return _localize(naive, now)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else _localize(moment, now)


def _localize(naive: datetime, now: datetime) -> datetime:
    zone = now.tzinfo or timezone.utc
    # ZoneInfo zones resolve the offset of that date (DST included); fixed offsets stay.
    return naive.replace(tzinfo=zone)


def parse_resume_at(value: object, now: datetime) -> datetime:
    """`resume_at` of a pause command: an ISO time with offset, after `now`.

    Raises:
        WindowError: naming the field and what to send instead.
    """
    if not isinstance(value, str):
        raise WindowError(f"pause: resume_at must be an ISO time string, not {value!r}")
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise WindowError(
            f"pause: resume_at {value!r} is not an ISO time (e.g. 2026-11-27T06:00:00+00:00)"
        ) from exc
    if moment.tzinfo is None:
        raise WindowError(f"pause: resume_at {value!r} needs an offset (+00:00 for UTC)")
    if moment <= now:
        raise WindowError(f"pause: resume_at {value!r} is already past; nothing was paused")
    return moment


class AutoResumeStore:
    """The `{p}:auto_resume` ZSET: when each paused deployment is to be resumed."""

    def __init__(self, client: redis.Redis, keys: Keys) -> None:
        self.client = client
        self.key = keys.auto_resume

    def set(self, name: str, when: datetime) -> None:
        self.client.zadd(self.key, {name: when.timestamp()})

    def clear(self, name: str) -> bool:
        """Forgets `name`'s window; True if there was one."""
        return bool(self.client.zrem(self.key, name))

    def when(self, name: str) -> datetime | None:
        score = self.client.zscore(self.key, name)
        return None if score is None else datetime.fromtimestamp(float(score), timezone.utc)

    def due(self, now: datetime) -> list[tuple[str, datetime]]:
        """Windows that have ended by `now`, earliest first."""
        found: Any = self.client.zrangebyscore(self.key, "-inf", now.timestamp(), withscores=True)
        return [
            (
                member.decode() if isinstance(member, bytes) else str(member),
                datetime.fromtimestamp(float(score), timezone.utc),
            )
            for member, score in found
        ]
