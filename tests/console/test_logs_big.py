"""A run with 1,000,000 log lines: the log screen opens, follows the end, and a search
finds the last line. The stream is filled in a few seconds with pipelined XADD written as
raw RESP on the Redis socket (redis-py's pipeline takes ~30 s for a million commands), then
chunked by the mirror's own `LogChunker`, as if the mirror had appended the lines.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest
import redis

from console.logs.screen import LogScreen
from console.logs.view import LINES_CACHED
from engine.contract.keys import Keys
from engine.contract.log_chunks import CHUNK_LINES
from engine.store.log_chunks import LogChunker
from engine.store.mirror import RedisMirror
from tests.console.conftest import NOW, AppFactory, flow_run_doc, wait_for

pytestmark = pytest.mark.slow

LINES = 1_000_000
LAST = "the last line of a very long run"
CHUNK = 20_000


def _command(*parts: bytes) -> bytes:
    return b"*%d\r\n" % len(parts) + b"".join(b"$%d\r\n%s\r\n" % (len(p), p) for p in parts)


def fill_stream(url: str, key: str, lines: int) -> None:
    """XADDs `lines` entries (flow and three tasks, one per 10 ms), the last one LAST."""
    assert url.startswith("unix://"), "the embedded test Redis listens on a unix socket"
    start = NOW.timestamp() - lines / 100
    tasks = [b"", b"task-a", b"task-b", b"task-c"]
    with socket.socket(socket.AF_UNIX) as sock:
        sock.connect(url.removeprefix("unix://"))
        for first in range(0, lines, CHUNK):
            batch = []
            for i in range(first, min(first + CHUNK, lines)):
                msg = LAST if i == lines - 1 else f"batch {i} scored 64 rows"
                ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(start + i / 100))
                batch.append(
                    _command(
                        b"XADD", key.encode(), b"*",
                        b"ts", f"{ts}.{i % 100:02d}0000+00:00".encode(),
                        b"level", b"20", b"level_name", b"INFO",
                        b"task_run_id", tasks[i % 4],
                        b"logger", b"prefect.task_runs",
                        b"msg", msg.encode(),
                    )
                )  # fmt: skip
            sock.sendall(b"".join(batch))
            _drain(sock, len(batch))


def chunk_as_the_mirror(client: redis.Redis, keys: Keys, run_id: str, lines: int) -> int:
    """Closes the text chunks the mirror would have closed had it appended the `lines`
    raw XADDs itself (its `LogChunker`, counting them as appended); how many."""
    chunker = LogChunker(client, keys)
    chunker.count_appended(client, run_id, lines)
    return chunker.catch_up(run_id)


def _drain(sock: socket.socket, replies: int) -> None:
    """Reads the XADD replies (`$N\\r\\nID\\r\\n`: two line ends each); fails on an error."""
    seen = 0
    while seen < 2 * replies:
        data = sock.recv(1 << 20)
        assert data and b"-ERR" not in data, data[:200]
        seen += data.count(b"\n")  # not "\r\n": one may be split between two reads


@pytest.fixture
def big_run(redis_url: str, redis_client: redis.Redis, keys: Keys) -> Iterator[str]:
    RedisMirror(redis_client, keys).upsert_flow_run(flow_run_doc("run-big", "huge-log"))
    fill_stream(redis_url, keys.logs("run-big"), LINES)
    assert redis_client.xlen(keys.logs("run-big")) == LINES
    assert chunk_as_the_mirror(redis_client, keys, "run-big", LINES) == LINES // CHUNK_LINES
    yield "run-big"
    # 150 MB of the shared test server
    redis_client.delete(keys.logs("run-big"), keys.log_chunks("run-big"))


async def test_a_million_lines_open_and_a_search_finds_the_last(
    make_app: AppFactory, big_run: str
) -> None:
    app = make_app()
    async with app.run_test(size=(120, 30)) as pilot:
        screen = LogScreen(app.ctx, big_run, None)
        await app.push_screen(screen)
        view = screen.log_view
        # Lines show while the index is still being read, and the title says how far it got.
        await wait_for(pilot, lambda: view.lines_written > 0, "the first page", 20)
        assert not screen.indexed and "reading" in screen._title()
        # Keys are handled between index pages: the toggle takes effect while the index is
        # still being read (how fast is benchmarks/bench_logs.py's: a timed assertion here
        # failed only on a loaded machine).
        await pilot.press("t")
        assert not view.timestamps
        assert not screen.indexed, "the index was read before the key could be tried"
        await pilot.press("t")
        await wait_for(pilot, lambda: screen.indexed, "the whole stream indexed", 60)
        assert view.lines_written == LINES
        await wait_for(pilot, lambda: view.visible_text()[-1].endswith(LAST), "the end", 10)
        await pilot.press("g")  # the top: fetched by ID like any other page
        await wait_for(pilot, lambda: view.visible_text()[0].endswith("batch 0 scored 64 rows"))
        shown: list[str] = []
        show_busy = screen.show_busy

        def noting(text: str) -> None:  # what the title shows while busy, then shown
            shown.append(text)
            show_busy(text)

        screen.show_busy = noting  # type: ignore[method-assign,assignment]
        await pilot.press("slash", *"very long run", "enter")
        await wait_for(pilot, lambda: screen.search is not None, "the search", 60)
        # Progress is shown as the chunks are searched (it takes well under a second now).
        assert shown and all(t.startswith("searching ") for t in shown), shown[:3]
        assert len(shown) >= LINES // CHUNK_LINES
        assert list(screen.shown_matches) == [LINES - 1] and view.current == LINES - 1
        await wait_for(
            pilot,
            lambda: any(r.startswith("▶") and r.endswith(LAST) for r in view.visible_text()),
            "the match in sight",
        )
        assert "/very long run/ 1/1" in screen._title()
        # Only what was drawn is held: the index, not a million lines.
        assert view.cached_lines <= LINES_CACHED
