"""A served run that an engine stop or a lost process interrupted is run again and ends
Completed, as Prefect reports it (engine/serve/interrupted_runs.py).

Each run reads its input from a FIFO, so it is really Running (its process blocked on the
read) until the test writes the demo batch into it. Before: a stop mid-run left the run
Running with no process for good (the runner's own SIGTERM handler raced the engine's stop),
and so did a host lost with its run.
"""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
import redis
from prefect.states import Cancelling

from engine.config.loader import load_deployments
from engine.config.registry import RegisteredDeployment, Registry
from engine.contract.command_client import CommandClient
from engine.contract.keys import Keys
from engine.serve.interrupted_runs import (
    RUNNER_SHUTDOWN_MESSAGE,
    SILENT_SECONDS_ENV,
    recover_silent_runs,
)
from engine.stack.launcher import EmbeddedStack
from engine.store.mirror import RedisMirror
from tests.integration.conftest import feed_fifo, send_and_wait, wait_for

pytestmark = pytest.mark.integration

PROD = "ai-inference-prod"
TEST_SILENT_SECONDS = 40
"""Above the 30 s between two heartbeats, so a live run always has one in the window."""


@pytest.fixture
def held_input(stack_dirs: tuple[Path, Path], request: pytest.FixtureRequest) -> Iterator[Path]:
    """A FIFO a run blocks on until `release` writes the demo batch into it."""
    fifo = stack_dirs[0] / f"held-{request.node.name}.csv"
    os.mkfifo(fifo)
    yield fifo
    fifo.unlink()


def release(fifo: Path, stack_dirs: tuple[Path, Path]) -> threading.Thread:
    """Feeds the demo batch to the run that opens `fifo` next."""
    return feed_fifo(fifo, (stack_dirs[0] / "demo" / "input" / "daily_batch.csv").read_bytes())


def descendants_of(pid: int) -> list[int]:
    """Every process under `pid` (its children, theirs, ...), from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            # The parent pid is the 2nd field after the command, which may hold spaces.
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):  # not a process, or gone meanwhile
            continue
        children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        below = children.get(todo.pop(), [])
        found += below
        todo += below
    return found


async def prefect_states(prefect: Any, run_id: str) -> list[tuple[str, str, str]]:
    """The run's state history in Prefect: (type, name, message) each, oldest first."""
    states = await prefect.read_flow_run_states(UUID(run_id))
    return [(s.type.value, s.name, s.message or "") for s in states]


