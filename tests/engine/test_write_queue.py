"""The bridge's batched writes (engine/bridge/write_queue.py) on a real Redis: what the
websocket handlers queue lands in Redis in arrival order, in fewer calls than items, and
a batch Redis failed (a restart) is written once Redis is back, nothing twice."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import redis
from prefect.client.schemas.objects import Log
from prefect.events.schemas.events import Event

from engine.bridge import write_queue
from engine.bridge.prefect_to_redis import Bridge
from engine.config.registry import Registry
from engine.contract.documents import LogLine, TaskRun
from engine.contract.keys import Keys
from engine.stack.launcher import EmbeddedRedis
from engine.store.mirror import RedisMirror
from engine.store.off_loop import EngineStore, RedisCalls

START = datetime(2026, 12, 3, 9, 0, tzinfo=timezone.utc)


def task_event(task_id: str, flow_run: str, state: str, second: int) -> Event:
    return Event.model_validate(
        {
            "occurred": START + timedelta(seconds=second),
            "event": f"prefect.task-run.{state.title()}",
            "resource": {"prefect.resource.id": f"prefect.task-run.{task_id}"},
            "related": [
                {
                    "prefect.resource.id": f"prefect.flow-run.{flow_run}",
                    "prefect.resource.role": "flow-run",
                }
            ],
            "payload": {
                "task_run": {"name": "run_inference", "run_count": 1},
                "validated_state": {"type": state, "name": state.title()},
            },
        }
    )


def log(flow_run: str, n: int) -> Log:
    return Log(
        id=uuid.uuid4(),
        name="prefect.task_runs",
        level=20,
        message=f"line {n}",
        timestamp=START + timedelta(milliseconds=n),  # type: ignore[arg-type]
        flow_run_id=uuid.UUID(flow_run),
    )


class CountingCalls(RedisCalls):
    """The Redis thread, counting the calls made on it."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    async def __call__(self, fn: Any, /, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        return await super().__call__(fn, *args, **kwargs)


async def test_handlers_queue_and_one_writer_writes_in_arrival_order(
    redis_client: redis.Redis, keys: Keys
) -> None:
    calls = CountingCalls()
    store = EngineStore(redis_client, keys, RedisMirror(redis_client, keys), call=calls)
    bridge = Bridge(store, Registry(), lambda _name: None)
    run = str(uuid.uuid4())
    tasks = [str(uuid.uuid4()) for _ in range(50)]
    try:
        for second, state in enumerate(["PENDING", "RUNNING", "COMPLETED"]):
            for task in tasks:
                await bridge._on_event(task_event(task, run, state, second))
        # A late event (an older state) must not undo the newest one.
        await bridge._on_event(task_event(tasks[0], run, "RUNNING", 1))
        for n in range(2_000):
            await bridge._on_log(log(run, n))
        await bridge.writes.drained()
    finally:
        calls.close()
    stored = store.mirror.read_task_runs(run)
    assert {doc["id"]: doc["state_type"] for doc in stored.values()} == dict.fromkeys(
        tasks, "COMPLETED"
    )
    entries: Any = redis_client.xrange(keys.logs(run))
    assert [f[b"msg"].decode() for _, f in entries] == [f"line {n}" for n in range(2_000)]
    assert calls.calls < 2_151 / 10, "the writes were not batched"


async def test_a_batch_redis_failed_is_written_once_it_is_back(
    keys: Keys, tmp_path_factory: pytest.TempPathFactory, caplog: pytest.LogCaptureFixture
) -> None:
    server = EmbeddedRedis(Path(tmp_path_factory.mktemp("wq")))
    server.start()
    client = redis.Redis.from_url(server.url, socket_timeout=2)
    calls = RedisCalls()
    store = EngineStore(client, keys, RedisMirror(client, keys), call=calls)
    bridge = Bridge(store, Registry(), lambda _name: None)
    run = str(uuid.uuid4())
    try:
        await bridge._on_log(log(run, 0))
        await bridge.writes.drained()
        server.stop()
        for n in range(1, 101):
            await bridge._on_log(log(run, n))
        bridge.writes.add_task_run(
            TaskRun(
                id="t1",
                flow_run_id=run,
                name="t",
                state_type="RUNNING",
                updated="2026-12-03T09:00:00+00:00",
            )
        )
        for _ in range(100):  # until a try has failed
            if any("Redis failed" in r.getMessage() for r in caplog.records):
                break
            await asyncio.sleep(0.1)
        assert any(
            "could not write 1 task runs and 100 log lines" in r.getMessage()
            for r in caplog.records
        )
        assert bridge.writes.queued == 101
        server.start()
        await asyncio.wait_for(bridge.writes.drained(), 30)
        entries: Any = client.xrange(keys.logs(run))
        assert [f[b"msg"].decode() for _, f in entries] == [f"line {n}" for n in range(101)]
        assert store.mirror.read_task_runs(run)["t1"]["state_type"] == "RUNNING"
    finally:
        calls.close()
        client.close()
        server.stop()


