"""A guard for the console's reconnect and follow loops against a swallowed cancellation."""

from __future__ import annotations

import asyncio

from textual.worker import NoActiveWorker, get_current_worker


def reraise_if_cancelled() -> None:
    """Raises CancelledError if the current task is being cancelled, or the Textual worker
    running it was.

    A reconnect loop catches `OSError` to retry, and `TimeoutError` is an `OSError`. On
    Python 3.11 a cancel that lands as a redis-py socket timeout expires comes out of
    `asyncio.timeout` as `TimeoutError`, so the loop retried forever and the app's exit (or a
    test's teardown) hung. Called first in such an `except`, the cancel goes on.

    The worker's flag covers a cancel that was lost below this code altogether: a feed
    worker whose app had exited went on reading for good, its task marked cancelling but
    awaiting a new XREAD (seen in CI at test teardown; where the cancel went is not known).
    Textual marks a worker cancelled before it cancels the task, so the flag outlives it.
    Follow loops call this once per read.
    """
    task = asyncio.current_task()
    cancelling = getattr(task, "cancelling", None)  # Python 3.11+
    if cancelling is not None and cancelling():
        raise asyncio.CancelledError
    try:
        worker = get_current_worker()
    except NoActiveWorker:
        return
    if worker.is_cancelled:
        raise asyncio.CancelledError
