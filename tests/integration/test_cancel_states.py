"""Cancel means stopped, on the real stack: a cancel sent while a run is Scheduled, Late,
AwaitingRetry, Submitting, Running, waiting for a task retry, or writing its partitions.

Each test holds a run in one state, cancels it through the command stream (the console's
path; the CLI once), then checks what Prefect reports right away and again after the run
would have finished, the partitions on disk, the lineage and the command's results and
audit entries: `cancelling` first where the run had something to stop, `ok` only once
Prefect reports Cancelled.
"""

from __future__ import annotations

import asyncio
import errno
import json
import os
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
import redis

from engine.contract.command_client import CommandClient
from engine.contract.commands import CommandResult
from engine.contract.keys import Keys
from engine.stack.launcher import EmbeddedStack
from engine.store.mirror import RedisMirror
from tests.integration.conftest import (
    TEST_RETRY_DELAY,
    send_and_wait,
    wait_for,
    wait_run_final,
)
from tests.integration.test_engine_e2e import audit_entries

pytestmark = pytest.mark.integration

PROD = "ai-inference-prod"
CANARY = "ai-inference-canary"
SETTLE_SECONDS = 20.0
"""How long a cancelled run is watched afterwards: longer than the demo run takes."""


def cancel(commands: CommandClient, run_id: str) -> tuple[CommandResult, CommandResult, str]:
    """Sends a cancel; returns its first result, its final one and the command id."""
    command = commands.send("cancel", run_id)
    first = commands.wait(command.id, 60)
    assert first is not None, f"no result for the cancel of {run_id}"
    final = commands.wait_final(command.id, 180)
    assert final is not None and final.final, f"the cancel of {run_id} never got final: {final}"
    return first, final, command.id


async def state_of(prefect: Any, run_id: str) -> str:
    run = await prefect.read_flow_run(UUID(run_id))
    return str(run.state.type.value)


async def stays(prefect: Any, run_id: str, state_type: str, seconds: float) -> None:
    """Fails as soon as the run is not `state_type`, watching for `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        now = await state_of(prefect, run_id)
        assert now == state_type, f"run {run_id} turned {now} after being {state_type}"
        await asyncio.sleep(0.5)


def statuses(client: redis.Redis, keys: Keys, command_id: str) -> list[str]:
    return [e["status"] for e in audit_entries(client, keys, command_id)]


def partitions(target: Path) -> list[Path]:
    return sorted(target.glob("date=*/part-0.parquet"))


def assert_nothing_written(target: Path) -> None:
    assert partitions(target) == [], f"a cancelled run wrote {partitions(target)}"
    assert not list(target.glob(".staging-*")), "staging files left behind"


def assert_cancelled_lineage(mirror: RedisMirror, run_id: str, required: bool) -> None:
    """The attempt's lineage says cancelled and written none (if the flow body ran)."""
    if required:
        wait_for(lambda: mirror.read_lineage(run_id), 30, "the cancelled run's lineage")
    lineage = mirror.read_lineage(run_id)
    if lineage is not None:
        assert (lineage["status"], lineage["written"]) == ("cancelled", "none"), lineage
        assert lineage["outputs"] == []


async def served_deployment_id(mirror: RedisMirror, name: str) -> UUID:
    doc = mirror.read_deployment(name)
    assert doc is not None
    return UUID(doc["id"])


def target_dir(stack_dirs: tuple[Path, Path], name: str) -> Path:
    return stack_dirs[0] / "cancel-out" / name


async def test_cancel_a_scheduled_run_is_ok_at_once(
    stack: EmbeddedStack,
    stack_dirs: tuple[Path, Path],
    mirror: RedisMirror,
    commands: CommandClient,
    prefect_client: Any,
    stack_redis: redis.Redis,
    stack_keys: Keys,
) -> None:
    from prefect.states import Scheduled

    target = target_dir(stack_dirs, "scheduled")
    run = await prefect_client.create_flow_run_from_deployment(
        await served_deployment_id(mirror, PROD),
        parameters={"target": str(target)},
        state=Scheduled(scheduled_time=datetime.now(timezone.utc) + timedelta(hours=2)),
    )
    first, final, command_id = cancel(commands, str(run.id))
    # Nothing to stop: Prefect cancels it outright, so the first answer is the final one.
    assert (first.status, first.message) == ("ok", f"cancelled run {run.name} (was Scheduled)")
    assert final == first
    assert await state_of(prefect_client, str(run.id)) == "CANCELLED"
    assert statuses(stack_redis, stack_keys, command_id) == ["ok"]
    await stays(prefect_client, str(run.id), "CANCELLED", 5)
    assert_nothing_written(target)


