"""The mirror's side of the log chunks: closes a chunk every `CHUNK_LINES` appended lines.

The chunk is built from the lines this mirror appended since the last one
(engine/store/log_tail.py) while they are exactly what the hash says is pending, and else
read back from the stream (one Lua page of IDs and messages), so an engine restarted
mid-chunk, or a standby taking over, goes on where the hash says: `pending` counts the
lines appended since the last chunk, in the same pipeline as their XADDs. See
engine/contract/log_chunks.py for the format and why.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
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
from engine.store.log_tail import READ_PAGE, Tails
from engine.store.scripts import scripts_refused

log = logging.getLogger(__name__)

CHUNKS_PER_APPEND = 2
"""At most this many chunks are closed per append, so catching up after a trim (which
leaves its kept lines pending) never holds the mirror's Redis thread for long."""
DROPS_PER_CLOSE = 8
"""At most this many chunks, whose lines the stream no longer holds, go per chunk closed."""


@dataclass
class LogChunker:
    client: redis.Redis
    keys: Keys

    enabled: bool = True
    """False once Redis refused the read-back script."""
    tails: Tails = field(default_factory=Tails)

    def __post_init__(self) -> None:
        self._script: Any = self.client.register_script(LOG_FIELDS_SCRIPT)

    def count_appended(self, pipe: Any, flow_run_id: str, lines: int) -> None:
        """Adds, to the append's pipeline, the count of lines not in a chunk yet (its
        answer is the new pending count)."""
        pipe.hincrby(self.keys.log_chunks(flow_run_id), CHUNK_PENDING, lines)

    def ask_last_id(self, pipe: Any, flow_run_id: str) -> None:
        """Adds, to the append's pipeline, the read of the last chunked ID (`close_due`'s
        `last_id`)."""
        pipe.hget(self.keys.log_chunks(flow_run_id), CHUNK_LAST_ID)

    def close_due(
        self,
        flow_run_id: str,
        pending: int,
        last_id: str | None = None,
        appended: Sequence[tuple[list[str], list[str]]] = (),
    ) -> int:
        """Closes the chunks `pending` lines make whole (at most CHUNKS_PER_APPEND); the
        bytes they take, for the log budget. `appended`: the IDs and messages the append
        just wrote (pieces in order), after the chunk that ended at `last_id`."""
        ids = [entry_id for piece_ids, _ in appended for entry_id in piece_ids]
        messages = [message for _, piece_messages in appended for message in piece_messages]
        if ids:
            self.tails.appended(flow_run_id, last_id or "-", pending, ids, messages)
        added = 0
        for _ in range(CHUNKS_PER_APPEND):
            if pending < CHUNK_LINES or not self.enabled:
                break
            try:
                size, lines, from_tail, chunk_end = self._close_one(flow_run_id)
            except redis.exceptions.RedisError as exc:
                self.tails.forget(flow_run_id)
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
            if not from_tail and 0 < pending <= len(ids):
                # Read back: what is pending now is the end of this append.
                self.tails.read_back(flow_run_id, chunk_end, ids[-pending:], messages[-pending:])
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
        self.tails.forget(flow_run_id)
        pipe.delete(key)
        if pending:
            pipe.hset(key, CHUNK_PENDING, pending)

    def _close_one(self, flow_run_id: str) -> tuple[int, int, bool, str]:
        """Closes the next chunk: its bytes, its lines, whether its lines came from the
        run's tail (else read back), and its last line's ID."""
        key = self.keys.log_chunks(flow_run_id)
        last_id, count, oldest, pending = self.client.hmget(
            key, [CHUNK_LAST_ID, CHUNK_COUNT, CHUNK_OLDEST, CHUNK_PENDING]
        )
        after = last_id.decode() if isinstance(last_id, bytes) else "-"
        tail = self.tails.for_chunk(flow_run_id, after, int(pending or 0))
        if tail is not None and (taken := tail.next_chunk()):
            ids, messages = tail.ids[:taken], tail.messages[:taken]
        else:
            tail = None
            ids, messages = self._read_back(flow_run_id, after)
            if not ids:
                return 0, 0, False, after
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
        if tail is not None:
            self.tails.chunked(flow_run_id, len(ids))
        return len(blob_out), len(ids), tail is not None, ids[-1]

    def _read_back(self, flow_run_id: str, after: str) -> tuple[list[str], list[str]]:
        """The next chunk's IDs and messages read from the stream, or none when it holds
        fewer lines than counted (trimmed meanwhile: then those are counted)."""
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
            self.client.hset(self.keys.log_chunks(flow_run_id), CHUNK_PENDING, len(ids))
            return [], []
        return ids, messages

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
