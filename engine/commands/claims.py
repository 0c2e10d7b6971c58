"""Pending command entries taken over from other consumers (XAUTOCLAIM), for the leader.

Only the engine holding the leader lease consumes (engine/serve/leader.py). When it takes
over, it claims every pending entry of the group (from the start, any idle time: the former
leader stopped before its lease ran out); afterwards, between reads, the entries idle for
CLAIM_MIN_IDLE_MS in a consumer that is not reading any more.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Awaitable, Callable, Sequence
from secrets import token_hex
from typing import Any

import redis

from engine.contract.keys import ENGINE_GROUP
from engine.store.off_loop import RedisCalls

CLAIM_BATCH = 50
CLAIM_MIN_IDLE_MS = 15_000
"""Claimed between reads if idle this long in another consumer (a former leader's reads
it never handled). Longer than the lease (5 s), so a former leader that has not noticed
yet is never raced for an entry it is still acting on."""


def consumer_name() -> str:
    """host:pid:random: unique per process; also the engine's leader lease token."""
    return f"{socket.gethostname()}:{os.getpid()}:{token_hex(3)}"


Handle = Callable[[bytes, Any, str], Awaitable[None]]
"""Handles one entry: (entry id, its fields, the stream it is on); acknowledges it."""


async def claim_pending(
    call: RedisCalls,
    client: redis.Redis,
    streams: Sequence[str],
    consumer: str,
    min_idle_ms: int,
    handle: Handle,
) -> bool:
    """Claims, page by page, the entries of `streams` pending for `min_idle_ms` and hands
    each to `handle`; True if there was any."""
    handled = False
    for stream in streams:
        cursor = "0-0"
        while True:
            reply: Any = await call(
                client.xautoclaim,
                stream,
                ENGINE_GROUP,
                consumer,
                min_idle_ms,
                start_id=cursor,
                count=CLAIM_BATCH,
            )
            for entry_id, raw in reply[1]:
                if raw is not None:  # None: trimmed from the stream meanwhile (Redis < 7)
                    handled = True
                    await handle(entry_id, raw, stream)
            cursor = reply[0].decode()
            if cursor == "0-0":
                break
    return handled
