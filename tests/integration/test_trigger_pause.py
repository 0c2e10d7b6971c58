"""Trigger with parameters and pause with a maintenance window, on the real stack."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from typing import Any
from uuid import UUID

import pytest
import redis

from engine.contract.command_client import CommandClient
from engine.contract.keys import Keys
from engine.contract.pause_window import AutoResumeStore
from engine.stack.launcher import EmbeddedStack
from engine.store.mirror import RedisMirror
from tests.integration.conftest import send_and_wait, wait_for, wait_run_final
from tests.integration.test_engine_e2e import audit_entries

pytestmark = pytest.mark.integration

PROD = "ai-inference-prod"
CANARY = "ai-inference-canary"


def test_deployment_doc_carries_the_flow_parameter_schema(
    stack: EmbeddedStack, mirror: RedisMirror
) -> None:
    doc = mirror.read_deployment(PROD)
    assert doc is not None
    schema = doc["parameter_schema"]
    # Redis JSON is written with sorted keys; `position` keeps the signature's order.
    by_position = sorted(schema["properties"], key=lambda n: schema["properties"][n]["position"])
    assert by_position == [
        "source",
        "target",
        "model",
        "refresh_cache",
        "from_task",
        "logical_date",
    ]
    assert schema["required"] == ["source", "target"]
    assert schema["properties"]["refresh_cache"] == {
        "default": False,
        "position": 3,
        "title": "refresh_cache",
        "type": "boolean",
    }
    assert doc["resume_at"] is None


def test_trigger_with_overrides_runs_with_them_and_bad_types_are_refused(
    stack: EmbeddedStack, mirror: RedisMirror, commands: CommandClient
) -> None:
    result = send_and_wait(commands, "trigger", PROD, {"refresh_cache": True})
    assert result.ok, result.message
    assert "with {'refresh_cache': True}" in result.message
    run = wait_run_final(mirror, result.flow_run_id)
    assert run["state_type"] == "COMPLETED"
    assert run["parameters"]["refresh_cache"] is True
    assert run["parameters"]["model"] == "scorer-v1"  # the deployment's, not overridden
    lineage = wait_for(lambda: mirror.read_lineage(run["id"]), 30, "lineage")
    assert lineage["parameters"]["refresh_cache"] is True

    # The console checks types first; the engine (through Prefect's schema) still refuses.
    refused = send_and_wait(commands, "trigger", PROD, {"refresh_cache": "maybe"})
    assert not refused.ok
    assert refused.message == (
        "parameter refresh_cache: 'maybe' is not of type 'boolean'; nothing was started"
    )


async def _scheduled_runs(prefect: Any, deployment_id: str) -> list[Any]:
    from prefect.client.schemas.filters import (
        DeploymentFilter,
        DeploymentFilterId,
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType

    return list(
        await prefect.read_flow_runs(
            deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[UUID(deployment_id)])),
            flow_run_filter=FlowRunFilter(
                state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.SCHEDULED]))
            ),
        )
    )


async def test_pause_deletes_the_schedules_runs_but_keeps_runs_triggered_for_later(
    stack: EmbeddedStack, mirror: RedisMirror, commands: CommandClient, prefect_client: Any
) -> None:
    """What PAUSE_EFFECT (console/text/pause_text.py) tells the operator, checked on Prefect 3."""
    import asyncio

    from prefect.states import Scheduled

    deployment_id = mirror.read_deployment(CANARY)["id"]  # type: ignore[index]
    deadline = asyncio.get_running_loop().time() + 90
    while not any(r.auto_scheduled for r in await _scheduled_runs(prefect_client, deployment_id)):
        assert asyncio.get_running_loop().time() < deadline, "Prefect scheduled no runs"
        await asyncio.sleep(1)
    later = datetime.now(timezone.utc) + timedelta(hours=3)
    manual = await prefect_client.create_flow_run_from_deployment(
        UUID(deployment_id), state=Scheduled(scheduled_time=later)
    )

    paused = send_and_wait(commands, "pause", CANARY)
    assert paused.ok, paused.message
    left = await _scheduled_runs(prefect_client, deployment_id)
    assert [r.id for r in left] == [manual.id]  # the schedule's runs are gone, ours stays
    assert not any(r.auto_scheduled for r in left)

    resumed = send_and_wait(commands, "resume", CANARY)
    assert resumed.ok, resumed.message
    cancelled = send_and_wait(commands, "cancel", str(manual.id))
    assert cancelled.ok, cancelled.message


async def test_pause_with_resume_at_is_resumed_by_the_engine_and_audited(
    stack: EmbeddedStack,
    mirror: RedisMirror,
    commands: CommandClient,
    prefect_client: Any,
    stack_redis: redis.Redis,
    stack_keys: Keys,
) -> None:
    deployment_id = mirror.read_deployment(CANARY)["id"]  # type: ignore[index]
    resume_at = datetime.now(timezone.utc) + timedelta(seconds=6)
    paused = send_and_wait(commands, "pause", CANARY, {"resume_at": resume_at.isoformat()})
    assert paused.ok, paused.message
    assert "the engine resumes it then" in paused.message
    assert (await prefect_client.read_deployment(deployment_id)).paused is True
    store = AutoResumeStore(stack_redis, stack_keys)
    stored = store.when(CANARY)
    assert stored is not None and abs(stored - resume_at) < timedelta(milliseconds=1)
    doc = wait_for(
        lambda: (d := mirror.read_deployment(CANARY)) and d["paused"] and d["resume_at"] and d,
        20,
        "paused with resume_at in Redis",
    )
    assert datetime.fromisoformat(doc["resume_at"]) == store.when(CANARY)

    # Nobody sends anything now: the engine resumes it by itself.
    wait_for(lambda: (d := mirror.read_deployment(CANARY)) and not d["paused"], 30, "auto-resume")
    assert (await prefect_client.read_deployment(deployment_id)).paused is False
    assert datetime.now(timezone.utc) >= resume_at
    assert store.when(CANARY) is None
    assert mirror.read_deployment(CANARY)["resume_at"] is None  # type: ignore[index]
    entries: Any = stack_redis.xrevrange(stack_keys.audit, count=20)
    audit = [{k.decode(): v.decode() for k, v in f.items()} for _, f in entries]
    auto = [a for a in audit if a["message"].startswith("auto-resume:")]
    assert auto, audit
    assert (auto[0]["action"], auto[0]["target"], auto[0]["user"], auto[0]["status"]) == (
        "resume",
        CANARY,
        "engine",
        "ok",
    )


def test_manual_resume_clears_the_window_and_bad_windows_are_refused(
    stack: EmbeddedStack,
    mirror: RedisMirror,
    commands: CommandClient,
    stack_redis: redis.Redis,
    stack_keys: Keys,
) -> None:
    store = AutoResumeStore(stack_redis, stack_keys)
    env = os.environ | {"AIWF_REDIS_URL": stack.redis_url}
    done = subprocess.run(
        [sys.executable, "-m", "engine", "pause", CANARY, "--until", "1h", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["status"] == "ok" and "until" in result["message"]
    when = store.when(CANARY)
    assert when is not None
    assert timedelta(minutes=59) < when - datetime.now(timezone.utc) <= timedelta(hours=1)
    audit = audit_entries(stack_redis, stack_keys, result["command_id"])
    assert json.loads(audit[0]["params"]) == {"resume_at": when.isoformat()}

    resumed = send_and_wait(commands, "resume", CANARY)
    assert resumed.ok and "auto-resume is cancelled" in resumed.message
    assert store.when(CANARY) is None
    wait_for(lambda: not mirror.read_deployment(CANARY)["paused"], 20, "active")  # type: ignore[index]

    past = send_and_wait(commands, "pause", CANARY, {"resume_at": "2020-01-01T00:00:00+00:00"})
    assert not past.ok and "already past; nothing was paused" in past.message
    odd = send_and_wait(commands, "pause", CANARY, {"until": "2h"})
    assert not odd.ok and "accepts resume_at" in odd.message
    assert mirror.read_deployment(CANARY)["paused"] is False  # type: ignore[index]
