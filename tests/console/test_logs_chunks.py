"""The mirror's log chunks (engine/contract/log_chunks.py) on a real Redis: closed every
CHUNK_LINES lines as the mirror appends, read by a search instead of the stream, and
dropped with the lines they hold. Every search is checked against the messages read back
from the stream one by one."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
import redis

from console.data.store import RedisReader
from console.logs.index import LogIndex
from console.logs.scan import compile_pattern, scan_text
from console.logs.source import PAGE, LogSource, TextPage
from engine.contract.keys import Keys
from engine.contract.log_chunks import (
    CHUNK_COUNT,
    CHUNK_LAST_ID,
    CHUNK_LINES,
    CHUNK_OLDEST,
    CHUNK_PENDING,
    chunk_field,
)
from engine.store.mirror import RedisMirror
from tests.console.conftest import NOW, as_run, at, flow_run_doc, log_line

RUN = "run-chunks"


def lines(first: int, count: int) -> list[dict[str, str]]:
    """Numbered lines; every 997th a two-line traceback, every 5,003rd says `needle`."""
    out = []
    for i in range(first, first + count):
        msg = f"line {i} scored {i % 64} rows"
        if i % 997 == 0:
            msg += "\nTraceback: boom"
        if i % 5_003 == 0:
            msg = f"needle {i}"
        out.append(log_line(at(1), msg, task_run_id=f"task-{i % 3}"))
    return out


def append(mirror: RedisMirror, first: int, count: int, batch: int = 1_000) -> None:
    for start in range(first, first + count, batch):
        mirror.append_logs(RUN, lines(start, min(batch, first + count - start)))


@pytest.fixture
async def reader(redis_url: str, keys: Keys) -> AsyncIterator[RedisReader]:
    reader = RedisReader(redis_url, keys)
    yield reader
    await reader.close()


_indexes: dict[tuple[str, int, str], LogIndex] = {}
"""The stream's index by (key, length, last ID): a search re-reads it only after a change."""


async def indexed(source: LogSource) -> LogIndex:
    client = source.reader.client
    length = await client.xlen(source.key)
    last: Any = await client.xrevrange(source.key, count=1)
    state = (source.key, length, str(last[0][0]) if last else "")
    if state not in _indexes:
        index = LogIndex()
        while await source.read_index_page(index, index.last_id):
            pass
        _indexes[state] = index
    return _indexes[state]


class StreamPages(LogSource):
    """Notes where each page read from the stream (not from a chunk) starts."""

    read_after: list[str | None]

    async def read_text_page(self, after_id: str | None) -> TextPage:
        self.read_after.append(after_id)
        return await super().read_text_page(after_id)


async def search(reader: RedisReader, text: str, chunks: bool = True) -> list[int]:
    """What `scan_text` finds; it checks where the stream was read from."""
    found, read_after = await search_reading(reader, text, chunks)
    last_chunked = await reader.client.hget(reader.keys.log_chunks(RUN), CHUNK_LAST_ID)
    if chunks:  # from the last chunk on, or not at all if the chunks hold every line
        assert read_after[:1] in ([last_chunked], [])
    else:
        assert read_after[0] is None
    return found


async def search_reading(
    reader: RedisReader, text: str, chunks: bool = True
) -> tuple[list[int], list[str | None]]:
    """What `scan_text` finds, and the IDs its stream pages were read after."""
    source = StreamPages(reader, RUN)
    source.read_after = []
    if not chunks:
        source.chunks_key = "no-chunks-here"  # as a stream written before chunks
    index = await indexed(source)
    pattern, why = compile_pattern(text)
    assert pattern is not None, why
    found = list(await scan_text(source, index, pattern, lambda done: None))
    return found, source.read_after


def expected(redis_client: redis.Redis, keys: Keys, text: str) -> list[int]:
    """The positions whose message `text` finds, read from the stream one by one."""
    pattern = re.compile(text, 0 if any(c.isupper() for c in text) else re.IGNORECASE)
    return [i for i, msg in enumerate(messages(redis_client, keys)) if pattern.search(msg)]


_messages: dict[tuple[int, bytes], list[str]] = {}


def messages(redis_client: redis.Redis, keys: Keys) -> list[str]:
    """Every message of the stream (read again only after a change)."""
    key = keys.logs(RUN)
    last: Any = redis_client.xrevrange(key, count=1)
    state = (int(redis_client.xlen(key)), last[0][0] if last else b"")
    if state not in _messages:
        entries: Any = redis_client.xrange(key)
        _messages[state] = [fields[b"msg"].decode() for _, fields in entries]
    return _messages[state]


SEARCHES = [
    "needle",
    "^line 1\\d*7 ",
    "boom$",
    "rows\\nTrace",
    "(?s)scored.*boom",
    "Needle|needle 1\\d",
]


