"""The leader lease against a real Redis: one holder at a time, renewal only by the holder,
a lost lease noticed at once (the takeover by real engines is in
tests/integration/test_leader_failover.py)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import redis

from engine.contract.keys import Keys
from engine.serve.leader import LEASE_SECONDS, SAFETY_SECONDS, LeaderLease, engine_name
from engine.stack.launcher import EmbeddedRedis


def test_names_are_unique_per_process_and_carry_host_and_pid() -> None:
    first, second = engine_name(), engine_name()
    assert first != second
    assert first.split(":")[:2] == second.split(":")[:2]


def test_one_holder_at_a_time_and_the_next_takes_over_after_release(
    redis_url: str, keys: Keys
) -> None:
    a = LeaderLease(redis_url, keys.leader, "a:1:x")
    b = LeaderLease(redis_url, keys.leader, "b:2:y")
    try:
        assert a.try_acquire()
        assert not b.try_acquire()
        assert a.holder() == b.holder() == "a:1:x"
        assert a.renew() and not b.renew()
        a.release()
        assert b.try_acquire() and b.holder() == "b:2:y"
    finally:
        a.close()
        b.close()


@contextlib.asynccontextmanager
async def holding_lease(redis_url: str, keys: Keys) -> AsyncIterator[asyncio.Task[None]]:
    """Takes the lease as engine `a:1:x` and holds it; yields the holding task."""
    lease = LeaderLease(redis_url, keys.leader, "a:1:x")
    try:
        assert lease.try_acquire()
        yield asyncio.create_task(lease.hold())
    finally:
        lease.close()


async def test_a_leader_whose_lease_was_taken_stops_holding_at_once(
    redis_url: str, keys: Keys, redis_client: redis.Redis
) -> None:
    async with holding_lease(redis_url, keys) as holding:
        await asyncio.sleep(0.2)
        assert not holding.done()
        # Another engine holds it now (as after an expiry the holder did not notice).
        redis_client.set(keys.leader, "b:2:y", px=int(LEASE_SECONDS * 1000))
        started = time.monotonic()
        await asyncio.wait_for(holding, LEASE_SECONDS)
        assert time.monotonic() - started < 2.5  # the next renewal, a second later, fails
        assert redis_client.get(keys.leader) == b"b:2:y"  # and it did not take it back


async def test_a_leader_that_cannot_reach_redis_stops_before_its_lease_expires(
    redis_url: str, keys: Keys, redis_client: redis.Redis
) -> None:
    async with holding_lease(redis_url, keys) as holding:
        # Redis answers no one (CLIENT PAUSE), as if cut off from this engine.
        redis_client.execute_command("CLIENT", "PAUSE", int(LEASE_SECONDS * 1000), "ALL")
        try:
            started = time.monotonic()
            await asyncio.wait_for(holding, LEASE_SECONDS + 2)
            stopped_after = time.monotonic() - started
            assert stopped_after <= LEASE_SECONDS - SAFETY_SECONDS + 0.5, stopped_after
        finally:
            redis_client.execute_command("CLIENT", "UNPAUSE")


def test_a_standby_says_once_that_redis_is_unreachable_and_once_that_it_is_back(
    tmp_path_factory: pytest.TempPathFactory, keys: Keys, caplog: pytest.LogCaptureFixture
) -> None:
    """A standby tries every second: an outage is one warning, not one per try."""
    server = EmbeddedRedis(Path(tmp_path_factory.mktemp("lease")))  # not started yet
    lease = LeaderLease(server.url, keys.leader, "standby:1:x")
    caplog.set_level(logging.INFO, logger="aiwf.engine.leader")
    assert [lease.try_acquire() for _ in range(3)] == [False] * 3
    server.start()
    try:
        assert lease.try_acquire()
    finally:
        lease.close()
        server.stop()
    said = [r.getMessage() for r in caplog.records if r.name == "aiwf.engine.leader"]
    assert len([m for m in said if m.startswith("cannot reach Redis")]) == 1, said
    assert said[-1] == "Redis reachable again for the leader lease", said
