"""Writes a run's log copy (`{p}:log_copies:{query id}`): its whole log as Prefect holds it, asked
by a console when the mirror's budget dropped the run's older lines.

A copy is outside the mirror's log budget, so it is bounded on its own: it expires after
LOG_COPY_TTL_SECONDS, stops at LOG_COPY_MAX_BYTES, and only the newest LOG_COPIES_KEPT
copies are kept (`{p}:log_copies`). The lines are the mirror's own entry fields (capped
messages), so the console reads a copy with the log screen it reads a run's stream with.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

import redis

from engine.contract.documents import LogLine
from engine.contract.history import LOG_COPIES_KEPT, LOG_COPY_TTL_SECONDS
from engine.contract.keys import Keys
from engine.store.log_budget import entry_bytes, log_stream_fields


class LogCopyWriter:
    """One copy of one run's log, written a page at a time (blocking: call from a thread)."""

    def __init__(self, client: redis.Redis, keys: Keys, copy_id: str) -> None:
        self.client, self.keys, self.copy_id = client, keys, copy_id
        self.key = keys.log_copy(copy_id)
        self.lines = 0
        self.bytes = 0

    def start(self) -> None:
        """Notes the copy; deletes the oldest copies beyond LOG_COPIES_KEPT."""
        pipe = self.client.pipeline(transaction=True)
        pipe.zadd(self.keys.log_copies, {self.copy_id: time.time()})
        pipe.zrange(self.keys.log_copies, 0, -LOG_COPIES_KEPT - 1)
        old: list[bytes] = pipe.execute()[-1]
        if old:
            pipe = self.client.pipeline(transaction=True)
            pipe.delete(*(self.keys.log_copy(member.decode()) for member in old))
            pipe.zrem(self.keys.log_copies, *old)
            pipe.execute()

    def append(self, lines: Iterable[LogLine]) -> None:
        pipe = self.client.pipeline(transaction=False)
        for line in lines:
            fields = log_stream_fields(line)
            pipe.xadd(self.key, fields)  # type: ignore[arg-type]
            self.lines += 1
            self.bytes += entry_bytes(fields)
        pipe.expire(self.key, LOG_COPY_TTL_SECONDS)
        pipe.execute()
