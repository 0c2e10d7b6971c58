"""The bridge's polling path (backfill on start, fallback without websockets), in-process
against the real Prefect API, writing under a prefix of its own."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from uuid import UUID

import pytest
import redis

from engine.bridge import prefect_to_redis
from engine.bridge.prefect_to_redis import Bridge
from engine.config.loader import load_deployments
from engine.config.registry import RegisteredDeployment, Registry
from engine.contract.command_client import CommandClient
from engine.contract.keys import Keys
from engine.contract.partitions import partition_name, writer_member
from engine.store.mirror import RedisMirror
from engine.store.off_loop import EngineStore
from tests.integration.conftest import send_and_wait, wait_for, wait_run_final

pytestmark = pytest.mark.integration

PROD = "ai-inference-prod"


def fresh_bridge(
    stack_dirs: Any,
    mirror: RedisMirror,
    stack_redis: redis.Redis,
    prefix: str,
    on_deployment_changed: Callable[[str], None] = lambda _name: None,
) -> Bridge:
    """A bridge for the stack's prod deployment, writing under a prefix of its own."""
    _, config = stack_dirs
    specs = {s.name: s for s in load_deployments(config).specs}
    registry = Registry()
    registry.add(RegisteredDeployment(specs[PROD], mirror.read_deployment(PROD)["id"], {}))  # type: ignore[index]
    return Bridge(EngineStore.over(stack_redis, Keys(prefix)), registry, on_deployment_changed)


async def test_reconcile_backfills_runs_tasks_and_logs(
    stack: Any,
    stack_dirs: Any,
    mirror: RedisMirror,
    commands: CommandClient,
    stack_redis: redis.Redis,
    prefect_client: Any,
) -> None:
    result = send_and_wait(commands, "trigger", PROD)
    run = wait_run_final(mirror, result.flow_run_id)

    async def api_has_saved_line() -> bool:
        from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId

        logs = await prefect_client.read_logs(
            log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[UUID(run["id"])]))
        )
        return any("Saved 3000 records" in log.message for log in logs)

    # The flow process flushes its last log batch after the run's final state.
    deadline = time.monotonic() + 30
    while not await api_has_saved_line():
        assert time.monotonic() < deadline, "the API never received the save_results line"
        await asyncio.sleep(0.2)

    changed: list[str] = []
    bridge = fresh_bridge(stack_dirs, mirror, stack_redis, "polling-test", changed.append)
    fresh = bridge.mirror

    written = await bridge.reconcile(prefect_client, with_logs=True)

    assert written >= 1
    copy = fresh.read_flow_run(run["id"])
    assert copy is not None and copy["state_type"] == "COMPLETED"
    assert copy["flow_name"] == "ai-inference-pipeline"
    assert len(fresh.read_task_runs(run["id"])) == 3
    logs: Any = stack_redis.xrange(fresh.keys.logs(run["id"]))
    assert any(b"Saved 3000 records" in fields[b"msg"] for _, fields in logs)
    assert PROD in changed, "the deployment's last run changed"

    # A second pass finds no run to rewrite and copies no log line twice. It may append a
    # line the flow process flushed after the first pass (on a loaded machine the last
    # batch reaches the API late): that is new, not a duplicate, so count by log id.
    assert await bridge.reconcile(prefect_client, with_logs=True) == 0
    copied: Any = stack_redis.xrange(fresh.keys.logs(run["id"]))
    ids = [fields[b"log_id"].decode() for _, fields in copied]
    assert all(ids) and len(ids) == len(set(ids)), "a log line was copied twice"
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId
    from prefect.client.schemas.sorting import LogSort

    api_ids: set[str] = set()
    offset = 0
    while page := await prefect_client.read_logs(
        log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[UUID(run["id"])])),
        limit=200,
        offset=offset,
        sort=LogSort.TIMESTAMP_ASC,
    ):
        api_ids |= {str(log.id) for log in page}
        offset += len(page)
    assert set(ids) <= api_ids, "a line Prefect does not have"


@pytest.fixture
def finished_run(commands: CommandClient, mirror: RedisMirror) -> str:
    """A run of PROD triggered and finished."""
    result = send_and_wait(commands, "trigger", PROD)
    return str(wait_run_final(mirror, result.flow_run_id)["id"])


@pytest.fixture
def bridge_under(
    stack_dirs: Any, mirror: RedisMirror, stack_redis: redis.Redis
) -> Callable[[str], Bridge]:
    """A fresh bridge writing under the prefix it is given."""
    return lambda prefix: fresh_bridge(stack_dirs, mirror, stack_redis, prefix)