async def wait_prefect_state(prefect: Any, run_id: str, wanted: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = await prefect.read_flow_run(UUID(run_id))
        if run.state.type.value == wanted:
            return
        await asyncio.sleep(0.3)
    raise AssertionError(f"run {run_id} not {wanted} in {timeout:.0f} s: {run.state}")


def engine_retries(client: redis.Redis, keys: Keys, run_id: str) -> list[str]:
    """The messages of the audit entries in which the engine itself retried `run_id`."""
    entries: Any = client.xrange(keys.audit)
    return [
        f[b"message"].decode()
        for _, f in entries
        if f[b"flow_run_id"] == run_id.encode() and f[b"user"] == b"engine"
        if f[b"action"] == b"retry" and f[b"status"] == b"ok"
    ]


def trigger_held(commands: CommandClient, fifo: Path, target: Path) -> str:
    started = send_and_wait(commands, "trigger", PROD, {"source": str(fifo), "target": str(target)})
    assert started.ok, started.message
    return started.flow_run_id


async def test_a_run_the_engine_stops_mid_run_is_run_again_by_the_next_engine(
    stack: EmbeddedStack,
    stack_dirs: tuple[Path, Path],
    commands: CommandClient,
    prefect_client: Any,
    held_input: Path,
    stack_redis: redis.Redis,
    stack_keys: Keys,
) -> None:
    target = stack_dirs[0] / "interrupted-out" / "stopped"
    run_id = trigger_held(commands, held_input, target)
    await wait_prefect_state(prefect_client, run_id, "RUNNING", 90)

    assert stack.engine is not None
    stack.engine.stop()
    # Prefect's runner cancelled it as it stopped; the engine put it back, due now.
    history = await prefect_states(prefect_client, run_id)
    assert history[-2] == ("CANCELLED", "Cancelled", RUNNER_SHUTDOWN_MESSAGE), history
    kind, name, message = history[-1]
    assert (kind, name) == ("SCHEDULED", "AwaitingRetry"), history
    assert "stopped while it ran; run again by the next engine" in message
    assert engine_retries(stack_redis, stack_keys, run_id) == [f"auto-retry: {message}"]

    assert stack.engine.start()
    writer = release(held_input, stack_dirs)
    await wait_prefect_state(prefect_client, run_id, "COMPLETED", 120)
    writer.join(10)
    assert sorted(target.glob("date=*/part-0.parquet")), "the run again wrote nothing"


async def test_a_run_lost_with_its_host_is_crashed_and_run_again(
    stack: EmbeddedStack,
    stack_dirs: tuple[Path, Path],
    commands: CommandClient,
    prefect_client: Any,
    held_input: Path,
    stack_redis: redis.Redis,
    stack_keys: Keys,
) -> None:
    """Engine and run process die at once (kill -9 of both, as when the host goes): nobody
    is left to report the run, which Prefect holds Running until the next leader finds it
    silent."""
    engine_process = stack.engine
    assert engine_process is not None
    target = stack_dirs[0] / "interrupted-out" / "lost"
    run_id = trigger_held(commands, held_input, target)
    await wait_prefect_state(prefect_client, run_id, "RUNNING", 90)

    engine = engine_process.proc
    assert engine is not None
    run_processes = descendants_of(engine.pid)
    assert run_processes, "the engine has no run process"
    engine.kill()  # first: a live runner would see its run's process die and report it
    for pid in run_processes:
        os.kill(pid, signal.SIGKILL)
    engine.wait(10)
    engine_process.proc = None
    # Its heartbeat outlives it by its TTL; until then a start would take it as running.
    wait_for(lambda: not engine_process.is_up(), 60, "the killed engine's heartbeat to expire")
    engine_process.extra_env[SILENT_SECONDS_ENV] = str(TEST_SILENT_SECONDS)
    try:
        assert engine_process.start()
        # The next run of it opens the FIFO again: the write waits for that one.
        writer = release(held_input, stack_dirs)
        await wait_prefect_state(prefect_client, run_id, "COMPLETED", TEST_SILENT_SECONDS + 120)
        writer.join(10)
    finally:
        del engine_process.extra_env[SILENT_SECONDS_ENV]
        engine_process.stop()
        assert engine_process.start()

    history = await prefect_states(prefect_client, run_id)
    crashed = [h for h in history if h[0] == "CRASHED"]
    assert len(crashed) == 1, history
    assert crashed[0][2].startswith(f"no heartbeat from its process for {TEST_SILENT_SECONDS} s")
    after = history[history.index(crashed[0]) + 1 :]
    assert after[0][:2] == ("SCHEDULED", "AwaitingRetry"), history
    assert [h[0] for h in after].count("RUNNING") == 1, history
    assert engine_retries(stack_redis, stack_keys, run_id) == [f"auto-retry: {after[0][2]}"]
    assert sorted(target.glob("date=*/part-0.parquet")), "the run again wrote nothing"


async def test_a_run_left_cancelling_with_no_process_is_set_cancelled_not_run_again(
    stack_dirs: tuple[Path, Path],
    mirror: RedisMirror,
    prefect_client: Any,
) -> None:
    """An operator's cancel that no runner was left to carry out (the engine stopped or died
    while the run was Cancelling): the silent-run check sets it Cancelled, as asked, where
    Prefect would hold it Cancelling for good. Called here directly, with a short silence,
    on a run created Cancelling (no process ever ran it)."""
    deployment: Any = mirror.read_deployment(PROD)
    specs = {s.name: s for s in load_deployments(stack_dirs[1]).specs}
    registry = Registry()
    registry.add(RegisteredDeployment(specs[PROD], deployment["id"], {}))
    run = await prefect_client.create_flow_run_from_deployment(
        UUID(deployment["id"]), state=Cancelling(message="cancel asked by ana")
    )
    silent_for = 2.0
    # The check takes only runs in their state longer than `silent_for`.
    while (datetime.now(timezone.utc) - run.state.timestamp).total_seconds() <= silent_for:
        await asyncio.sleep(0.2)

    recovered = await recover_silent_runs(prefect_client, registry, silent_for)

    assert str(run.id) in recovered
    after = await prefect_client.read_flow_run(run.id)
    assert after.state.type.value == "CANCELLED", after.state
    assert after.state.message.startswith("cancelled: no heartbeat from its process for 2 s")
    history = await prefect_states(prefect_client, str(run.id))
    assert [h[0] for h in history] == ["CANCELLING", "CANCELLED"], history
