"""The leader lease: one engine at a time bridges, consumes commands and resumes schedules.

A redis-py `Lock` (SET NX PX with this engine's name as its token, extended only by the
holder) on `{p}:engine:leader`. Every engine tries to take it; the others wait as standbys
and take it within LEASE_SECONDS + ACQUIRE_POLL_SECONDS of the leader's death. A leader that
cannot renew it stops leading before it can expire, so two never lead at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

import redis
from redis.exceptions import LockError

from engine.commands.claims import consumer_name
from engine.store.waiting import within

logger = logging.getLogger("aiwf.engine.leader")

LEASE_SECONDS = 5.0
"""The lease expires this long after the leader's last renewal."""
RENEW_SECONDS = 1.0
"""How often the leader renews it."""
ACQUIRE_POLL_SECONDS = 1.0
"""How often a standby tries to take it."""
SAFETY_SECONDS = 1.5
"""A leader that could not renew stops this long before its lease could have expired."""
REDIS_TIMEOUT_SECONDS = 1.0
"""Socket timeout of the lease's own connection, so a lost Redis is noticed in time."""


def engine_name() -> str:
    """host:pid:random: unique per process, the lease token and the consumer name."""
    return consumer_name()


class LeaderLease:
    """Takes, renews and releases the lease over a connection of its own."""

    def __init__(self, redis_url: str, key: str, name: str) -> None:
        self.name = name
        self.client = redis.Redis.from_url(
            redis_url,
            socket_timeout=REDIS_TIMEOUT_SECONDS,
            socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
        )
        self.lock = self.client.lock(key, timeout=LEASE_SECONDS, thread_local=False)
        self.valid_until = 0.0
        """Monotonic time until which this engine may act as leader."""
        self.unreachable = False
        """The last try could not reach Redis (said once, not at every try)."""

    def try_acquire(self) -> bool:
        started = time.monotonic()
        try:
            taken = bool(self.lock.acquire(blocking=False, token=self.name))
        except redis.RedisError as exc:
            # A standby tries every second; an outage is one warning, not one a second.
            if not self.unreachable:
                logger.warning("cannot reach Redis to take the leader lease: %s", exc)
            self.unreachable = True
            return False
        if self.unreachable:
            logger.info("Redis reachable again for the leader lease")
            self.unreachable = False
        if taken:
            self.valid_until = started + LEASE_SECONDS - SAFETY_SECONDS
        return taken

    def renew(self) -> bool:
        """False once the lease is lost (taken by another, or not renewable in time)."""
        started = time.monotonic()
        try:
            self.lock.reacquire()
        except LockError as exc:  # LockNotOwnedError: it expired and maybe another took it
            logger.error("leader lease lost: %s", exc)
            return False
        except redis.RedisError as exc:
            logger.warning("could not renew the leader lease: %s", exc)
            return time.monotonic() < self.valid_until
        self.valid_until = started + LEASE_SECONDS - SAFETY_SECONDS
        return True

    async def hold(self) -> None:
        """Renews the lease; returns as soon as it is lost or could not be renewed in time."""
        while True:
            await asyncio.sleep(max(0.0, min(RENEW_SECONDS, self.valid_until - time.monotonic())))
            remaining = self.valid_until - time.monotonic()
            try:
                kept = remaining > 0 and await within(asyncio.to_thread(self.renew), remaining)
            except asyncio.TimeoutError:
                kept = False
            if not kept:
                logger.error("leader lease lost or not renewed in time; stopping leader jobs")
                return

    def holder(self) -> str:
        """The leader's name, "" if none (or Redis is unreachable)."""
        try:
            raw = self.client.get(self.lock.name)
        except redis.RedisError:
            return ""
        return raw.decode() if isinstance(raw, bytes) else ""

    def release(self) -> None:
        # Not ours any more, or Redis is gone: it expires on its own.
        with contextlib.suppress(LockError, redis.RedisError):
            self.lock.release()

    def close(self) -> None:
        self.client.close()
