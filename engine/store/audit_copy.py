"""Every engine's audit file holds the whole trail, not only what it executed itself.

The leader appends what it executes to its own file (engine/store/audit_log.py). When Redis
comes back empty, the engine that leads then refills the audit stream from *its* file: a
standby on another host that takes over would otherwise bring back none of the previous
leader's entries (seen trying it by hand: two engines with their own state dirs, Redis
restarted without its data, the audit screen empty). So each engine, leading or not, follows
`{p}:audit` and appends the entries it does not have, with their results while Redis still
keeps them.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import redis

from engine.contract.keys import Keys
from engine.contract.reconnect import reconnect_backoff
from engine.contract.redis_text import redis_text
from engine.store.audit_log import AuditLog

logger = logging.getLogger("aiwf.engine.audit_copy")

READ_BLOCK_MS = 1_000
READ_COUNT = 500


class AuditCopier:
    def __init__(self, reader: redis.Redis, keys: Keys, audit_log: AuditLog) -> None:
        """`reader`: a client of its own (its reads block), with a socket timeout above
        READ_BLOCK_MS."""
        self.reader, self.keys, self.audit_log = reader, keys, audit_log
        self.cursor = "0-0"
        """The last entry read. From the start at first: what other engines wrote while
        this one was down is copied too. A stream written again after Redis lost its data
        gets ids from the current time, after the cursor."""

    async def run(self) -> None:
        """Copies until cancelled; a lost Redis is waited out with the reconnect backoff."""
        backoff = reconnect_backoff()
        failures = 0
        while True:
            try:
                copied = await asyncio.to_thread(self.copy_new)
            except (redis.ConnectionError, redis.TimeoutError, OSError) as exc:
                failures += 1
                if failures == 1:
                    logger.warning("audit copy: Redis unreachable (%s); trying again", exc)
                await asyncio.sleep(backoff.compute(failures))
                continue
            if failures:
                logger.info("audit copy: Redis reachable again")
            failures = 0
            if copied:
                logger.info("copied %d audit entries to %s", copied, self.audit_log.path)

    def copy_new(self) -> int:
        """Reads the entries after the cursor (waiting up to READ_BLOCK_MS for the first)
        and appends those the file lacks; returns how many. Blocking."""
        answer: Any = self.reader.xread(
            {self.keys.audit: self.cursor}, count=READ_COUNT, block=READ_BLOCK_MS
        )
        entries = [entry for _stream, stream_entries in answer or [] for entry in stream_entries]
        if not entries:
            return 0
        audits = [
            {redis_text(name): redis_text(value) for name, value in fields.items()}
            for _entry_id, fields in entries
        ]
        pipe = self.reader.pipeline(transaction=False)
        for audit in audits:
            pipe.lindex(self.keys.result(audit.get("command_id", "")), -1)
        results: list[Any] = pipe.execute()
        copied = 0
        for audit, result in zip(audits, results, strict=True):
            copied += self.audit_log.append_copy(audit, redis_text(result) if result else "")
        self.cursor = redis_text(entries[-1][0])
        return copied