def test_lines_of_many_runs_go_in_one_pipeline(redis_client: redis.Redis, keys: Keys) -> None:
    mirror = RedisMirror(redis_client, keys)
    line = LogLine(ts=START.isoformat(), level="20", level_name="INFO", msg="hello")
    assert mirror.append_logs_of({"a": [line] * 3, "b": [line], "c": []}) == 4
    assert redis_client.xlen(keys.logs("a")) == 3 and redis_client.xlen(keys.logs("b")) == 1
    assert not redis_client.hexists(keys.log_bytes, "c")


async def test_a_batch_that_cannot_be_written_is_dropped_and_the_next_goes_on(
    redis_client: redis.Redis, keys: Keys, caplog: pytest.LogCaptureFixture
) -> None:
    calls = RedisCalls()
    mirror = RedisMirror(redis_client, keys)
    store = EngineStore(redis_client, keys, mirror, call=calls)
    bridge = Bridge(store, Registry(), lambda _name: None)
    run = str(uuid.uuid4())
    good = TaskRun(id="t1", flow_run_id=run, state_type="RUNNING", updated=START.isoformat())
    try:
        mirror.upsert_task_run(good)
        # An event whose time does not parse: judging it against the stored state fails.
        bridge.writes.add_task_run(TaskRun(id="t1", flow_run_id=run, updated="not a time"))
        await asyncio.wait_for(bridge.writes.drained(), 10)
        assert any("dropped 1 task runs" in r.getMessage() for r in caplog.records)
        later = TaskRun(
            id="t1",
            flow_run_id=run,
            state_type="COMPLETED",
            updated=START.replace(hour=10).isoformat(),
        )
        bridge.writes.add_task_run(later)
        await asyncio.wait_for(bridge.writes.drained(), 10)
        assert mirror.read_task_runs(run)["t1"]["state_type"] == "COMPLETED"
    finally:
        calls.close()


async def test_a_full_queue_makes_the_handler_wait_until_it_is_written(
    redis_client: redis.Redis, keys: Keys, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(write_queue, "ROOM", 50)
    calls = RedisCalls()
    store = EngineStore(redis_client, keys, RedisMirror(redis_client, keys), call=calls)
    bridge = Bridge(store, Registry(), lambda _name: None)
    run = str(uuid.uuid4())
    try:
        for n in range(49):
            bridge.writes.add_logs(run, [LogLine(msg=f"line {n}")])
        assert not bridge.writes.waits  # below ROOM: nothing written yet
        assert bridge.writes.queued == 49 and redis_client.xlen(keys.logs(run)) == 0
        await bridge._on_log(log(run, 49))  # the 50th: the handler waits for the writes
        assert bridge.writes.queued == 0 and redis_client.xlen(keys.logs(run)) == 50
    finally:
        calls.close()


async def test_a_burst_is_written_while_the_handlers_still_take_it(
    redis_client: redis.Redis, keys: Keys, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Handlers that never wait (a burst the websocket had buffered) let the writer run
    every TURN_ITEMS items, so Redis writes the burst's start while the rest comes in."""
    monkeypatch.setattr(write_queue, "TURN_ITEMS", 10)
    calls = RedisCalls()
    mirror = RedisMirror(redis_client, keys)
    batches: list[int] = []
    append = mirror.append_logs_of

    def counted(lines_by_run: Any) -> int:
        batches.append(sum(len(lines) for lines in lines_by_run.values()))
        return append(lines_by_run)

    monkeypatch.setattr(mirror, "append_logs_of", counted)
    bridge = Bridge(
        EngineStore(redis_client, keys, mirror, call=calls), Registry(), lambda _name: None
    )
    run = str(uuid.uuid4())
    try:
        for n in range(100):
            await bridge._on_log(log(run, n))
        await asyncio.wait_for(bridge.writes.drained(), 10)
        assert redis_client.xlen(keys.logs(run)) == 100
        assert batches[0] <= 10, "the writer started with the burst's first turn"
        assert len(batches) > 1 and sum(batches) == 100
    finally:
        calls.close()
