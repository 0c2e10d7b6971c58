"""Commands run side by side, at most a few at once, and in arrival order per target."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

MAX_CONCURRENT_COMMANDS = 4
"""Commands carried out at once: one slow Prefect call no longer holds up the rest."""


class TargetQueue:
    """Runs jobs with bounded concurrency; jobs for one target run one after another, in
    the order they were submitted (a pause then a resume of one deployment stay in order)."""

    def __init__(self, limit: int = MAX_CONCURRENT_COMMANDS) -> None:
        self._slots = asyncio.Semaphore(limit)
        self._last: dict[str, asyncio.Task[None]] = {}
        """The latest job per target: the next one for that target waits for it."""
        self.running: set[asyncio.Task[None]] = set()

    def submit(self, target: str, job: Callable[[], Awaitable[None]]) -> asyncio.Task[None]:
        before = self._last.get(target)

        async def ordered() -> None:
            if before is not None:
                await asyncio.gather(before, return_exceptions=True)
            async with self._slots:
                await job()

        task = asyncio.create_task(ordered())
        self._last[target] = task
        self.running.add(task)

        def done(_: asyncio.Task[None]) -> None:
            self.running.discard(task)
            if self._last.get(target) is task:
                del self._last[target]

        task.add_done_callback(done)
        return task

    def __len__(self) -> int:
        return len(self.running)

    async def wait_below(self, count: int) -> None:
        """Waits until fewer than `count` jobs are queued or running (reads stay bounded)."""
        while len(self.running) >= count:
            await asyncio.wait(set(self.running), return_when=asyncio.FIRST_COMPLETED)

    async def cancel_all(self) -> None:
        for task in list(self.running):
            task.cancel()
        await asyncio.gather(*self.running, return_exceptions=True)