async def test_a_refill_writes_the_task_runs_of_a_finished_run_redis_already_holds(
    finished_run: str,
    bridge_under: Callable[[str], Bridge],
    mirror: RedisMirror,
    prefect_client: Any,
) -> None:
    """Redis came back empty and the event loops wrote a finished run before the refill
    got to it, but not its task runs (their batch went with the lost leader term): a plain
    reconcile skips the run, whose state Redis has; the refill's writes them."""
    run_id = finished_run
    bridge = bridge_under("refill-race-test")
    fresh = bridge.mirror
    assert fresh.upsert_flow_run(mirror.read_flow_run(run_id))  # type: ignore[arg-type]

    await bridge.reconcile(prefect_client, with_logs=True)
    assert fresh.read_task_runs(run_id) == {}, "a plain reconcile skips the finished run"

    await bridge.reconcile(prefect_client, with_logs=True, everything=True)
    assert (
        sorted(t["state_type"] for t in fresh.read_task_runs(run_id).values()) == ["COMPLETED"] * 3
    )


async def test_a_finished_run_read_after_its_event_brings_its_task_runs(
    finished_run: str,
    bridge_under: Callable[[str], Bridge],
    prefect_client: Any,
) -> None:
    """The refresh loop's read of a run that finished writes its task runs too, so a lost
    batch of task-run events does not leave the finished run without them."""
    run_id = finished_run
    bridge = bridge_under("finished-read-test")

    doc = await bridge.write_flow_run(prefect_client, run_id)

    assert doc is not None and doc.state_type == "COMPLETED"
    assert len(bridge.mirror.read_task_runs(run_id)) == 3


async def test_a_run_redis_lacks_comes_back_with_its_logs_while_the_websockets_are_up(
    finished_run: str,
    bridge_under: Callable[[str], Bridge],
    stack_redis: redis.Redis,
    prefect_client: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The healthy reconcile (no log polling) still copies the log stream of a run it
    writes because Redis did not hold it at all, long after the run ended."""
    monkeypatch.setattr(prefect_to_redis, "LATE_LOGS_WINDOW", timedelta(0))
    run_id = finished_run
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId

    log_filter = LogFilter(flow_run_id=LogFilterFlowRunId(any_=[UUID(run_id)]))
    deadline = time.monotonic() + 30
    while not await prefect_client.read_logs(log_filter=log_filter, limit=1):
        assert time.monotonic() < deadline, "the API never received the run's logs"
        await asyncio.sleep(0.2)
    bridge = bridge_under("missing-run-test")

    await bridge.reconcile(prefect_client, with_logs=False)

    assert bridge.mirror.read_flow_run(run_id) is not None
    assert stack_redis.xlen(bridge.mirror.keys.logs(run_id)) > 0


async def test_a_run_redis_lacks_gets_its_lineage_back_from_the_engines_table(
    finished_run: str,
    bridge_under: Callable[[str], Bridge],
    mirror: RedisMirror,
    stack_dirs: Any,
    prefect_client: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Redis lost a finished run with its lineage (emptied, or the run dropped while still
    among Prefect's recent runs): the reconcile that mirrors the run again from Prefect puts
    its lineage back from the table the flow wrote; Prefect has no copy of it."""
    monkeypatch.setenv("AIWF_STATE_DIR", str(stack_dirs[0]))  # the engine's, and its table
    run_id = finished_run
    written: Any = wait_for(lambda: mirror.read_lineage(run_id), 30, "the run's lineage")
    bridge = bridge_under("lineage-refill-test")
    assert bridge.mirror.read_lineage(run_id) is None

    await bridge.reconcile(prefect_client, with_logs=False)

    back = bridge.mirror.read_lineage(run_id)
    assert back is not None, "the run came back without its lineage"
    assert back["input"]["sha256"] == written["input"]["sha256"]
    assert back["trigger"]["attempt"] == written["trigger"]["attempt"]
    assert [o["path"] for o in back["outputs"]] == [o["path"] for o in written["outputs"]]
    assert len(back["outputs"]) == 3
    attempt = str(written["trigger"]["attempt"])
    assert bridge.mirror.client.hget(bridge.mirror.keys.lineage_attempts(run_id), attempt)
    # The partitions' writers index comes back with it (the `w` screen).
    partition = partition_name(written["outputs"][0]["path"])
    writers = bridge.mirror.client.zrange(bridge.mirror.keys.writers(PROD, partition), 0, -1)
    assert writer_member(run_id, written["trigger"]["attempt"]).encode() in writers
