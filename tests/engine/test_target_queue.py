"""The executor's queue: a few commands at once, in submission order per target."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from engine.commands.target_queue import TargetQueue


async def test_jobs_for_one_target_run_in_order_and_others_pass_a_slow_one() -> None:
    queue = TargetQueue(limit=4)
    finished: list[str] = []
    release = asyncio.Event()

    def job(name: str, wait: asyncio.Event | None = None) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            if wait is not None:
                await wait.wait()
            finished.append(name)

        return run

    queue.submit("prod", job("prod-1", release))
    queue.submit("prod", job("prod-2"))
    other = queue.submit("canary", job("canary-1"))
    await asyncio.wait_for(other, 2)
    assert finished == ["canary-1"]  # not stuck behind the slow prod job
    release.set()
    await queue.wait_below(1)
    assert finished == ["canary-1", "prod-1", "prod-2"]


async def test_at_most_limit_jobs_run_at_once_and_a_failed_one_does_not_block_its_target() -> None:
    queue = TargetQueue(limit=2)
    running = 0
    most = 0
    done: list[int] = []

    def job(n: int) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            nonlocal running, most
            running += 1
            most = max(most, running)
            await asyncio.sleep(0.01)
            running -= 1
            if n == 0:
                raise RuntimeError("boom")
            done.append(n)

        return run

    for n in range(8):
        queue.submit(f"t{n % 4}", job(n))
    await queue.wait_below(1)
    assert most == 2
    assert sorted(done) == list(range(1, 8))
    assert 4 in done  # t0's second job ran after its first one failed
    assert len(queue) == 0
