"""Bridge throughput: synthetic Prefect events and log lines through the bridge's own
handlers (`Bridge._on_event`, `Bridge._on_log`, as its websocket loops call them, one item
at a time) until Redis holds them (the handlers queue them; `WriteQueue` writes them in
batches: the round ends when it has written the last).

Issue 12, item 6: >= 10,000 Prefect events/s into Redis, with the bridge's CPU per 1,000
events; log lines >= 50,000/s. The anchor is the mirror alone (`RedisMirror.upsert_task_run`
/ `append_logs` called directly, no handler, no thread hop), measured in the same run.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from datetime import datetime, timezone
from typing import Any

import pytest
import redis
from prefect.client.schemas.objects import Log
from prefect.events.schemas.events import Event

from benchmarks.support import goal
from engine.bridge.documents import log_fields, task_run_doc_from_event
from engine.bridge.prefect_to_redis import Bridge
from engine.config.registry import Registry
from engine.contract.keys import Keys
from engine.store.off_loop import EngineStore

pytestmark = pytest.mark.bench

EVENTS = 5_000
"""Task-run events per round (each a new state of one of 500 task runs)."""
LOG_LINES = 20_000
"""Log lines per round."""


def task_run_events(count: int, flow_run: str) -> list[Event]:
    """`count` task-run state events as Prefect's event websocket hands them over."""
    states = [("PENDING", "Pending"), ("RUNNING", "Running"), ("COMPLETED", "Completed")]
    task_ids = [str(uuid.uuid4()) for _ in range(max(1, count // len(states)))]
    events = []
    for n in range(count):
        task_id = task_ids[n % len(task_ids)]
        state_type, state_name = states[(n // len(task_ids)) % len(states)]
        events.append(
            Event(
                occurred=datetime.now(timezone.utc),
                event=f"prefect.task-run.{state_name}",
                resource={
                    "prefect.resource.id": f"prefect.task-run.{task_id}",
                    "prefect.resource.name": f"run_inference-{n % 100}",
                    "prefect.state-type": state_type,
                    "prefect.state-name": state_name,
                },
                related=[
                    {
                        "prefect.resource.id": f"prefect.flow-run.{flow_run}",
                        "prefect.resource.role": "flow-run",
                    }
                ],
                payload={
                    "task_run": {"name": f"run_inference-{n % 100}", "run_count": 1},
                    "validated_state": {"type": state_type, "name": state_name},
                },
            )
        )
    return events


def log_objects(count: int, flow_run: str) -> list[Log]:
    run = uuid.UUID(flow_run)
    now = datetime.now(timezone.utc)
    return [
        Log(
            id=uuid.uuid4(),
            name="prefect.task_runs",
            level=20,
            message=f"batch {n} scored 64 rows",
            timestamp=now,
            flow_run_id=run,
        )
        for n in range(count)
    ]


def _cpu() -> float:
    times = os.times()
    return times.user + times.system


def _bridge(redis_client: redis.Redis, keys: Keys) -> Bridge:
    return Bridge(EngineStore.over(redis_client, keys), Registry(), lambda _name: None)


def test_bridge_task_run_events_per_second(
    benchmark: Any, redis_client: redis.Redis, keys: Keys
) -> None:
    """Task-run events through `Bridge._on_event` into Redis. Goal: >= 10,000 events/s.
    Anchor: the same documents through `RedisMirror.upsert_task_run` directly."""
    goal(benchmark, ">= 10,000 /s", "per_second", 10_000, items=EVENTS)
    bridge = _bridge(redis_client, keys)
    runner = asyncio.Runner()
    cpu: list[float] = []

    def batch() -> tuple[tuple[list[Event]], dict[str, Any]]:
        return (task_run_events(EVENTS, str(uuid.uuid4())),), {}

    async def feed(events: list[Event]) -> None:
        for event in events:
            await bridge._on_event(event)
        await bridge.writes.drained()  # until Redis holds them all

    def run(events: list[Event]) -> None:
        before = _cpu()
        runner.run(feed(events))
        cpu.append(_cpu() - before)

    try:
        benchmark.pedantic(run, setup=batch, rounds=5, warmup_rounds=1)
        # The anchor: the mirror's own writes of the same documents, no handler, no hop.
        events = task_run_events(EVENTS, str(uuid.uuid4()))
        docs = [task_run_doc_from_event(event) for event in events]
        started = time.perf_counter()
        for doc in docs:
            assert doc is not None
            bridge.mirror.upsert_task_run(doc)
        anchor = time.perf_counter() - started
    finally:
        runner.close()
        bridge.call.close()
    cpu_ms_per_1000 = sorted(cpu)[len(cpu) // 2] / EVENTS * 1000 * 1000
    benchmark.extra_info.update(
        # bench-a's report keys (benchmarks/support.py's anchor/note on their branch).
        anchor="RedisMirror.upsert_task_run directly",
        anchor_value=EVENTS / anchor,
        load_avg=list(os.getloadavg()),
        notes=[f"bridge CPU {cpu_ms_per_1000:.0f} ms per 1,000 task-run events"],
    )
    last = events[-1].related[0].id.rsplit(".", 1)[-1]
    assert len(bridge.mirror.read_task_runs(last)) == EVENTS // 3


def test_bridge_log_lines_per_second(benchmark: Any, redis_client: redis.Redis, keys: Keys) -> None:
    """Log lines through `Bridge._on_log` (one per call, as the log websocket delivers
    them) into the run's stream. Goal: >= 50,000 lines/s. Anchor: `append_logs` of
    the same lines in batches of 500, directly."""
    goal(benchmark, ">= 50,000 /s", "per_second", 50_000, items=LOG_LINES)
    bridge = _bridge(redis_client, keys)
    runner = asyncio.Runner()
    run_id = str(uuid.uuid4())
    cpu: list[float] = []

    def batch() -> tuple[tuple[list[Log]], dict[str, Any]]:
        return (log_objects(LOG_LINES, run_id),), {}

    async def feed(logs: list[Log]) -> None:
        for log in logs:
            await bridge._on_log(log)
        await bridge.writes.drained()  # until Redis holds them all

    def run(logs: list[Log]) -> None:
        before = _cpu()
        runner.run(feed(logs))
        cpu.append(_cpu() - before)

    try:
        benchmark.pedantic(run, setup=batch, rounds=3, warmup_rounds=1)
        cpu_ms_per_1000 = sorted(cpu)[len(cpu) // 2] / LOG_LINES * 1000 * 1000
        lines = [log_fields(log) for log in log_objects(LOG_LINES, run_id)]
        started = time.perf_counter()
        for start in range(0, LOG_LINES, 500):
            bridge.mirror.append_logs("anchor", lines[start : start + 500])
        anchor = time.perf_counter() - started
    finally:
        runner.close()
        bridge.call.close()
    benchmark.extra_info.update(
        anchor="RedisMirror.append_logs, batches of 500, directly",
        anchor_value=LOG_LINES / anchor,
        load_avg=list(os.getloadavg()),
        notes=[f"bridge CPU {cpu_ms_per_1000:.0f} ms per 1,000 log lines"],
    )
    assert redis_client.xlen(keys.logs(run_id)) == 4 * LOG_LINES
