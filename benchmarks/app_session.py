"""A `ConsoleApp` under `run_test` that stays open between benchmark rounds.

pytest-benchmark times synchronous calls, while the app lives in an event loop. An
`asyncio.Runner` keeps one loop and one context across calls (Textual's `run_test` sets
context variables on entry and resets them on exit, which must happen in the same
context), so a round is `session.run(coroutine)` and the app is frozen between rounds.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from contextlib import AbstractAsyncContextManager
from typing import Any, TypeVar

from textual.pilot import Pilot

from console.app import ConsoleApp

T = TypeVar("T")


class AppSession:
    """Opens `make()`'s app on `open()`, closes it on `close()`; `run` drives the loop."""

    def __init__(self, make: Callable[[], ConsoleApp], size: tuple[int, int] = (120, 40)) -> None:
        self.runner = asyncio.Runner()
        self.make = make
        self.size = size
        self.app: ConsoleApp | None = None
        self._context: AbstractAsyncContextManager[Pilot[Any]] | None = None

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return self.runner.run(coroutine)

    async def open_async(self) -> ConsoleApp:
        self.app = self.make()
        self._context = self.app.run_test(size=self.size)
        await self._context.__aenter__()
        return self.app

    def open(self) -> ConsoleApp:
        return self.run(self.open_async())

    def close(self) -> None:
        if self._context is not None:
            self.run(self._context.__aexit__(None, None, None))
            self._context = None
        self.runner.close()
