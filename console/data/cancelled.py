"""A guard for the console's reconnect loops against a swallowed cancellation."""

from __future__ import annotations

import asyncio


def reraise_if_cancelled() -> None:
    """Raises CancelledError if the current task is being cancelled.

    A reconnect loop catches `OSError` to retry, and `TimeoutError` is an `OSError`. On
    Python 3.11 a cancel that lands as a redis-py socket timeout expires comes out of
    `asyncio.timeout` as `TimeoutError`, so the loop retried forever and the app's exit (or a
    test's teardown) hung. Called first in such an `except`, the cancel goes on.
    """
    task = asyncio.current_task()
    cancelling = getattr(task, "cancelling", None)  # Python 3.11+
    if cancelling is not None and cancelling():
        raise asyncio.CancelledError
