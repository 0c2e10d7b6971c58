"""The real engine given a Redis URL and a Prefect API URL with passwords (issue 9 item 6):
it connects and serves, and neither password appears in its log or in the heartbeat and
engine_info documents the console shows."""

from __future__ import annotations

from typing import Any

import pytest
import redis

from engine.contract.command_client import CommandClient
from engine.contract.keys import Keys
from engine.stack.launcher import EmbeddedStack
from tests.integration.conftest import send_and_wait
from tests.secret_urls import PASSWORD, password_url

pytestmark = pytest.mark.integration

PREFECT_PASSWORD = "pf-s3cret-Zk2"


def test_the_engine_never_logs_or_publishes_a_password(
    stack: EmbeddedStack, stack_redis: redis.Redis, stack_keys: Keys
) -> None:
    engine = stack.engine
    assert engine is not None
    plain_redis, plain_api = engine.redis_url, engine.api_url
    engine.stop()
    log_start = engine.log_path.stat().st_size
    engine.redis_url = password_url(stack_redis, plain_redis)
    engine.api_url = plain_api.replace("http://", f"http://operator:{PREFECT_PASSWORD}@", 1)
    try:
        assert engine.start()
        client = redis.Redis.from_url(engine.redis_url)
        result = send_and_wait(CommandClient(client, stack_keys), "pause", "ai-inference-canary")
        assert result.ok, result.message
        send_and_wait(CommandClient(client, stack_keys), "resume", "ai-inference-canary")
        # What the console reads about the engine: the API URL shown, its password not.
        for key in (stack_keys.engine_info, stack_keys.heartbeat):
            published: Any = stack_redis.get(key)
            assert b"operator:***@" in published, (key, published)
            assert PREFECT_PASSWORD.encode() not in published and PASSWORD.encode() not in published
    finally:
        engine.stop()
        engine.redis_url, engine.api_url = plain_redis, plain_api
        engine.start()
    log = engine.log_path.read_bytes()[log_start:].decode(errors="replace")
    assert "engine starting: Redis unix://tester-" in log and ":***@" in log, log[-2000:]
    assert PASSWORD not in log and PREFECT_PASSWORD not in log
