"""Turns a test whose leftover asyncio tasks ignore cancellation into a quick, named failure.

When a test's event loop closes, asyncio cancels the tasks still pending and waits for them
with no limit. A task that swallows its cancel (a reconnect loop retrying on the
`TimeoutError` a cancel can turn into) then hangs the teardown until pytest-timeout's 300 s,
and the report shows only the selector's wait, not the task. This wrapper waits a bounded
time and prints the stacks of the tasks still alive, so the culprit is named.
"""

from __future__ import annotations

import asyncio
import asyncio.runners
import io
from typing import Any

GRACE_SECONDS = 20.0
"""How long cancelled leftovers get to finish: far above any close or disconnect."""


class LeftoverTasksHung(AssertionError):
    """Leftover tasks did not end within GRACE_SECONDS of being cancelled."""


def _cancel_all_tasks_bounded(loop: asyncio.AbstractEventLoop) -> None:
    pending = asyncio.all_tasks(loop)
    if not pending:
        return
    for task in pending:
        task.cancel()
    done, alive = loop.run_until_complete(asyncio.wait(pending, timeout=GRACE_SECONDS))
    if alive:
        report = io.StringIO()
        for task in alive:
            task.print_stack(file=report)
        # Cancel again so the loop can close; the test still fails with the stacks.
        for task in alive:
            task.cancel()
        loop.run_until_complete(asyncio.wait(alive, timeout=GRACE_SECONDS))
        raise LeftoverTasksHung(
            f"{len(alive)} task(s) ignored cancellation for {GRACE_SECONDS:.0f} s:\n"
            + report.getvalue()
        )
    _original_reporting(loop, done)


def _original_reporting(loop: asyncio.AbstractEventLoop, done: set[Any]) -> None:
    """What asyncio does after the wait: reports exceptions the leftovers ended with."""
    for task in done:
        if task.cancelled() or task.exception() is None:
            continue
        loop.call_exception_handler(
            {
                "message": "unhandled exception during asyncio.run() shutdown",
                "exception": task.exception(),
                "task": task,
            }
        )


def install() -> None:
    asyncio.runners._cancel_all_tasks = _cancel_all_tasks_bounded  # type: ignore[attr-defined]
