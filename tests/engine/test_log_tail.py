"""A log chunk built from the lines the mirror just appended (engine/store/log_tail.py) is
the chunk the read-back builds from the stream, whatever the messages hold; a mirror that
did not append every pending line (restarted mid-chunk, another engine led meanwhile)
reads them back; and the tails stay within their memory bound."""

from __future__ import annotations

from typing import Any

import pytest
import redis

from engine.contract.documents import LogLine
from engine.contract.keys import LOG_LINE_MAX_BYTES, Keys
from engine.contract.log_chunks import (
    CHUNK_COUNT,
    LogChunk,
    chunk_end_field,
    chunk_field,
    decode_chunk,
)
from engine.store import log_chunks, log_tail
from engine.store.log_tail import Tails, as_read_back
from engine.store.mirror import RedisMirror
from tests.engine import test_log_append

CHUNK = 50
PAGE = 20

AWKWARD = [
    *test_log_append.AWKWARD,
    "an escaped byte \udcff here",
    "a lone surrogate \ud800 here",
    "x" * (LOG_LINE_MAX_BYTES + 10),
]


@pytest.fixture(autouse=True)
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    for module in (log_chunks, log_tail):
        monkeypatch.setattr(module, "CHUNK_LINES", CHUNK)
        monkeypatch.setattr(module, "READ_PAGE", PAGE)


def lines(start: int, count: int) -> list[LogLine]:
    return [
        LogLine(level="20", msg=f"{AWKWARD[n % len(AWKWARD)]} #{n}", log_id=str(n))
        for n in range(start, start + count)
    ]


class Counted:
    """A mirror whose chunk read-backs are counted (to tell the two ways apart)."""

    def __init__(self, client: redis.Redis, keys: Keys, tails: Tails | None = None) -> None:
        self.mirror = RedisMirror(client, keys)
        if tails is not None:
            self.mirror.log_chunks.tails = tails
        self.read_backs = 0
        read_back = self.mirror.log_chunks._read_back

        def counted(*args: Any) -> Any:
            self.read_backs += 1
            return read_back(*args)

        self.mirror.log_chunks._read_back = counted  # type: ignore[method-assign,assignment]

    def append(self, start: int, count: int) -> None:
        assert self.mirror.append_logs("run", lines(start, count)) == count


def chunks(client: redis.Redis, keys: Keys) -> list[tuple[LogChunk, bytes]]:
    key = keys.log_chunks("run")
    count = int(client.hget(key, CHUNK_COUNT) or 0)
    found = []
    for number in range(count):
        blob: Any = client.hget(key, chunk_field(number))
        end: Any = client.hget(key, chunk_end_field(number))
        found.append((decode_chunk(blob), end))
    return found


def stream_ids(client: redis.Redis, keys: Keys) -> list[str]:
    entries: Any = client.xrange(keys.logs("run"))
    return [entry_id.decode() for entry_id, _ in entries]


def assert_same_chunks(client: redis.Redis, built: Keys, read: Keys) -> None:
    """The chunks under `built` hold what those under `read` hold, and their own IDs."""
    mine, theirs = chunks(client, built), chunks(client, read)
    assert len(mine) == len(theirs) > 0
    ids = stream_ids(client, built)
    at = 0
    for (chunk, end), (other, _) in zip(mine, theirs, strict=True):
        assert chunk.text == other.text
        assert chunk.lengths_text == other.lengths_text
        assert chunk.ids() == ids[at : at + len(chunk.ids())]
        assert end.decode() == chunk.ids()[-1]
        at += len(chunk.ids())


