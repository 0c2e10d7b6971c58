"""The console's one reconnect policy (console/data/connection.py): the waits between
attempts, what it reports, when it resets, and that a cancel still ends it."""

from __future__ import annotations

import asyncio
import sys
import time
from itertools import pairwise
from pathlib import Path

import pytest
import redis.exceptions

from console.data.connection import Link, async_client, keep_following
from engine.contract.reconnect import RECONNECT_FIRST, RECONNECT_MAX, reconnect_backoff

Reports = list[tuple[bool, str]]


def test_the_waits_double_from_the_first_to_the_longest() -> None:
    backoff = reconnect_backoff()
    waits = [backoff.compute(failures) for failures in range(6)]
    assert waits == [RECONNECT_FIRST, 1.0, 2.0, 4.0, RECONNECT_MAX, RECONNECT_MAX]


async def test_each_failure_is_reported_and_waited_out_until_the_session_is_up() -> None:
    reports: Reports = []
    closes: list[float] = []
    up = asyncio.Event()
    attempts = 0

    async def session(link: Link) -> None:
        nonlocal attempts
        attempts += 1
        if attempts <= 2:
            raise redis.exceptions.ConnectionError(f"refused {attempts}\nsecond line")
        link.up()
        up.set()
        await asyncio.Event().wait()  # reads until cancelled

    async def close() -> None:
        closes.append(time.monotonic())

    started = time.monotonic()
    task = asyncio.create_task(keep_following(session, close, lambda *r: reports.append(r)))
    await asyncio.wait_for(up.wait(), timeout=10)
    took = time.monotonic() - started
    task.cancel()
    done, _ = await asyncio.wait({task}, timeout=5)
    assert task in done and task.cancelled()
    assert reports == [(False, "refused 1"), (False, "refused 2"), (True, "")]
    assert took >= RECONNECT_FIRST + 2 * RECONNECT_FIRST - 0.05, "the backoff was not waited"
    assert len(closes) == 3, "closed after each failure and at the end"


async def test_up_resets_the_backoff_to_the_first_wait() -> None:
    starts: list[float] = []
    done = asyncio.Event()

    async def session(link: Link) -> None:
        starts.append(time.monotonic())
        if len(starts) in (2, 4):
            link.up()
        if len(starts) == 4:
            done.set()
            await asyncio.Event().wait()
        raise OSError("gone")

    async def close() -> None:
        pass

    task = asyncio.create_task(keep_following(session, close, lambda *r: None))
    await asyncio.wait_for(done.wait(), timeout=10)
    task.cancel()
    await asyncio.wait({task}, timeout=5)
    gaps = [later - earlier for earlier, later in pairwise(starts)]
    assert gaps[0] >= RECONNECT_FIRST - 0.05
    assert gaps[1] < 2 * RECONNECT_FIRST - 0.1, f"not reset by up(): {gaps}"
    assert gaps[2] >= 2 * RECONNECT_FIRST - 0.05, f"the second failure waits longer: {gaps}"


@pytest.mark.skipif(sys.version_info < (3, 11), reason="Task.cancelling is 3.11+")
async def test_a_cancel_that_comes_out_as_a_timeout_ends_the_loop() -> None:
    attempts: list[int] = []
    reading = asyncio.Event()

    async def session(link: Link) -> None:
        attempts.append(1)
        reading.set()
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            # What asyncio.timeout does on 3.11 when a cancel meets a socket timeout.
            raise TimeoutError("read timed out") from None

    async def close() -> None:
        pass

    task = asyncio.create_task(keep_following(session, close, lambda *r: None))
    await asyncio.wait_for(reading.wait(), timeout=5)
    task.cancel()
    done, _ = await asyncio.wait({task}, timeout=2)
    assert task in done and task.cancelled(), "the loop swallowed the cancel"
    assert attempts == [1]


async def test_a_real_unreachable_redis_is_one_failure_per_attempt(tmp_path: Path) -> None:
    """No client-side retry hides a failure from the loop (the status line says it at once)."""
    client = async_client(f"unix://{tmp_path / 'nothing.sock'}", block_ms=100)
    reports: Reports = []
    failed_twice = asyncio.Event()

    async def session(link: Link) -> None:
        await client.ping()

    def report(connected: bool, reason: str) -> None:
        reports.append((connected, reason))
        if len(reports) == 2:
            failed_twice.set()

    started = time.monotonic()
    task = asyncio.create_task(keep_following(session, client.aclose, report))
    await asyncio.wait_for(failed_twice.wait(), timeout=10)
    took = time.monotonic() - started
    task.cancel()
    await asyncio.wait({task}, timeout=5)
    assert [connected for connected, _ in reports] == [False, False]
    assert all(reason for _, reason in reports), reports
    # First failure at once, the second after the first wait: no retries in between.
    assert took < RECONNECT_FIRST + 1.5, took
