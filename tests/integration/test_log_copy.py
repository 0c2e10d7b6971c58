"""A run whose log lines the engine's memory budget dropped from Redis: the log screen's `p`
has the engine copy the whole log from Prefect, and shows it (issue 9 item 7: "the console
says a run's older lines are only in Prefect, and can fetch them through the engine")."""

from __future__ import annotations

import asyncio
from typing import Any, cast
from uuid import UUID

import pytest
import redis
from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId
from prefect.client.schemas.sorting import LogSort
from textual.widgets import Label

from console.app import ConsoleApp
from console.logs.screen import LogScreen
from engine.contract.command_client import CommandClient
from engine.contract.documents import LogTrim, encode
from engine.contract.history import (
    LOG_COPIES_KEPT,
    LOG_COPY_TTL_SECONDS,
    HistoryClient,
    new_query,
)
from engine.contract.keys import Keys
from engine.stack.launcher import EmbeddedStack
from engine.store.mirror import RedisMirror
from tests.console.conftest import wait_for
from tests.integration.conftest import send_and_wait, wait_run_final

pytestmark = pytest.mark.integration

PROD = "ai-inference-prod"


async def prefect_messages(prefect_client: Any, run_id: str) -> list[str]:
    """Every log line Prefect holds for the run, oldest first, once it holds the flow's
    last one (Prefect takes a run's lines in batches, some after its final state)."""
    log_filter = LogFilter(flow_run_id=LogFilterFlowRunId(any_=[UUID(run_id)]))
    for _ in range(150):
        logs: list[Any] = []
        while page := await prefect_client.read_logs(
            log_filter=log_filter, limit=200, offset=len(logs), sort=LogSort.TIMESTAMP_ASC
        ):
            logs += page
        if any(not log.task_run_id and log.message.startswith("Finished in") for log in logs):
            return [log.message for log in logs]
        await asyncio.sleep(0.2)
    raise AssertionError(f"Prefect never held the flow's last log line of {run_id}")


def copy_messages(client: redis.Redis, key: str) -> list[str]:
    entries = cast(list[tuple[bytes, dict[bytes, bytes]]], client.xrange(key))
    return [fields[b"msg"].decode() for _, fields in entries]


async def test_p_shows_the_whole_log_from_prefect_after_redis_lost_it(
    stack: EmbeddedStack,
    stack_redis: redis.Redis,
    stack_keys: Keys,
    mirror: RedisMirror,
    commands: CommandClient,
    prefect_client: Any,
) -> None:
    result = send_and_wait(commands, "trigger", PROD)
    assert result.ok, result.message
    run_id = wait_run_final(mirror, result.flow_run_id)["id"]
    wanted = await prefect_messages(prefect_client, run_id)
    # What the budget does to an old run: its stream goes, the run is marked trimmed.
    stack_redis.delete(stack_keys.logs(run_id))
    trim = LogTrim(lines_dropped=len(wanted), trimmed_at="2026-12-02T00:00:00+00:00")
    stack_redis.hset(stack_keys.log_trimmed, run_id, encode(trim))

    app = ConsoleApp(stack.redis_url, stack_keys, command_timeout=60)
    async with app.run_test(size=(160, 48)) as pilot:
        screen = LogScreen(app.ctx, run_id, None)
        await app.push_screen(screen)

        def title() -> str:
            return str(app.screen.query_one("#log-title", Label).render())

        notice = f"{len(wanted):,} older lines only in Prefect"
        await wait_for(pilot, lambda: notice in title(), "the trimmed notice", 30)
        assert screen.log_view.lines_written == 0

        await pilot.press("p")
        await wait_for(pilot, lambda: app.screen is not screen, "the copy's screen", 10)
        copy = app.screen
        assert isinstance(copy, LogScreen) and copy.copy_id
        done = f"all {len(wanted):,} lines from Prefect"
        await wait_for(pilot, lambda: done in title(), repr(done), 60)
        assert title().startswith("Log from Prefect: ")
        assert "only in Prefect" not in title()  # a copy has lost nothing
        await wait_for(pilot, lambda: copy.log_view.lines_written == len(wanted), "lines", 10)

        key = stack_keys.log_copy(copy.copy_id)
        assert copy_messages(stack_redis, key) == wanted
        assert 0 < cast(int, stack_redis.ttl(key)) <= LOG_COPY_TTL_SECONDS
        await pilot.press("escape")
        assert app.screen is screen

    # Copies are bounded by count: the oldest beyond LOG_COPIES_KEPT go.
    history = HistoryClient(stack_redis, stack_keys)
    asked = [new_query(log_copy_of=run_id) for _ in range(LOG_COPIES_KEPT + 1)]
    for query in asked:
        page = history.ask(query, 60)
        assert page is not None and page.ok and page.total == len(wanted), page
    assert not stack_redis.exists(stack_keys.log_copy(asked[0].id))
    assert copy_messages(stack_redis, stack_keys.log_copy(asked[-1].id)) == wanted
    members = cast(list[bytes], stack_redis.zrange(stack_keys.log_copies, 0, -1))
    assert len(members) == LOG_COPIES_KEPT and asked[0].id.encode() not in members

    bad = history.ask(new_query(log_copy_of="not-a-run-id"), 30)
    assert bad is not None and not bad.ok and "not-a-run-id" in bad.error
