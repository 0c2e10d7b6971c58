"""engine/store/waiting.py: a time limit that never loses a cancel, and a bounded stop.

The first test is the race that hung one engine stop in three under load: the awaited
thing finishes in the same loop turn as the cancel. `asyncio.wait_for` on Python 3.10 and
3.11 returns its result then; `within` must raise the cancel.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from engine.store.waiting import end_tasks, within

Waiter = Callable[[Awaitable[Any], float], Awaitable[Any]]


async def cancel_as_it_finishes(wait: Waiter) -> asyncio.Task[Any]:
    """A task waiting through `wait` on a future that is resolved and the task cancelled
    in one loop turn; returns the task once it ended."""
    loop = asyncio.get_running_loop()
    awaited: asyncio.Future[str] = loop.create_future()
    task = asyncio.ensure_future(wait(awaited, 10.0))
    await asyncio.sleep(0)  # it waits now
    awaited.set_result("renewed")
    task.cancel()
    await asyncio.wait({task})
    return task


async def test_a_cancel_as_the_awaited_thing_finishes_is_raised() -> None:
    task = await cancel_as_it_finishes(within)
    assert task.cancelled()


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="wait_for keeps the cancel from 3.12")
async def test_wait_for_here_loses_that_cancel() -> None:
    # Why `within` exists: if this starts failing, this Python's wait_for was fixed.
    task = await cancel_as_it_finishes(asyncio.wait_for)
    assert not task.cancelled() and task.result() == "renewed"


async def test_the_result_comes_back_in_time_and_a_late_one_is_a_timeout() -> None:
    assert await within(asyncio.sleep(0, "done"), 1.0) == "done"
    ended = asyncio.Event()

    async def slow() -> None:
        try:
            await asyncio.sleep(60)
        finally:
            ended.set()

    with pytest.raises(asyncio.TimeoutError):
        await within(slow(), 0.05)
    assert ended.is_set(), "the late awaitable still runs after the timeout"


async def test_end_tasks_cancels_again_and_names_the_one_that_never_ends() -> None:
    swallowed = asyncio.Event()

    async def swallows_one_cancel() -> None:
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            swallowed.set()
        await asyncio.sleep(60)

    release = asyncio.Event()

    async def never_ends() -> None:
        while not release.is_set():
            try:
                await asyncio.sleep(60)
            except asyncio.CancelledError:
                continue

    async def fails() -> None:
        raise RuntimeError("its own error")

    tasks = [
        asyncio.create_task(swallows_one_cancel(), name="swallows"),
        asyncio.create_task(never_ends(), name="stubborn"),
        asyncio.create_task(asyncio.sleep(60), name="plain"),
        asyncio.create_task(fails(), name="fails"),
    ]
    await asyncio.sleep(0)
    assert await end_tasks(tasks, 1.5) == ["stubborn"]
    assert swallowed.is_set()
    assert tasks[0].cancelled() and tasks[2].cancelled()
    assert isinstance(tasks[3].exception(), RuntimeError)
    release.set()  # the test's own cleanup: now it may end
    tasks[1].cancel()
    await asyncio.wait({tasks[1]})