async def test_chunks_close_as_lines_come_and_a_search_reads_them(
    redis_client: redis.Redis, keys: Keys, reader: RedisReader
) -> None:
    mirror = RedisMirror(redis_client, keys, budget=256 * 1024 * 1024)
    mirror.upsert_flow_run(as_run(flow_run_doc(RUN, "chunky", start=NOW - timedelta(hours=1))))
    append(mirror, 0, 2 * CHUNK_LINES + 4_321)
    chunks_key = keys.log_chunks(RUN)
    assert int(redis_client.hget(chunks_key, CHUNK_COUNT) or 0) == 2
    assert int(redis_client.hget(chunks_key, CHUNK_PENDING) or 0) == 4_321
    blobs = [redis_client.hget(chunks_key, chunk_field(n)) for n in range(2)]
    # The log budget counts the chunks beside the entries.
    counted = int(redis_client.hget(keys.log_bytes, RUN) or 0)
    assert counted > sum(len(b or b"") for b in blobs) > 0

    for text in SEARCHES:
        want = expected(redis_client, keys, text)
        assert want, text
        assert await search(reader, text) == want, text
        assert await search(reader, text, chunks=False) == want, text

    # A chunk gone (the oldest go once the stream's cap dropped their lines) while the
    # stream still holds its lines: those are read from the stream.
    oldest = redis_client.hget(chunks_key, chunk_field(0))
    assert oldest is not None
    redis_client.hdel(chunks_key, chunk_field(0))
    for text in SEARCHES[:3]:
        found, read_after = await search_reading(reader, text)
        assert found == expected(redis_client, keys, text), text
        # The gap's pages from the start, then the lines after the last chunk.
        last_chunked: Any = redis_client.hget(chunks_key, CHUNK_LAST_ID)
        assert read_after[0] is None and len(read_after) == CHUNK_LINES // PAGE + 1
        assert last_chunked and read_after[-1] == last_chunked.decode()
    redis_client.hset(chunks_key, chunk_field(0), oldest)

    # A new mirror (an engine restart) goes on counting from what Redis holds.
    RedisMirror(redis_client, keys, budget=256 * 1024 * 1024).append_logs(
        RUN, lines(2 * CHUNK_LINES + 4_321, CHUNK_LINES - 4_321)
    )
    assert int(redis_client.hget(chunks_key, CHUNK_COUNT) or 0) == 3
    assert int(redis_client.hget(chunks_key, CHUNK_PENDING) or 0) == 0
    assert await search(reader, "needle") == expected(redis_client, keys, "needle")

    # The stream's own cap (MAXLEN) drops its oldest lines: the chunks all of whose lines
    # went are dropped as the next chunk closes; one still holding some lines stays.
    redis_client.xtrim(keys.logs(RUN), maxlen=2 * CHUNK_LINES - 5, approximate=False)
    append(mirror, 3 * CHUNK_LINES, CHUNK_LINES)
    assert int(redis_client.hget(chunks_key, CHUNK_OLDEST) or 0) == 1
    assert not redis_client.hexists(chunks_key, chunk_field(0))
    assert redis_client.hexists(chunks_key, chunk_field(1))
    assert await search(reader, "needle") == expected(redis_client, keys, "needle")


async def test_trimmed_and_dropped_lines_take_their_chunks_with_them(
    redis_client: redis.Redis, keys: Keys, reader: RedisReader
) -> None:
    roomy = RedisMirror(redis_client, keys, budget=256 * 1024 * 1024)
    roomy.upsert_flow_run(as_run(flow_run_doc(RUN, "chunky", start=NOW - timedelta(hours=2))))
    append(roomy, 0, 3 * CHUNK_LINES)
    assert int(redis_client.hget(keys.log_chunks(RUN), CHUNK_COUNT) or 0) == 3

    # A budget the run's lines outgrow: its oldest lines go, and the chunks holding them.
    used = int(redis_client.hget(keys.log_bytes, RUN) or 0)
    tight = RedisMirror(redis_client, keys, budget=int(used / 0.8 * 0.7))
    tight.append_logs(RUN, lines(3 * CHUNK_LINES, 10))
    kept = int(redis_client.xlen(keys.logs(RUN)))
    assert 0 < kept < 3 * CHUNK_LINES
    assert int(redis_client.hget(keys.log_chunks(RUN), CHUNK_PENDING) or 0) == kept
    assert not redis_client.hexists(keys.log_chunks(RUN), chunk_field(0))
    assert await search(reader, "needle") == expected(redis_client, keys, "needle")
    # The kept lines are chunked again as more come, a few chunks per append.
    tight.append_logs(RUN, lines(3 * CHUNK_LINES + 10, 10))
    assert int(redis_client.hget(keys.log_chunks(RUN), CHUNK_COUNT) or 0) >= 1
    assert await search(reader, "needle") == expected(redis_client, keys, "needle")

    roomy.drop_runs([RUN])
    assert not redis_client.exists(keys.log_chunks(RUN), keys.logs(RUN))
