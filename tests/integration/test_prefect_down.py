"""Prefect stopped under a running engine: commands fail fast, naming Prefect (issue 9)."""

from __future__ import annotations

import time

import pytest
import redis

from engine.contract.command_client import CommandClient
from engine.contract.keys import Keys
from engine.stack.launcher import EmbeddedStack
from tests.integration.conftest import send_and_wait, wait_for

pytestmark = pytest.mark.integration

PROD = "ai-inference-prod"


def test_prefect_down_fails_commands_within_10s_naming_it_and_others_still_complete(
    stack: EmbeddedStack, stack_redis: redis.Redis, stack_keys: Keys
) -> None:
    commands = CommandClient(stack_redis, stack_keys)
    assert send_and_wait(commands, "resume", PROD).ok  # Prefect is up, the engine serves
    api_url = stack.api_url
    stack.prefect.stop()
    try:
        wait_for(lambda: not stack.prefect.is_up(), 20, "Prefect to stop")
        sent_at = time.monotonic()
        stuck = commands.send("pause", PROD)
        other = commands.send("trigger", "no-such-deployment")
        # Not queued behind the one waiting for Prefect: answered while it still waits.
        other_result = wait_for(lambda: commands.latest(other.id), 5, "the other command")
        assert commands.latest(stuck.id) is None
        assert other_result.status == "error" and "no-such-deployment" in other_result.message

        result = wait_for(lambda: commands.latest(stuck.id), 12, "a result with Prefect down")
        took = time.monotonic() - sent_at
        assert took <= 10, f"the result took {took:.1f}s"
        assert result.status == "error"
        assert "Prefect" in result.message and api_url in result.message, result.message
    finally:
        stack.prefect.start()
    # The engine outlived the outage: Prefect back on its port, commands are served again.
    assert stack.api_url == api_url
    result = send_and_wait(commands, "pause", PROD, timeout=90)
    assert result.ok, result.message
    assert send_and_wait(commands, "resume", PROD).ok
