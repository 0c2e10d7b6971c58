"""The end of `aiwf-engine run` when Redis or Prefect no longer answers.

The engine reads Redis in worker threads (redis-py's blocking client: XREADGROUP for
commands, XREAD for the audit copy). When the host's network goes, or Redis hangs, each
such read waits out its socket timeout and redis-py's Retry then reconnects, tens of
seconds in all. `asyncio.run` joins those threads when its coroutine ends, and so does the
interpreter at exit, so a stop asked during a partition ended in the launcher's (or
systemd's) SIGKILL. Here the loop ends without waiting for its threads, and the process
waits for them only `JOIN_SECONDS`: what they would still write is gone anyway (the audit
file is written before Redis; an unanswered command stays pending for the next leader).
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import threading
import time
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")

logger = logging.getLogger("aiwf.engine")

JOIN_SECONDS = 3.0
"""How long the process waits for threads still busy once the engine stopped."""
WORKER_PREFIXES = ("asyncio", "aiwf-redis")
"""The engine's own worker threads (its loop's executor, engine/store/off_loop.py's): the
only ones waited for here. Libraries' threads (Prefect's loop thread) end their own way."""


def run_without_joining(main: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run(main)`, except that the default executor's threads are not joined."""
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)  # as asyncio.run: libraries asking for "the" loop get it
    executor = ThreadPoolExecutor(thread_name_prefix=WORKER_PREFIXES[0])
    loop.set_default_executor(executor)
    try:
        return loop.run_until_complete(main)
    finally:
        try:
            left = asyncio.all_tasks(loop)
            for task in left:
                task.cancel()
            if left:
                loop.run_until_complete(asyncio.gather(*left, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
        finally:
            executor.shutdown(wait=False, cancel_futures=True)
            asyncio.set_event_loop(None)
            loop.close()


def exit_unless_threads_finish(code: int, seconds: float = JOIN_SECONDS) -> None:
    """Returns once the engine's worker threads have ended; if some are still blocked
    after `seconds`, says which and ends the process with `code` without them."""
    deadline = time.monotonic() + seconds
    for thread in _workers():
        thread.join(max(0.0, deadline - time.monotonic()))
    stuck = [thread.name for thread in _workers() if thread.is_alive()]
    if not stuck:
        return
    logger.warning(
        "%d thread(s) still wait on Redis or Prefect (%s); exiting without them",
        len(stuck),
        ", ".join(stuck),
    )
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _workers() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith(WORKER_PREFIXES)]
