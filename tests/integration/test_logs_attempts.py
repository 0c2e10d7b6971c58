"""Prefect's own retry lines, as the engine mirrors them, split a task's log into attempts.

A flow with a task that fails twice runs in-process against the stack's Prefect server; the
running engine's bridge copies its logs into Redis; the console's index reads them.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
import redis

from console.data.store import RedisReader
from console.logs.index import LogIndex
from console.logs.source import LogSource
from engine.contract.keys import Keys
from engine.stack.launcher import EmbeddedStack

pytestmark = pytest.mark.integration


def _flaky_flow() -> Any:
    from prefect import flow, get_run_logger, task

    calls = {"n": 0}

    @task(retries=2, retry_delay_seconds=0, name="flaky")
    def flaky() -> str:
        calls["n"] += 1
        get_run_logger().info(f"attempt body {calls['n']}")
        if calls["n"] < 3:
            raise RuntimeError(f"transient {calls['n']}")
        return "ok"

    @flow(name="log-attempts-check")
    def check() -> str:
        return str(flaky())

    return check


async def test_prefect_retry_lines_split_a_tasks_attempts(
    stack: EmbeddedStack, stack_redis: redis.Redis, stack_keys: Keys
) -> None:
    from prefect.settings import PREFECT_API_URL, temporary_settings

    check = _flaky_flow()

    def run() -> Any:
        with temporary_settings({PREFECT_API_URL: stack.api_url}):
            return check(return_state=True)

    state = await asyncio.to_thread(run)
    assert state.is_completed(), state
    run_id = str(state.state_details.flow_run_id)
    key = stack_keys.logs(run_id)

    def bodies() -> int:
        entries: Any = stack_redis.xrange(key)
        return sum(b"attempt body" in fields.get(b"msg", b"") for _, fields in entries)

    deadline = time.monotonic() + 60
    while bodies() < 3:
        assert time.monotonic() < deadline, "the engine never mirrored the task's three attempts"
        await asyncio.sleep(0.3)

    reader = RedisReader(stack.redis_url, stack_keys)
    try:
        source = LogSource(reader, run_id)
        index = LogIndex()
        while await source.read_index_page(index, index.last_id):
            pass
        lines = await source.read_lines(index, range(len(index)))
    finally:
        await reader.close()
    attempt_of = {
        line.msg: index.attempt[position]
        for position, line in lines.items()
        if line.msg.startswith("attempt body")
    }
    assert attempt_of == {"attempt body 1": 1, "attempt body 2": 2, "attempt body 3": 3}
    task_ids = {line.task_run_id for line in lines.values() if line.task_run_id}
    assert len(task_ids) == 1
    assert index.attempts_of(task_ids.pop()) == 3
