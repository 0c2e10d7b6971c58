"""Redis restarted under a running engine: with its data, and empty (issue 9, restarts)."""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

import pytest
import redis

from engine.contract.command_client import CommandClient
from engine.contract.keys import Keys
from engine.stack.launcher import EmbeddedStack
from engine.store.audit_log import AUDIT_FILE, AuditLog
from engine.store.mirror import RedisMirror
from tests.integration.conftest import send_and_wait, wait_for

pytestmark = pytest.mark.integration

PROD = "ai-inference-prod"


def restart_redis(stack: EmbeddedStack, empty: bool) -> None:
    """Stops the embedded Redis and starts it again on the same socket, with or without
    its data (its append-only files)."""
    stack.redis.stop()
    if empty:
        data = stack.redis.socket_path.parent
        shutil.rmtree(data / "appendonlydir", ignore_errors=True)
        (data / "dump.rdb").unlink(missing_ok=True)
    time.sleep(1.5)  # the engine sees a Redis that is gone, not just a blip
    stack.redis.start()


def engine_beating(client: redis.Redis, keys: Keys) -> bool:
    return bool(client.exists(keys.heartbeat))


def audit_ids(client: redis.Redis, keys: Keys) -> list[str]:
    entries: Any = client.xrange(keys.audit)
    return [fields[b"command_id"].decode() for _, fields in entries]


def paused_in_prefect(stack: EmbeddedStack, name: str) -> bool:
    import asyncio

    from prefect.client.orchestration import PrefectClient

    async def read() -> bool:
        async with PrefectClient(api=stack.api_url) as client:
            deployment = await client.read_deployment_by_name(f"ai-inference-pipeline/{name}")
            return bool(deployment.paused)

    return asyncio.run(read())


def test_engine_serves_commands_after_redis_restarts_with_its_data(
    stack: EmbeddedStack, stack_keys: Keys
) -> None:
    before = redis.Redis.from_url(stack.redis_url)
    assert send_and_wait(CommandClient(before, stack_keys), "pause", PROD).ok
    restart_redis(stack, empty=False)
    client = redis.Redis.from_url(stack.redis_url)
    commands = CommandClient(client, stack_keys)
    result = send_and_wait(commands, "resume", PROD, timeout=60)
    assert result.ok, result.message
    assert not paused_in_prefect(stack, PROD)
    wait_for(lambda: engine_beating(client, stack_keys), 20, "the engine's heartbeat")


def test_empty_redis_is_refilled_from_prefect_and_the_audit_file(
    stack: EmbeddedStack, stack_dirs: tuple[Path, Path], stack_keys: Keys
) -> None:
    before = redis.Redis.from_url(stack.redis_url)
    commands = CommandClient(before, stack_keys)
    triggered = send_and_wait(commands, "trigger", PROD)
    assert triggered.ok, triggered.message
    paused = send_and_wait(commands, "pause", PROD)
    resumed = send_and_wait(commands, "resume", PROD)
    audited = audit_ids(before, stack_keys)
    assert {triggered.command_id, paused.command_id, resumed.command_id} <= set(audited)
    state, _ = stack_dirs
    on_disk = [r.audit["command_id"] for r in AuditLog(state / AUDIT_FILE).read_recent()]
    assert on_disk[-3:] == [triggered.command_id, paused.command_id, resumed.command_id]

    restart_redis(stack, empty=True)
    client = redis.Redis.from_url(stack.redis_url)
    mirror = RedisMirror(client, stack_keys)

    wait_for(lambda: mirror.read_deployment(PROD), 30, "the deployment written again")
    wait_for(lambda: mirror.read_flow_run(triggered.flow_run_id), 30, "the run from Prefect")
    wait_for(lambda: mirror.read_task_runs(triggered.flow_run_id), 30, "its task runs from Prefect")
    wait_for(lambda: client.xlen(stack_keys.logs(triggered.flow_run_id)), 30, "its logs")

    def audit_back() -> list[str] | None:
        ids = audit_ids(client, stack_keys)
        return ids if resumed.command_id in ids else None

    restored = wait_for(audit_back, 30, "the audit stream restored")
    # The whole trail, in its order, not just the last entry.
    assert [i for i in restored if i in audited] == audited
    again = CommandClient(client, stack_keys)
    kept = again.latest(paused.command_id)
    assert kept is not None and kept.status == "ok" and kept.message == paused.message

    # The consumer group is back: a new command is served.
    after = send_and_wait(again, "pause", PROD)
    assert after.ok, after.message
    assert send_and_wait(again, "resume", PROD).ok
    assert not paused_in_prefect(stack, PROD)
