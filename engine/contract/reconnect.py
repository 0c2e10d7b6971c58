"""The one reconnect policy: how long engine and console wait between attempts to reach a
lost Redis (redis-py's own `ExponentialBackoff`, with one set of constants)."""

from __future__ import annotations

from redis.backoff import ExponentialBackoff

RECONNECT_FIRST = 0.5
"""Seconds before the first reconnect attempt; each failure doubles it."""
RECONNECT_MAX = 5.0
"""Longest wait between reconnect attempts, seconds."""


def reconnect_backoff() -> ExponentialBackoff:
    """Waits of 0.5, 1, 2, 4, 5, 5, ... seconds by failures so far (redis-py's formula)."""
    return ExponentialBackoff(cap=RECONNECT_MAX, base=RECONNECT_FIRST)