@pytest.mark.parametrize("batches", [[7, 60, 1, 100, 62], [230], [CHUNK] * 4])
def test_a_chunk_from_the_tail_is_the_chunk_read_back(
    redis_client: redis.Redis, keys: Keys, batches: list[int]
) -> None:
    built = Counted(redis_client, keys)
    read_keys = Keys(f"{keys.prefix}-read")
    read = Counted(redis_client, read_keys, Tails(limit=0))  # keeps no tail
    start = 0
    for count in batches:
        built.append(start, count)
        read.append(start, count)
        start += count
    assert_same_chunks(redis_client, keys, read_keys)
    assert built.read_backs == 0, "the chunks came from the appended lines"
    assert read.read_backs == len(chunks(redis_client, read_keys))


def test_a_chunk_cut_short_by_its_text_size_is_cut_at_the_same_line(
    redis_client: redis.Redis, keys: Keys, monkeypatch: pytest.MonkeyPatch
) -> None:
    for module in (log_chunks, log_tail):
        monkeypatch.setattr(module, "CHUNK_MAX_TEXT", 700)
    built = Counted(redis_client, keys)
    read_keys = Keys(f"{keys.prefix}-read")
    read = Counted(redis_client, read_keys, Tails(limit=0))
    for start in range(0, 120, 40):
        built.append(start, 40)
        read.append(start, 40)
    assert_same_chunks(redis_client, keys, read_keys)
    assert all(len(chunk.ids()) < CHUNK for chunk, _ in chunks(redis_client, keys))
    assert built.read_backs == 0


def test_a_mirror_restarted_mid_chunk_reads_back_then_builds_from_its_tail_again(
    redis_client: redis.Redis, keys: Keys
) -> None:
    Counted(redis_client, keys).append(0, 30)
    restarted = Counted(redis_client, keys)  # a new engine: no tail of those 30
    restarted.append(30, 40)
    assert restarted.read_backs == 1
    restarted.append(70, 40)  # the 20 left after the first chunk were its own
    assert restarted.read_backs == 1, "the second chunk came from the tail"
    read_keys = Keys(f"{keys.prefix}-read")
    read = Counted(redis_client, read_keys, Tails(limit=0))
    read.append(0, 110)
    assert_same_chunks(redis_client, keys, read_keys)


def test_lines_another_mirror_appended_meanwhile_are_read_back(
    redis_client: redis.Redis, keys: Keys
) -> None:
    leader = Counted(redis_client, keys)
    leader.append(0, 30)
    Counted(redis_client, keys).append(30, 10)  # another engine led for a while
    leader.append(40, 20)
    assert leader.read_backs == 1
    read_keys = Keys(f"{keys.prefix}-read")
    Counted(redis_client, read_keys, Tails(limit=0)).append(0, 60)
    assert_same_chunks(redis_client, keys, read_keys)


def test_a_trim_forgets_the_tail(redis_client: redis.Redis, keys: Keys) -> None:
    mirror = Counted(redis_client, keys)
    mirror.append(0, 30)
    mirror.mirror.drop_runs(["run"])
    assert mirror.mirror.log_chunks.tails.text == 0
    mirror.append(30, 60)
    assert mirror.read_backs == 0, "the stream started again with this mirror's lines"
    read_keys = Keys(f"{keys.prefix}-read")
    Counted(redis_client, read_keys, Tails(limit=0)).append(30, 60)
    assert_same_chunks(redis_client, keys, read_keys)


def test_the_tails_keep_their_memory_bound_by_dropping_the_largest() -> None:
    tails = Tails(limit=100)
    tails.appended("small", "-", 2, ["1-0", "1-1"], ["ab", "cd"])
    tails.appended("large", "-", 3, ["2-0", "2-1", "2-2"], ["x" * 40, "y" * 40, "z" * 40])
    assert tails.text == 4
    assert tails.for_chunk("large", "-", 3) is None, "over the bound: that run reads back"
    kept = tails.for_chunk("small", "-", 2)
    assert kept is not None and kept.messages == ["ab", "cd"]


def test_a_message_reads_as_the_read_back_gives_it() -> None:
    assert as_read_back("a\x1fb\x1ec") == "a b c"
    assert as_read_back("bad \udcff byte") == "bad \ufffd byte"
    assert as_read_back("日本語") == "日本語"
