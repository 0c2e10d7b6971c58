"""Commands expire: one that reaches the engine after its deadline is refused, not run;
one from an older sender (no deadline field) still runs. On the real stack."""

from __future__ import annotations

from typing import Any

import pytest
import redis

from engine.contract.command_client import CommandClient, ensure_group
from engine.contract.commands import Command
from engine.contract.keys import Keys
from engine.stack.launcher import EmbeddedStack
from tests.integration.conftest import send_and_wait
from tests.integration.test_engine_e2e import audit_entries

pytestmark = pytest.mark.integration

CANARY = "ai-inference-canary"


async def is_paused(prefect_client: Any, name: str) -> bool:
    deployment = await prefect_client.read_deployment_by_name(f"ai-inference-pipeline/{name}")
    return bool(deployment.paused)


async def test_an_expired_command_is_refused_with_a_result_and_an_audit_entry(
    stack: EmbeddedStack,
    commands: CommandClient,
    stack_redis: redis.Redis,
    stack_keys: Keys,
    prefect_client: Any,
) -> None:
    assert not await is_paused(prefect_client, CANARY)
    # A deadline already past: as if it had waited in the stream while the engine was down.
    command = commands.send("pause", CANARY, deadline_seconds=-1)
    result = commands.wait_final(command.id, 60)
    assert result is not None, "no result for an expired command"
    assert result.status == "error"
    assert result.message.startswith(f"refused, not executed: pause {CANARY} expired at ")
    assert command.deadline in result.message
    [audit] = audit_entries(stack_redis, stack_keys, command.id)
    assert audit["status"] == "error" and "expired" in audit["message"]
    assert not await is_paused(prefect_client, CANARY), "an expired pause was executed"
    # Later commands are not held up by it.
    assert send_and_wait(commands, "resume", CANARY).ok


async def test_a_command_without_a_deadline_field_is_still_executed(
    stack: EmbeddedStack,
    commands: CommandClient,
    stack_redis: redis.Redis,
    stack_keys: Keys,
    prefect_client: Any,
) -> None:
    old = Command("pause", CANARY, deadline="")  # what a sender older than deadlines wrote
    fields = old.to_fields()
    assert "deadline" not in fields
    ensure_group(stack_redis, stack_keys)
    stack_redis.xadd(stack_keys.commands, fields)  # type: ignore[arg-type]
    try:
        result = commands.wait_final(old.id, 60)
        assert result is not None and result.ok, result
        assert await is_paused(prefect_client, CANARY)
        [audit] = audit_entries(stack_redis, stack_keys, old.id)
        assert audit["status"] == "ok"
    finally:
        assert send_and_wait(commands, "resume", CANARY).ok
    assert not await is_paused(prefect_client, CANARY)
