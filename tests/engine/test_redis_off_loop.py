"""The engine's asyncio loop keeps running while Redis is slow, and its Redis calls keep
their order.

Redis is made slow for real: `CLIENT PAUSE` on the embedded server stops answering every
client for PAUSE_MS. Meanwhile a ticker on the loop notes how long each of its 10 ms
sleeps really took. Had the engine called Redis on the loop (as it did before
engine/store/off_loop.py), one tick would take the whole pause.
"""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
import redis
from prefect.client.schemas.objects import Log

from engine.bridge.prefect_to_redis import Bridge
from engine.commands.executor import CommandExecutor
from engine.config.registry import Registry
from engine.contract.command_client import ensure_group
from engine.contract.commands import Command
from engine.contract.identity import Identity
from engine.contract.keys import ENGINE_GROUP, Keys
from engine.contract.pause_window import AutoResumeStore
from engine.serve.auto_resume import AutoResumer
from engine.store.off_loop import EngineStore

PAUSE_MS = 1_500
TICK_SECONDS = 0.01
LONGEST_TICK_SECONDS = 0.5
"""Far below the pause, far above a tick on a loaded 2-core machine."""
NO_PREFECT: Any = None


@pytest.fixture
def store(redis_client: redis.Redis, keys: Keys) -> Iterator[EngineStore]:
    store = EngineStore.over(redis_client, keys)
    yield store
    store.call.close()


async def while_redis_is_paused(
    redis_url: str, work: Callable[[], Awaitable[Any]]
) -> tuple[Any, float, float]:
    """Runs `work` on the loop while Redis is paused; (its result, how long it took, the
    longest tick the loop made meanwhile)."""
    pauser = redis.Redis.from_url(redis_url)
    ticks: list[float] = []

    async def ticker() -> None:
        while True:
            ticks.append(time.monotonic())
            await asyncio.sleep(TICK_SECONDS)

    ticking = asyncio.create_task(ticker())
    await asyncio.sleep(TICK_SECONDS * 3)
    try:
        pauser.execute_command("CLIENT", "PAUSE", PAUSE_MS, "ALL")
        started = time.monotonic()
        result = await work()
        took = time.monotonic() - started
        # Let the ticker note when the loop got back to it: a loop blocked by `work` made
        # no tick during it, and this one closes the gap.
        await asyncio.sleep(TICK_SECONDS * 3)
    finally:
        ticking.cancel()
        pauser.close()
    gaps = [b - a for a, b in itertools.pairwise(ticks)]
    return result, took, max(gaps)


def assert_loop_ticked(took: float, longest_tick: float) -> None:
    # The work did wait for Redis (else the pause tested nothing) ...
    assert took >= PAUSE_MS / 1000 * 0.8, f"the work took {took:.2f}s: Redis was not paused"
    # ... and the loop kept running while it waited.
    assert longest_tick < LONGEST_TICK_SECONDS, (
        f"the loop stalled {longest_tick:.2f}s while Redis was paused"
    )


async def test_an_auto_resume_check_waits_for_redis_off_the_loop(
    store: EngineStore, redis_client: redis.Redis, redis_url: str, keys: Keys
) -> None:
    windows = AutoResumeStore(redis_client, keys)
    windows.set("gone", datetime.now(timezone.utc) - timedelta(seconds=1))
    changed: list[str] = []
    resumer = AutoResumer(store, Registry(), changed.append)

    results, took, longest = await while_redis_is_paused(
        redis_url, lambda: resumer.resume_due(NO_PREFECT)
    )

    assert_loop_ticked(took, longest)
    assert [r.status for r in results] == ["error"] and changed == ["gone"]
    assert windows.when("gone") is None
    audit: Any = redis_client.xrange(keys.audit)
    assert [fields[b"target"] for _, fields in audit] == [b"gone"]


async def test_a_command_is_acknowledged_off_the_loop(
    store: EngineStore, redis_client: redis.Redis, redis_url: str, keys: Keys
) -> None:
    ensure_group(redis_client, keys)
    command = Command("resume", "ai-inference-prod", identity=Identity("ana", "ops", ""))
    redis_client.xadd(keys.commands, command.to_fields())  # type: ignore[arg-type]
    # Answered before (a redelivery): the executor only checks and acknowledges it.
    redis_client.set(keys.result(command.id), "{}")
    reply: Any = redis_client.xreadgroup(ENGINE_GROUP, "test", {keys.commands: ">"}, count=1)
    [(_stream, [(entry_id, raw)])] = reply
    fields = {k.decode(): v.decode() for k, v in raw.items()}

    async def unused(*_args: Any) -> None:
        raise AssertionError("a redelivered command ran again")

    executor = CommandExecutor(store, Registry(), unused, lambda _name: None)
    _, took, longest = await while_redis_is_paused(
        redis_url, lambda: executor.handle(NO_PREFECT, entry_id, fields)
    )

    assert_loop_ticked(took, longest)
    assert redis_client.xpending(keys.commands, ENGINE_GROUP)["pending"] == 0


async def test_log_lines_are_mirrored_off_the_loop(store: EngineStore, redis_url: str) -> None:
    bridge = Bridge(store, Registry(), lambda _name: None)
    run_id = uuid.uuid4()
    lines = [
        Log(
            id=uuid.uuid4(),
            name="prefect.flow_runs",
            level=20,
            message=f"line {i}",
            timestamp=datetime.now(timezone.utc),  # type: ignore[arg-type]
            flow_run_id=run_id,
        )
        for i in range(3)
    ]

    written, took, longest = await while_redis_is_paused(
        redis_url, lambda: bridge.append_logs(str(run_id), lines)
    )

    assert_loop_ticked(took, longest)
    assert written == 3
    stored: Any = store.client.xrange(store.keys.logs(str(run_id)))
    assert [fields[b"msg"] for _, fields in stored] == [b"line 0", b"line 1", b"line 2"]


async def test_calls_from_many_tasks_run_in_the_order_they_were_asked(
    store: EngineStore, redis_client: redis.Redis, keys: Keys
) -> None:
    key = f"{keys.prefix}:order"
    # Each task asks as soon as it runs, so they ask in creation order; a pool of threads
    # could run them in any order.
    tasks = [asyncio.create_task(store.call(redis_client.rpush, key, i)) for i in range(200)]
    await asyncio.gather(*tasks)
    assert [int(v) for v in redis_client.lrange(key, 0, -1)] == list(range(200))
