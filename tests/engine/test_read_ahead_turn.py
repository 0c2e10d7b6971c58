"""When a read-ahead may ask Prefect (engine/bridge/history.py `QueryServer._quiet`): never
beside a page someone waits for, at once when someone asks for the page it would fetch, and
not at all if Prefect is never quiet. Pure logic: no Redis or Prefect is reached."""

from __future__ import annotations

import asyncio

import pytest

from engine.bridge import history
from engine.bridge.history import READ_AHEAD_QUIET_SECONDS, QueryServer
from engine.config.registry import Registry
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
    queries.wanted[b"next"].set()  # as QueryServer._page does when the page is asked
    assert await asyncio.wait_for(turn, 1) == "asked"


async def test_a_read_ahead_never_given_a_quiet_moment_is_dropped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(history, "PREFETCH_SECONDS", 0.1)
    queries = server()
    queries.asked_with_prefect = 1
    assert await asyncio.wait_for(queries._quiet(b"next"), 2) == "given up"