async def test_cancel_a_late_run(
    stack: EmbeddedStack,
    commands: CommandClient,
    prefect_client: Any,
    stack_redis: redis.Redis,
    stack_keys: Keys,
) -> None:
    """Late: due, but nobody has picked it up; here a deployment no runner serves."""
    from prefect.states import Late

    flow = await prefect_client.read_flow_by_name("ai-inference-pipeline")
    unserved = await prefect_client.create_deployment(
        flow_id=flow.id, name="cancel-test-unserved", entrypoint="engine.pipeline.flows:nowhere"
    )
    run = await prefect_client.create_flow_run_from_deployment(unserved)
    past = datetime.now(timezone.utc) - timedelta(minutes=5)
    await prefect_client.set_flow_run_state(run.id, Late(scheduled_time=past), force=True)
    assert (await prefect_client.read_flow_run(run.id)).state.name == "Late"

    first, final, command_id = cancel(commands, str(run.id))
    assert (first.status, first.message) == ("ok", f"cancelled run {run.name} (was Late)")
    assert final == first
    assert statuses(stack_redis, stack_keys, command_id) == ["ok"]
    await stays(prefect_client, str(run.id), "CANCELLED", 3)


async def test_cancel_a_run_awaiting_retry(
    stack: EmbeddedStack,
    mirror: RedisMirror,
    commands: CommandClient,
    prefect_client: Any,
    stack_redis: redis.Redis,
    stack_keys: Keys,
) -> None:
    """A run put back to AwaitingRetry (a later retry time holds it there) after it ran."""
    from prefect.states import AwaitingRetry

    failed = send_and_wait(commands, "trigger", CANARY)  # its batch is missing: it fails
    assert failed.ok, failed.message
    assert wait_run_final(mirror, failed.flow_run_id)["state_type"] == "FAILED"
    run_id = failed.flow_run_id
    later = datetime.now(timezone.utc) + timedelta(hours=1)
    await prefect_client.set_flow_run_state(
        UUID(run_id), AwaitingRetry(scheduled_time=later), force=True
    )

    first, final, command_id = cancel(commands, run_id)
    assert first.status in ("cancelling", "ok"), first
    assert "(was AwaitingRetry)" in first.message
    assert final.status == "ok", final.message
    assert await state_of(prefect_client, run_id) == "CANCELLED"
    assert statuses(stack_redis, stack_keys, command_id)[-1] == "ok"
    await stays(prefect_client, run_id, "CANCELLED", 5)


async def test_cancel_while_submitting_never_runs_it(
    stack: EmbeddedStack,
    stack_dirs: tuple[Path, Path],
    mirror: RedisMirror,
    commands: CommandClient,
    prefect_client: Any,
    stack_redis: redis.Redis,
    stack_keys: Keys,
) -> None:
    """The bug this fixes: cancelled while the Runner started its process, the run then
    ran to Completed and wrote its partitions. A few tries, as the window is seconds."""
    hit_pending = False
    for attempt in range(3):
        target = target_dir(stack_dirs, f"submitting-{attempt}")
        started = send_and_wait(commands, "trigger", PROD, {"target": str(target)})
        assert started.ok, started.message
        run_id = started.flow_run_id

        deadline = time.monotonic() + 60
        while await state_of(prefect_client, run_id) == "SCHEDULED":
            assert time.monotonic() < deadline, "the runner never picked the run up"
            await asyncio.sleep(0.05)
        first, final, command_id = cancel(commands, run_id)
        assert first.status == "cancelling", first
        hit_pending = hit_pending or "(was Submitting)" in first.message
        hit_pending = hit_pending or "(was Pending)" in first.message
        assert (final.status, final.message) == ("ok", f"cancelled run {first.message.split()[2]}")
        assert statuses(stack_redis, stack_keys, command_id) == ["cancelling", "ok"]
        assert await state_of(prefect_client, run_id) == "CANCELLED"
        await stays(prefect_client, run_id, "CANCELLED", SETTLE_SECONDS)
        assert_nothing_written(target)
        assert_cancelled_lineage(mirror, run_id, required=False)
        assert wait_run_final(mirror, run_id)["state_type"] == "CANCELLED"  # the row too
        if hit_pending:
            break
    assert hit_pending, "no attempt caught the run in Pending/Submitting"


