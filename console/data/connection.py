"""The console's Redis connections: how every client is opened, and the one reconnect policy.

Every reader (the feed, the audit and log followers, one-shot reads of task runs, writers and
outputs) gets its asyncio client from `async_client`; the command sender gets its blocking
one from `sync_client`. The waits between reconnect attempts are redis-py's own
`ExponentialBackoff` with the contract's constants (`engine.contract.reconnect`, which the
engine's loops use too), for every loop.

redis-py's `Retry` is turned off on purpose (`NO_RETRY`): the follow loops are the retry, and
they must see each failure, to put it on the status line at once and to stop when their task
is cancelled (a `Retry` inside the client would sleep and re-send across a cancel that came
out as a socket timeout, see `console.data.cancelled`). A command's XADD must not be resent
either: a lost reply would queue it twice.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

import redis
import redis.asyncio as aioredis
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from redis.retry import Retry

from console.data.cancelled import reraise_if_cancelled
from engine.contract.reconnect import reconnect_backoff
from engine.contract.redact import redact_text

CONNECT_TIMEOUT = 3.0
"""Seconds to open a connection before calling Redis unreachable."""
READ_MARGIN = 5.0
"""Seconds an asyncio client waits for a reply beyond its longest XREAD BLOCK."""
COMMAND_SOCKET_TIMEOUT = 10.0
"""Seconds the command sender waits for a reply (its BLMOVE waits at most 1 s)."""

NO_RETRY = Retry(NoBackoff(), 0)
"""redis-py's own retry, off: see the module docstring."""


def async_client(url: str, block_ms: int) -> aioredis.Redis:
    """An asyncio client returning str, for reads whose longest XREAD BLOCK is `block_ms`."""
    return aioredis.Redis.from_url(
        url,
        decode_responses=True,
        socket_connect_timeout=CONNECT_TIMEOUT,
        socket_timeout=block_ms / 1000 + READ_MARGIN,
        retry=AsyncRetry(NoBackoff(), 0),
    )


def sync_client(url: str) -> redis.Redis:
    """A blocking client for the command sender's thread."""
    return redis.Redis.from_url(
        url,
        socket_connect_timeout=CONNECT_TIMEOUT,
        socket_timeout=COMMAND_SOCKET_TIMEOUT,
        retry=NO_RETRY,
    )


def describe_error(exc: BaseException) -> str:
    """A one-line reason for the status bar, without the traceback."""
    text = redact_text(str(exc)).strip() or type(exc).__name__
    return text.splitlines()[0]


CLOSE_SECONDS = 2.0
"""The most a following session's last disconnect may take."""

StateReport = Callable[[bool, str], None]
"""Told (True, "") once a session is caught up, (False, reason) each time it fails."""


class Link:
    """One reconnecting session's side of the policy: a session calls `up()` once it has
    caught up, which reports it connected and resets the backoff."""

    def __init__(self, report: StateReport) -> None:
        self._report = report
        self._backoff = reconnect_backoff()
        self.failures = 0
        """Failed attempts since the last `up()`."""

    def up(self) -> None:
        self.failures = 0
        self._report(True, "")

    def failed(self, exc: BaseException) -> None:
        self._report(False, describe_error(exc))

    async def wait(self) -> None:
        """Waits out the backoff before the next attempt."""
        wait = self._backoff.compute(self.failures)
        self.failures += 1
        await asyncio.sleep(wait)


async def keep_following(
    session: Callable[[Link], Awaitable[None]],
    close: Callable[[], Awaitable[None]],
    report: StateReport,
) -> None:
    """Runs `session` again after every Redis error, with the one backoff, until cancelled.

    Args:
        session: reads until it fails; calls `link.up()` once caught up.
        close: drops the connection (after each failure and at the end); the next
            session's first command opens a new one.
        report: where the connection state goes (the status line, a screen's title).
    """
    link = Link(report)
    try:
        while True:
            try:
                await session(link)
            except (RedisError, OSError) as exc:
                # TimeoutError is an OSError: a cancel that came out as one must end the loop.
                reraise_if_cancelled()
                link.failed(exc)
                await close()
                await link.wait()
    finally:
        # Bounded: this runs while the task is being cancelled (the app quitting), and a
        # disconnect that never completes would keep the task, and the app's exit, waiting.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(close(), CLOSE_SECONDS)
