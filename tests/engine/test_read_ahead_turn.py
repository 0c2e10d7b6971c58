"""Pages read ahead (engine/bridge/history.py): when a read-ahead may ask Prefect
(`QueryServer._quiet`: never beside a page someone waits for, at once when someone asks for
the page it would fetch, not at all if Prefect is never quiet), and the next page a first
page brings with it. Pure logic: no Redis or Prefect is reached."""

from __future__ import annotations

import asyncio

import msgspec
import pytest

from engine.bridge import history
from engine.bridge.history import READ_AHEAD_QUIET_SECONDS, QueryServer
from engine.config.registry import Registry
from engine.contract.documents import FlowRun
from engine.contract.history import RunPage, RunQuery
from engine.contract.keys import Keys


def server() -> QueryServer:
    # from_url does not connect: the turn logic never touches Redis.
    return QueryServer("redis://127.0.0.1:1", Keys("turn"), Registry(), "turn-test")


async def test_a_read_ahead_waits_while_an_asked_page_is_with_prefect() -> None:
    queries = server()
    queries.asked_with_prefect = 1
    turn = asyncio.create_task(queries._quiet(b"next"))
    done, _ = await asyncio.wait({turn}, timeout=READ_AHEAD_QUIET_SECONDS * 4)
    assert not done, "it went to Prefect beside an asked page"
    loop = asyncio.get_running_loop()
    queries.asked_with_prefect, queries.asked_done_at = 0, loop.time()
    started = loop.time()
    assert await turn == "quiet"
    assert loop.time() - started >= READ_AHEAD_QUIET_SECONDS * 0.9  # quiet for long enough
    assert b"next" not in queries.wanted


async def test_asking_for_the_page_a_read_ahead_waits_to_fetch_starts_it_at_once() -> None:
    queries = server()
    queries.asked_with_prefect = 1
    turn = asyncio.create_task(queries._quiet(b"next"))
    await asyncio.sleep(0)  # it registers what it waits for
    queries._want(b"next")  # as QueryServer._page does when the page is asked
    assert await asyncio.wait_for(turn, 1) == "asked"


async def test_a_read_ahead_never_given_a_quiet_moment_is_dropped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(history, "PREFETCH_SECONDS", 0.1)
    queries = server()
    queries.asked_with_prefect = 1
    assert await asyncio.wait_for(queries._quiet(b"next"), 2) == "given up"


def test_a_first_page_asked_with_the_next_keeps_the_next_for_the_cursor() -> None:
    queries = server()
    first = RunQuery(id="q1", text="nightly", limit=3)
    both = RunPage(query_id="q1", ok=True, total=10, runs=[FlowRun(id=f"r{i}") for i in range(6)])
    page = queries._keep_next_page(first, both, 3)
    assert [r.id for r in page.runs] == ["r0", "r1", "r2"] and page.total == 10
    # The console's next ask (the cursor at the last row): same view, offset 3, no count.
    after = queries.cache.get(msgspec.structs.replace(first, id="q2", offset=3, counted=False))
    assert after is not None and after.cached and after.query_id == "q2"
    assert [r.id for r in after.runs] == ["r3", "r4", "r5"] and after.offset == 3
    # A short answer is the last page: nothing is kept after it.
    alone = queries._keep_next_page(first, msgspec.structs.replace(both, runs=both.runs[:2]), 3)
    assert len(alone.runs) == 2


async def test_a_read_ahead_gives_up_the_oldest_waiting_beyond_the_bound() -> None:
    queries = server()
    queries.asked_with_prefect = 1  # never quiet: every read-ahead waits
    keys = [f"page-{n}".encode() for n in range(history.READ_AHEADS_WAITING + 1)]
    turns = {}
    for key in keys:
        turns[key] = asyncio.create_task(queries._quiet(key))
        await asyncio.sleep(0)
    # One more than the bound waited: the oldest gave up, the others still wait.
    assert await asyncio.wait_for(turns[keys[0]], 1) == "given up"
    assert list(queries.wanted) == keys[1:]
    queries.asked_with_prefect = 0  # Prefect goes quiet: the others get their turn
    for key in keys[1:]:
        assert await asyncio.wait_for(turns[key], 1) == "quiet"
    assert not queries.wanted and not queries.dropped


async def test_an_oldest_read_ahead_asked_for_as_it_is_given_up_is_fetched() -> None:
    queries = server()
    queries.asked_with_prefect = 1
    keys = [f"page-{n}".encode() for n in range(history.READ_AHEADS_WAITING + 1)]
    turns = {}
    for key in keys:
        turns[key] = asyncio.create_task(queries._quiet(key))
        await asyncio.sleep(0)
        if key == keys[-1]:
            assert keys[0] in queries.dropped  # given up, not yet woken
            queries._want(keys[0])  # QueryServer._page: someone asks for that page
    assert await asyncio.wait_for(turns[keys[0]], 1) == "asked"
    queries.asked_with_prefect = 0
    await asyncio.wait_for(asyncio.gather(*turns.values()), 1)
