"""The engine end to end: real Redis, real Prefect server, real pipeline runs."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
import redis

from engine.contract.command_client import CommandClient
from engine.contract.documents import decode_doc
from engine.contract.keys import Keys
from engine.stack.launcher import EmbeddedStack
from engine.store.mirror import RedisMirror
from tests.integration.conftest import send_and_wait, wait_for, wait_run_final

pytestmark = pytest.mark.integration

PROD = "ai-inference-prod"


def audit_entries(client: redis.Redis, keys: Keys, command_id: str) -> list[dict[str, str]]:
    entries: Any = client.xrange(keys.audit)
    decoded = [{k.decode(): v.decode() for k, v in fields.items()} for _, fields in entries]
    return [e for e in decoded if e["command_id"] == command_id]


def test_trigger_runs_pipeline_and_mirrors_runs_tasks_logs(
    stack: EmbeddedStack,
    stack_dirs: tuple[Path, Path],
    mirror: RedisMirror,
    commands: CommandClient,
    stack_redis: redis.Redis,
    stack_keys: Keys,
) -> None:
    result = send_and_wait(commands, "trigger", PROD)
    assert result.ok, result.message
    run = wait_run_final(mirror, result.flow_run_id)

    assert run["state_type"] == "COMPLETED"
    assert run["deployment_name"] == PROD
    assert run["flow_name"] == "ai-inference-pipeline"

    def three_completed() -> dict[str, dict[str, Any]] | None:
        found = mirror.read_task_runs(run["id"])
        done = len(found) == 3 and all(d["state_type"] == "COMPLETED" for d in found.values())
        return found if done else None

    tasks = wait_for(three_completed, 30, "three completed tasks")
    names = sorted(d["name"].rsplit("-", 1)[0] for d in tasks.values())
    assert names == ["load_raw_data", "run_inference", "save_results"]
    assert all(d["run_count"] == 1 and d["start_time"] for d in tasks.values())

    state, _ = stack_dirs
    target = state / "demo" / "output" / "predictions"
    partitions = sorted(p.name for p in target.iterdir())
    assert partitions == ["date=2026-11-01", "date=2026-11-02", "date=2026-11-03"]
    table = pq.read_table(target)
    assert table.num_rows == 3000
    predictions = table.column("prediction").to_pylist()
    assert 0 < min(predictions) < max(predictions) < 1  # a real scorer, not constants

    def saved_line() -> bool:
        entries: Any = stack_redis.xrange(stack_keys.logs(run["id"]))
        messages = [(f[b"task_run_id"].decode(), f[b"msg"].decode()) for _, f in entries]
        return any(task_id in tasks and "Saved 3000 records" in msg for task_id, msg in messages)

    wait_for(saved_line, 30, "the save_results log line tagged with its task run")

    deployment = wait_for(
        lambda: (
            (d := mirror.read_deployment(PROD))
            and (d.get("last_run") or {}).get("id") == run["id"]
            and d
        ),
        30,
        "the deployment's last run",
    )
    assert deployment["cron"] == "0 2,14 * * *" and deployment["timezone"] == "Asia/Shanghai"
    assert len(deployment["next_fire_times"]) == 5

    audit = audit_entries(stack_redis, stack_keys, result.command_id)
    assert len(audit) == 1 and audit[0]["status"] == "ok" and audit[0]["action"] == "trigger"
    assert audit[0]["user"]


def test_failed_run_is_retried_after_the_cause_is_fixed(
    stack: EmbeddedStack,
    stack_dirs: tuple[Path, Path],
    mirror: RedisMirror,
    commands: CommandClient,
) -> None:
    _, config = stack_dirs
    missing_model = "scorer-arrives-later"
    result = send_and_wait(commands, "trigger", PROD, {"model": missing_model})
    assert result.ok, result.message
    failed = wait_run_final(mirror, result.flow_run_id)
    assert failed["state_type"] == "FAILED"
    assert missing_model in failed["state_message"]
    tasks = mirror.read_task_runs(failed["id"])
    assert any(
        d["name"].startswith("run_inference") and d["state_type"] == "FAILED"
        for d in tasks.values()
    )

    shutil.copy(config / "models" / "scorer-v1.yaml", config / "models" / f"{missing_model}.yaml")
    retry = send_and_wait(commands, "retry", failed["id"])
    assert retry.ok, retry.message

    def completed() -> dict[str, Any] | None:
        doc = mirror.read_flow_run(failed["id"])
        return doc if doc and doc["state_type"] == "COMPLETED" else None

    done = wait_for(completed, 90, "the retried run to complete")
    assert done["run_count"] == 2


def test_retry_of_a_running_or_unknown_run_is_refused(commands: CommandClient) -> None:
    result = send_and_wait(commands, "retry", "00000000-0000-0000-0000-000000000000")
    assert not result.ok and "no flow run" in result.message


async def test_pause_and_resume_reach_prefect(
    stack: EmbeddedStack,
    mirror: RedisMirror,
    commands: CommandClient,
    prefect_client: Any,
) -> None:
    deployment_id = mirror.read_deployment(PROD)["id"]  # type: ignore[index]
    paused = send_and_wait(commands, "pause", PROD)
    assert paused.ok, paused.message
    assert (await prefect_client.read_deployment(deployment_id)).paused is True
    wait_for(lambda: mirror.read_deployment(PROD)["paused"], 20, "paused in Redis")  # type: ignore[index]

    resumed = send_and_wait(commands, "resume", PROD)
    assert resumed.ok, resumed.message
    assert (await prefect_client.read_deployment(deployment_id)).paused is False
    wait_for(lambda: not mirror.read_deployment(PROD)["paused"], 20, "active in Redis")  # type: ignore[index]


async def test_cancel_a_scheduled_run(
    stack: EmbeddedStack,
    mirror: RedisMirror,
    commands: CommandClient,
    prefect_client: Any,
) -> None:
    from datetime import datetime, timedelta, timezone
    from uuid import UUID

    from prefect.states import Scheduled

    deployment_id = UUID(mirror.read_deployment(PROD)["id"])  # type: ignore[index]
    later = datetime.now(timezone.utc) + timedelta(hours=3)
    run = await prefect_client.create_flow_run_from_deployment(
        deployment_id, state=Scheduled(scheduled_time=later)
    )

    result = send_and_wait(commands, "cancel", str(run.id))
    assert result.ok, result.message
    assert (await prefect_client.read_flow_run(run.id)).state.type.value == "CANCELLED"
    # Cancelling it again changes nothing and says so: what was asked is true.
    again = send_and_wait(commands, "cancel", str(run.id))
    assert again.ok and "already cancelled" in again.message, again.message
    states = await prefect_client.read_flow_run_states(run.id)
    assert [s.type.value for s in states].count("CANCELLED") == 1


def test_bad_commands_get_reasons_and_are_audited(
    commands: CommandClient,
    stack_redis: redis.Redis,
    stack_keys: Keys,
) -> None:
    unknown = send_and_wait(commands, "trigger", "no-such-deployment")
    assert not unknown.ok and "unknown deployment 'no-such-deployment'" in unknown.message
    bad_param = send_and_wait(commands, "trigger", PROD, {"sourse": "x.csv"})
    assert not bad_param.ok and "sourse" in bad_param.message
    audit = audit_entries(stack_redis, stack_keys, bad_param.command_id)
    assert [a["status"] for a in audit] == ["error"]


def test_command_redelivered_after_a_crash_runs_once(
    stack: EmbeddedStack,
    commands: CommandClient,
    stack_redis: redis.Redis,
    stack_keys: Keys,
    mirror: RedisMirror,
) -> None:
    first = commands.send("pause", "ai-inference-canary")
    assert commands.wait(first.id, 60) is not None
    # The same entry again, as if the engine had died before acknowledging it.
    stack_redis.xadd(stack_keys.commands, first.to_fields())  # type: ignore[arg-type]
    marker = send_and_wait(commands, "resume", "ai-inference-canary")
    assert marker.ok
    assert len(audit_entries(stack_redis, stack_keys, first.id)) == 1


def test_command_sent_while_engine_is_down_runs_when_it_is_back(
    stack: EmbeddedStack,
    commands: CommandClient,
    stack_redis: redis.Redis,
    stack_keys: Keys,
    mirror: RedisMirror,
) -> None:
    assert stack.engine is not None
    before = operator_runs(stack_redis, stack_keys)
    stack.engine.stop()
    assert not stack_redis.exists(stack_keys.heartbeat), "a clean stop removes the heartbeat"
    queued = commands.send("trigger", PROD)
    assert commands.wait(queued.id, 1) is None

    stack.engine.start()
    result = commands.wait(queued.id, 60)
    assert result is not None and result.ok, result
    wait_run_final(mirror, result.flow_run_id)
    assert len(audit_entries(stack_redis, stack_keys, queued.id)) == 1
    # Counted by operator tag: a schedule firing meanwhile (06:00 UTC for prod) adds a run too.
    assert operator_runs(stack_redis, stack_keys) == before + 1


def operator_runs(client: redis.Redis, keys: Keys) -> int:
    """Flow runs in Redis that an operator command created (tagged `triggered-by:`)."""
    docs = (decode_doc(raw) for raw in client.hvals(keys.flow_runs))
    return sum(
        1
        for doc in docs
        if doc and any(str(tag).startswith("triggered-by:") for tag in doc.get("tags") or [])
    )


def test_script_commands_use_the_same_stream(
    stack: EmbeddedStack,
    stack_redis: redis.Redis,
    stack_keys: Keys,
) -> None:
    import json
    import os
    import subprocess
    import sys

    env = os.environ | {"AIWF_REDIS_URL": stack.redis_url}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "engine", *args],
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
        )

    done = cli("pause", "ai-inference-canary", "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["status"] == "ok"
    assert len(audit_entries(stack_redis, stack_keys, result["command_id"])) == 1
    assert cli("resume", "ai-inference-canary").returncode == 0

    refused = cli("pause", "no-such-deployment")
    assert refused.returncode == 1
    assert "unknown deployment 'no-such-deployment'" in refused.stderr


def test_cancel_a_running_run_stops_it(
    stack: EmbeddedStack,
    stack_dirs: tuple[Path, Path],
    mirror: RedisMirror,
    commands: CommandClient,
) -> None:
    import os

    state, _ = stack_dirs
    # Reading a FIFO with no writer blocks: the run is really Running until cancelled.
    fifo = state / "never-written.csv"
    if not fifo.exists():
        os.mkfifo(fifo)
    result = send_and_wait(commands, "trigger", PROD, {"source": str(fifo)})
    assert result.ok, result.message
    wait_for(
        lambda: (d := mirror.read_flow_run(result.flow_run_id)) and d["state_type"] == "RUNNING",
        60,
        "the run to be running",
    )

    cancel = send_and_wait(commands, "cancel", result.flow_run_id)
    # `cancelling` until Prefect reports the run Cancelled, then the final `ok`.
    assert cancel.status in ("cancelling", "ok"), cancel.message
    final = commands.wait_final(cancel.command_id, 120)
    assert final is not None and final.ok, final
    done = wait_run_final(mirror, result.flow_run_id, timeout=90)
    assert done["state_type"] == "CANCELLED"