async def test_cancel_a_running_run_with_the_cli_stops_its_process(
    stack: EmbeddedStack,
    stack_dirs: tuple[Path, Path],
    mirror: RedisMirror,
    commands: CommandClient,
    prefect_client: Any,
    stack_redis: redis.Redis,
    stack_keys: Keys,
) -> None:
    state, _ = stack_dirs
    # Reading a FIFO with no writer blocks: the run is really Running until cancelled.
    fifo = state / "cancel-held.csv"
    os.mkfifo(fifo)
    target = target_dir(stack_dirs, "running")
    started = send_and_wait(commands, "trigger", PROD, {"source": str(fifo), "target": str(target)})
    assert started.ok, started.message
    run_id = started.flow_run_id
    wait_for(
        lambda: (d := mirror.read_flow_run(run_id)) and d["state_type"] == "RUNNING",
        90,
        "the run to be running",
    )

    done = subprocess.run(
        [sys.executable, "-m", "engine", "cancel", run_id, "--wait", "120", "--json"],
        capture_output=True,
        text=True,
        timeout=180,
        env=os.environ | {"AIWF_REDIS_URL": stack.redis_url},
    )
    assert done.returncode == 0, (done.stdout, done.stderr)
    result = json.loads(done.stdout)
    assert result["status"] == "ok" and result["message"].startswith("cancelled run "), result
    assert await state_of(prefect_client, run_id) == "CANCELLED"
    assert statuses(stack_redis, stack_keys, result["command_id"]) == ["cancelling", "ok"]
    # Nobody reads the FIFO any more: the process is gone, not just relabelled.
    with pytest.raises(OSError) as no_reader:
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
    assert no_reader.value.errno == errno.ENXIO
    await stays(prefect_client, run_id, "CANCELLED", 5)
    assert_nothing_written(target)
    assert_cancelled_lineage(mirror, run_id, required=True)


async def test_cancel_while_a_task_waits_to_retry(
    stack: EmbeddedStack,
    stack_dirs: tuple[Path, Path],
    mirror: RedisMirror,
    commands: CommandClient,
    prefect_client: Any,
    stack_redis: redis.Redis,
    stack_keys: Keys,
) -> None:
    """A transient read error (a symlink loop) puts load_raw_data in AwaitingRetry for
    TEST_RETRY_DELAY s."""
    state, _ = stack_dirs
    loop = state / "cancel-loop.csv"
    loop.symlink_to(loop)
    target = target_dir(stack_dirs, "retrying")
    started = send_and_wait(commands, "trigger", PROD, {"source": str(loop), "target": str(target)})
    assert started.ok, started.message
    run_id = started.flow_run_id

    def waiting_task() -> bool:
        return any(
            t.get("state_name") == "AwaitingRetry" for t in mirror.read_task_runs(run_id).values()
        )

    wait_for(waiting_task, 120, "load_raw_data to await its retry")
    first, final, command_id = cancel(commands, run_id)
    assert (first.status, final.status) == ("cancelling", "ok"), (first, final)
    assert statuses(stack_redis, stack_keys, command_id) == ["cancelling", "ok"]
    # Past the retry delay: the retry never happens.
    await stays(prefect_client, run_id, "CANCELLED", TEST_RETRY_DELAY + 5)
    assert_nothing_written(target)
    assert_cancelled_lineage(mirror, run_id, required=True)


def write_many_days(path: Path, days: int, rows_per_day: int) -> None:
    """A batch spanning `days` dates: save_results writes one partition per date."""
    start = datetime(2000, 1, 1)
    with path.open("w") as out:
        out.write("timestamp,feature_a,feature_b\n")
        for day in range(days):
            stamp = (start + timedelta(days=day)).isoformat()
            for i in range(rows_per_day):
                out.write(f"{stamp},{i % 7 / 7:.3f},{i % 5 / 5:.3f}\n")


