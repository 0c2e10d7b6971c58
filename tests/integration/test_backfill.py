"""Backfill on the real stack: one run per fire time, never more than max_concurrent
unfinished at once, lineage that says `backfill`, the dry run and the cap."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from datetime import datetime, timedelta
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import redis

from engine.contract.command_client import CommandClient
from engine.contract.documents import FINAL_STATE_TYPES
from engine.contract.keys import Keys
from engine.contract.times import parse_iso
from engine.stack.launcher import EmbeddedStack
from engine.store.mirror import RedisMirror
from tests.integration.conftest import send_and_wait, wait_for
from tests.integration.test_engine_e2e import audit_entries
from tests.integration.test_lineage import PROD

pytestmark = pytest.mark.integration

SHANGHAI = ZoneInfo("Asia/Shanghai")


def window() -> tuple[str, str, list[str]]:
    """A past window holding three fire times of PROD's `0 2,14 * * *` (Shanghai)."""
    day = (datetime.now(SHANGHAI) - timedelta(days=20)).date()
    start = datetime(day.year, day.month, day.day, 1, 0, tzinfo=SHANGHAI)
    fires = [start + timedelta(hours=h) for h in (1, 13, 25)]
    return (
        start.isoformat(),
        (start + timedelta(hours=26)).isoformat(),
        [f.isoformat() for f in fires],
    )


def cli(stack: EmbeddedStack, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "engine", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=os.environ | {"AIWF_REDIS_URL": stack.redis_url},
    )


def backfill_runs(stack_redis: redis.Redis, keys: Keys, fires: list[str]) -> list[dict[str, Any]]:
    tags = {f"backfill:{f}" for f in fires}
    raw: list[bytes] = stack_redis.hvals(keys.flow_runs)  # type: ignore[assignment]
    docs = [json_doc(v) for v in raw]
    return [d for d in docs if tags & set(d.get("tags") or [])]


def json_doc(raw: bytes) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(raw)
    return doc


async def test_backfill_creates_one_run_per_fire_time_one_at_a_time(
    stack: EmbeddedStack,
    mirror: RedisMirror,
    commands: CommandClient,
    stack_redis: redis.Redis,
    stack_keys: Keys,
    prefect_client: Any,
) -> None:
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterTags

    start, end, fires = window()
    sent_before = stack_redis.xlen(stack_keys.commands)

    dry = cli(stack, "backfill", PROD, "--start", start, "--end", end, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "3 run(s)" in dry.stdout and "nothing was sent" in dry.stdout
    for fire in fires:
        shown = datetime.fromisoformat(fire).strftime("%Y-%m-%d %H:%M CST (+0800)")
        assert shown in dry.stdout
    assert stack_redis.xlen(stack_keys.commands) == sent_before

    result = send_and_wait(
        commands, "backfill", PROD, {"start": start, "end": end, "max_concurrent": 1}
    )
    assert result.ok, result.message
    assert "3 run(s)" in result.message and "at most 1 at once" in result.message
    assert audit_entries(stack_redis, stack_keys, result.command_id)[0]["action"] == "backfill"

    def all_done() -> list[dict[str, Any]] | None:
        runs = backfill_runs(stack_redis, stack_keys, fires)
        done = [r for r in runs if r["state_type"] in FINAL_STATE_TYPES]
        return runs if len(runs) == 3 and len(done) == 3 else None

    runs = wait_for(all_done, 180, "three finished backfill runs")
    assert {r["state_type"] for r in runs} == {"COMPLETED"}, [r["state_message"] for r in runs]
    # max_concurrent 1: each run was created only after the one before it had ended.
    ordered = sorted(runs, key=lambda r: r["created"])
    for before, after in itertools.pairwise(ordered):
        assert parse_iso(after["created"]) >= parse_iso(before["end_time"])  # type: ignore[operator]
    assert [next(t for t in r["tags"] if t.startswith("backfill:")) for r in ordered] == [
        f"backfill:{f}" for f in fires
    ]

    for run, fire in zip(ordered, fires, strict=True):
        doc = wait_for(partial(mirror.read_lineage, run["id"]), 30, "backfill lineage")
        assert doc["trigger"]["kind"] == "backfill" and doc["trigger"]["fire_time"] == fire
        assert doc["trigger"]["operator"]
        # Exactly one run per fire time in Prefect itself.
        found = await prefect_client.read_flow_runs(
            flow_run_filter=FlowRunFilter(tags=FlowRunFilterTags(all_=[f"backfill:{fire}"]))
        )
        assert [str(r.id) for r in found] == [run["id"]]


def test_a_huge_window_is_refused_and_nothing_runs(
    stack: EmbeddedStack, commands: CommandClient
) -> None:
    result = send_and_wait(commands, "backfill", PROD, {"start": "2024-01-01", "end": "2025-01-01"})
    assert not result.ok
    assert "more than 500 fire times" in result.message and "split" in result.message
    dry = cli(stack, "backfill", PROD, "--start", "2024-01-01", "--end", "2025-01-01", "--dry-run")
    assert dry.returncode == 1 and "more than 500" in dry.stderr
    unknown = send_and_wait(
        commands, "backfill", "nope", {"start": "2024-01-01", "end": "2024-01-02"}
    )
    assert not unknown.ok and "unknown deployment 'nope'" in unknown.message


def test_a_backfill_left_unfinished_resumes_when_the_engine_starts(
    stack: EmbeddedStack,
    stack_redis: redis.Redis,
    stack_keys: Keys,
) -> None:
    from engine.contract.commands import Command

    assert stack.engine is not None
    day = (datetime.now(SHANGHAI) - timedelta(days=30)).date()
    start = datetime(day.year, day.month, day.day, 0, 0, tzinfo=SHANGHAI)
    fires = [(start + timedelta(hours=h)).isoformat() for h in (2, 14)]
    params = {"start": start.isoformat(), "end": (start + timedelta(days=1)).isoformat()}
    # What an engine stopped in the middle of a backfill leaves behind.
    left = Command(action="backfill", target=PROD, params=params)
    gone = Command(action="backfill", target="no-longer-served", params=params)
    stack.engine.stop()
    for command in (left, gone):
        stack_redis.hset(stack_keys.backfills, command.id, json.dumps(command.to_fields()))
    stack.engine.start()

    def done() -> list[dict[str, Any]] | None:
        runs = backfill_runs(stack_redis, stack_keys, fires)
        finished = [r for r in runs if r["state_type"] in FINAL_STATE_TYPES]
        return runs if len(finished) == 2 else None

    runs = wait_for(done, 180, "the resumed backfill's two runs")
    assert sorted(t for r in runs for t in r["tags"] if t.startswith("backfill:")) == [
        f"backfill:{f}" for f in fires
    ]
    wait_for(lambda: not stack_redis.hlen(stack_keys.backfills), 30, "the backfills to be done")
