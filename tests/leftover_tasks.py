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
            report.write(f"{task!r}\n{await_chain(task)}\n")
        # Cancel again so the loop can close; the test still fails with the stacks.
        for task in alive:
            task.cancel()
        loop.run_until_complete(asyncio.wait(alive, timeout=GRACE_SECONDS))
        raise LeftoverTasksHung(
            f"{len(alive)} task(s) ignored cancellation for {GRACE_SECONDS:.0f} s:\n"
            + report.getvalue()
        )
    _original_reporting(loop, done)


def await_chain(task: asyncio.Task[Any]) -> str:
    """Every frame the task's coroutine is suspended in, outermost first (Task.print_stack
    shows only the outermost), down to the awaited future."""
    lines = []
    awaiting: Any = task.get_coro()
    while awaiting is not None:
        frame = getattr(awaiting, "cr_frame", None) or getattr(awaiting, "gi_frame", None)
        if frame is not None:
            code = frame.f_code
            lines.append(f"  {code.co_filename}:{frame.f_lineno} in {code.co_name}")
        inner = getattr(awaiting, "cr_await", None) or getattr(awaiting, "gi_yieldfrom", None)
        if inner is None:
            lines.append(f"  awaiting {awaiting!r}")
        awaiting = inner
    return "\n".join(lines)


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
