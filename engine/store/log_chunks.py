"""The mirror's side of the log chunks: closes a chunk every `CHUNK_LINES` appended lines.

The chunk is read back from the stream (one Lua page of IDs and messages), not kept in the
engine's memory, so an engine restarted mid-chunk, or a standby taking over, goes on where
the hash says: `pending` counts the lines appended since the last chunk, in the same
pipeline as their XADDs. See engine/contract/log_chunks.py for the format and why.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import redis

from engine.contract.keys import Keys
from engine.contract.log_chunks import (
    CHUNK_COUNT,
    CHUNK_LAST_ID,
    CHUNK_LINES,
    CHUNK_MAX_TEXT,
    CHUNK_OLDEST,
    CHUNK_PENDING,
    FIELD,
    LOG_FIELDS_SCRIPT,
    RECORD,
    chunk_end_field,
    chunk_field,
    encode_chunk,
    id_order,
)
from engine.store.scripts import scripts_refused

log = logging.getLogger(__name__)

CHUNKS_PER_APPEND = 2
"""At most this many chunks are closed per append, so catching up after a trim (which
leaves its kept lines pending) never holds the mirror's Redis thread for long."""
DROPS_PER_CLOSE = 8
"""At most this many chunks, whose lines the stream no longer holds, go per chunk closed."""
READ_PAGE = 2_500
"""Entries read back per Lua call while closing a chunk."""


@dataclass
class LogChunker:
    client: redis.Redis
    keys: Keys

    enabled: bool = True
    """False once Redis refused the read-back script."""

    def __post_init__(self) -> None:
        self._script: Any = self.client.register_script(LOG_FIELDS_SCRIPT)

    def count_appended(self, pipe: Any, flow_run_id: str, lines: int) -> None:
        """Adds, to the append's pipeline, the count of lines not in a chunk yet (its
        answer is the new pending count)."""
        pipe.hincrby(self.keys.log_chunks(flow_run_id), CHUNK_PENDING, lines)

    def close_due(self, flow_run_id: str, pending: int) -> int:
        """Closes the chunks `pending` lines make whole (at most CHUNKS_PER_APPEND); the
        bytes they take, for the log budget."""
        added = 0
        for _ in range(CHUNKS_PER_APPEND):
            if pending < CHUNK_LINES or not self.enabled:
                break
            try:
                size, lines = self._close_one(flow_run_id)
            except redis.exceptions.RedisError as exc:
                if scripts_refused(exc):
                    # Searches read the stream entry by entry, as before chunks.
                    log.warning("log chunks off: Redis refused the read-back script: %s", exc)
                    self.enabled = False
                    break
                # The lines are appended already: failing here would have them appended
                # again. The chunk closes on a later append (its lines stay pending).
                log.warning("log chunk of run %s not closed yet: %s", flow_run_id, exc)
                break
            if not lines:
                break
            added += size
            pending -= lines
        return added

    def catch_up(self, flow_run_id: str) -> int:
        """Closes every chunk the pending lines make whole, however many (for a stream
        filled in bulk, not line by line through the mirror); how many."""
        closed = 0
        while True:
            pending = self.client.hget(self.keys.log_chunks(flow_run_id), CHUNK_PENDING)
            if int(pending or 0) < CHUNK_LINES or not self._close_one(flow_run_id)[1]:
                return closed
            closed += 1

    def forget(self, pipe: Any, flow_run_id: str, pending: int = 0) -> None:
        """Drops a run's chunks (its stream was deleted or trimmed). `pending`: the lines
        the stream still holds, chunked again from its start by later appends."""
        key = self.keys.log_chunks(flow_run_id)
        pipe.delete(key)
        if pending:
            pipe.hset(key, CHUNK_PENDING, pending)

    def _close_one(self, flow_run_id: str) -> tuple[int, int]:
        key = self.keys.log_chunks(flow_run_id)
        last_id, count, oldest = self.client.hmget(key, [CHUNK_LAST_ID, CHUNK_COUNT, CHUNK_OLDEST])
        after = last_id.decode() if isinstance(last_id, bytes) else "-"
        ids: list[str] = []
        messages: list[str] = []
        size = 0
        while len(ids) < CHUNK_LINES and size < CHUNK_MAX_TEXT:
            wanted = min(READ_PAGE, CHUNK_LINES - len(ids))
            blob = self._script(keys=[self.keys.logs(flow_run_id)], args=[after, wanted, "msg"])
            text = blob.decode("utf-8", "replace") if isinstance(blob, bytes) else str(blob)
            if not text:
                break
            for record in text.split(RECORD):
                entry_id, msg = record.split(FIELD, 1)
                ids.append(entry_id)
                messages.append(msg)
                size += len(msg)
            after = ids[-1]
        if len(ids) < CHUNK_LINES and size < CHUNK_MAX_TEXT:
            # The stream holds fewer lines than counted (trimmed meanwhile): count those.
            self.client.hset(key, CHUNK_PENDING, len(ids))
            return 0, 0
        blob_out = encode_chunk(ids, messages)
        number = int(count or 0)
        pipe = self.client.pipeline(transaction=True)
        fields = {
            chunk_field(number): blob_out,
            chunk_end_field(number): ids[-1],
            CHUNK_LAST_ID: ids[-1],
            CHUNK_COUNT: number + 1,
        }
        pipe.hset(key, mapping=fields)  # type: ignore[arg-type]
        self._drop_gone(pipe, flow_run_id, int(oldest or 0), number)
        pipe.hincrby(key, CHUNK_PENDING, -len(ids))
        pipe.hincrby(self.keys.log_bytes, flow_run_id, len(blob_out))
        pipe.execute()
        return len(blob_out), len(ids)

    def _drop_gone(self, pipe: Any, flow_run_id: str, oldest: int, newest: int) -> None:
        """Adds to `pipe` the deletion of the chunks before `newest` whose every line the
        stream's own cap (MAXLEN) has dropped, oldest first."""
        key = self.keys.log_chunks(flow_run_id)
        first: Any = self.client.xrange(self.keys.logs(flow_run_id), count=1)
        if not first or oldest >= newest:
            return
        first_kept = id_order(_text(first[0][0]))
        numbers = range(oldest, min(newest, oldest + DROPS_PER_CLOSE))
        ends: Any = self.client.hmget(key, [chunk_end_field(n) for n in numbers])
        gone = oldest
        for number, end in zip(numbers, ends, strict=True):
            if end is not None and id_order(_text(end)) >= first_kept:
                break
            gone = number + 1
        if gone > oldest:
            fields = [f(n) for n in range(oldest, gone) for f in (chunk_field, chunk_end_field)]
            pipe.hdel(key, *fields)
            pipe.hset(key, CHUNK_OLDEST, gone)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
