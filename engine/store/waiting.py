"""Waiting with a time limit, and ending tasks, without losing a cancel.

On Python 3.10 and 3.11, `asyncio.wait_for` returns the awaited result instead of raising
CancelledError when the awaited thing finishes in the same loop turn as the cancel
(CPython gh-86296, fixed in 3.12 only). A loop that waits that way (the leader lease renews
itself every second through one) then carries on as if never cancelled, and the engine's
stop waited for it forever: under load, one stop in three hung so in a test. `within`
raises the cancel always; `end_tasks` bounds a stop even if a task ignores its cancel.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Collection
from typing import Any, TypeVar

T = TypeVar("T")


async def within(awaitable: Awaitable[T], seconds: float) -> T:
    """`asyncio.wait_for(awaitable, seconds)`: its result, or asyncio.TimeoutError once
    `seconds` passed (it is then cancelled and waited for); a cancel always propagates."""
    task = asyncio.ensure_future(awaitable)
    try:
        done, _ = await asyncio.wait({task}, timeout=seconds)
    except asyncio.CancelledError:
        task.cancel()
        raise
    if task in done:
        return task.result()
    task.cancel()
    # As wait_for: nothing it started still runs once this returns.
    await asyncio.wait({task})
    raise asyncio.TimeoutError  # not yet the builtin TimeoutError on Python 3.10


async def end_tasks(tasks: Collection[asyncio.Task[Any]], seconds: float) -> list[str]:
    """Cancels `tasks` and waits up to `seconds` for them to end, cancelling again each
    second those still running (a cancel one of them swallowed); returns the names of
    those that did not end."""
    left = {task for task in tasks if not task.done()}
    for task in left:
        task.cancel()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while left and loop.time() < deadline:
        _, pending = await asyncio.wait(left, timeout=min(1.0, deadline - loop.time()))
        left = set(pending)
        for task in left:
            task.cancel()
    for task in tasks:  # what they raised was theirs to say; retrieved, asyncio keeps quiet
        if task.done() and not task.cancelled():
            task.exception()
    return sorted(task.get_name() for task in left)
