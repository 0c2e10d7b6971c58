"""The console load test for 5 minutes: the real ConsoleApp and 50 plain readers while the
mirror writes 200 flow-run state changes a second over 1,000 runs (issue 9 item 8; the
30-second version is tests/console/test_load.py, in the suite)."""

from __future__ import annotations

import asyncio

import pytest
import redis

from console.app import ConsoleApp
from engine.contract.keys import Keys
from engine.stack.launcher import EmbeddedRedis
from tests.console.conftest import NOW
from tests.console.test_load import check_load

pytestmark = pytest.mark.bench

MINUTES = 5


def test_the_console_keeps_up_for_five_minutes(
    redis_server: EmbeddedRedis, redis_client: redis.Redis, keys: Keys
) -> None:
    """Goal: the store matches Redis within 1 s of the last write, the store's lag p95
    <= 1 s, no plain reader ever more than 1 s behind."""
    app = ConsoleApp(redis_server.url, keys, now=lambda: NOW, heartbeat_interval=0.2)
    print(asyncio.run(check_load(app, redis_server.url, redis_client, keys, MINUTES * 60)))