async def test_cancel_while_saving_leaves_all_partitions_or_none(
    stack: EmbeddedStack,
    stack_dirs: tuple[Path, Path],
    mirror: RedisMirror,
    commands: CommandClient,
    prefect_client: Any,
    stack_redis: redis.Redis,
    stack_keys: Keys,
) -> None:
    days = 8000  # ~3-10 s of staging: longer than a cancel takes to land
    source = stack_dirs[0] / "cancel-many-days.csv"
    write_many_days(source, days, 20)
    target = target_dir(stack_dirs, "saving")
    started = send_and_wait(
        commands, "trigger", PROD, {"source": str(source), "target": str(target)}
    )
    assert started.ok, started.message
    run_id = started.flow_run_id
    wait_for(lambda: list(target.glob(".staging-*")), 180, "save_results to start writing")

    first, final, command_id = cancel(commands, run_id)
    assert first.status == "cancelling" and "(was Running)" in first.message, first
    assert final.status == "ok", final.message
    assert statuses(stack_redis, stack_keys, command_id) == ["cancelling", "ok"]
    await stays(prefect_client, run_id, "CANCELLED", SETTLE_SECONDS)
    lineage = wait_for(lambda: mirror.read_lineage(run_id), 30, "the lineage")
    assert lineage["status"] == "cancelled"
    written = partitions(target)
    assert not list(target.glob(".staging-*")), "staging files left behind"
    if lineage["written"] == "none":
        assert written == [] and lineage["outputs"] == []
    else:  # the cancel landed in the commit, which it waited for
        assert lineage["written"] == "all"
        assert len(written) == days == len(lineage["outputs"])


async def running_elsewhere(prefect_client: Any, name: str) -> Any:
    """A Running run of a new deployment no runner of this engine serves: the test plays
    the worker elsewhere that owns it."""
    from prefect.states import Running

    flow = await prefect_client.read_flow_by_name("ai-inference-pipeline")
    elsewhere = await prefect_client.create_deployment(
        flow_id=flow.id, name=name, entrypoint="engine.pipeline.flows:nowhere"
    )
    run = await prefect_client.create_flow_run_from_deployment(elsewhere)
    await prefect_client.set_flow_run_state(run.id, Running(), force=True)
    return run


def send_cancel_pending(commands: CommandClient, run_id: str) -> tuple[Any, CommandResult]:
    """Sends a cancel of `run_id`; the command and its first answer, checked `cancelling`."""
    command = commands.send("cancel", run_id)
    first = commands.wait(command.id, 60)
    assert first is not None and first.status == "cancelling", first
    return command, first


async def test_run_that_finishes_first_is_reported_so(
    stack: EmbeddedStack,
    commands: CommandClient,
    prefect_client: Any,
    stack_redis: redis.Redis,
    stack_keys: Keys,
) -> None:
    """A run of a worker elsewhere completes while the cancel waits for it to stop."""
    from prefect.states import Completed

    run = await running_elsewhere(prefect_client, "cancel-test-elsewhere")
    command, _ = send_cancel_pending(commands, str(run.id))
    assert await state_of(prefect_client, str(run.id)) == "CANCELLING"
    # Its worker finishes it anyway (a Cancelling run only leaves by force).
    await prefect_client.set_flow_run_state(run.id, Completed(), force=True)
    final = commands.wait_final(command.id, 60)
    assert final is not None
    message = f"run {run.name} completed before the cancel took effect"
    assert (final.status, final.message) == ("error", message)
    entries = audit_entries(stack_redis, stack_keys, command.id)
    assert [(e["status"], e["message"]) for e in entries][-1] == ("error", message)
    assert [e["status"] for e in entries] == ["cancelling", "error"]


async def test_the_final_result_survives_an_engine_restart(
    stack: EmbeddedStack,
    commands: CommandClient,
    prefect_client: Any,
    stack_redis: redis.Redis,
    stack_keys: Keys,
) -> None:
    """An engine stopped while a cancel waits resumes the watch and writes its result."""
    from prefect.states import Cancelled

    run = await running_elsewhere(prefect_client, "cancel-test-restart")
    command, first = send_cancel_pending(commands, str(run.id))
    assert stack.engine is not None
    stack.engine.stop()
    assert stack_redis.hexists(stack_keys.cancel_watches, command.id)
    # Its worker stops it while no engine watches.
    await prefect_client.set_flow_run_state(run.id, Cancelled(), force=True)
    assert commands.latest(command.id) == first

    stack.engine.start()
    final = commands.wait_final(command.id, 90)
    assert final is not None
    assert (final.status, final.message) == ("ok", f"cancelled run {run.name}")
    assert statuses(stack_redis, stack_keys, command.id) == ["cancelling", "ok"]
    assert not stack_redis.hexists(stack_keys.cancel_watches, command.id)
