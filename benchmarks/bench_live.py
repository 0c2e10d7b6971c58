"""Live latency: a flow run state written by the engine's mirror, seen by the console."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from benchmarks.app_session import AppSession
from benchmarks.support import fill_console, goal, until
from console.app import ConsoleApp
from engine.contract.keys import Keys
from engine.stack.launcher import EmbeddedRedis
from engine.store.mirror import RedisMirror
from tests.console.conftest import NOW, flow_run_doc

pytestmark = pytest.mark.bench

STATES = ("PENDING", "RUNNING", "COMPLETED", "FAILED")


def test_flow_run_state_reaches_the_store(
    benchmark: Any, redis_server: EmbeddedRedis, mirror: RedisMirror, keys: Keys
) -> None:
    """`RedisMirror.upsert_flow_run` of a new state -> the running console's store holds it
    (one XREAD BLOCK wake-up, a `FlowRunsChanged` message, the store applied). Goal:
    p95 < 100 ms (a state change feels instant), over a Redis with 1,000 runs.
    """
    goal(benchmark, "p95 < 100 ms", "p95_s", 0.1)
    fill_console(mirror)
    session = AppSession(lambda: ConsoleApp(redis_server.url, keys, now=lambda: NOW))
    app = session.open()
    try:
        session.run(until(lambda: "run-0999" in app.store.flow_runs, "the snapshot"))
        updated = itertools.count(1)

        def next_state() -> tuple[tuple[dict[str, Any]], dict[str, Any]]:
            n = next(updated)
            doc = flow_run_doc(
                "run-0999",
                "run-999",
                state=STATES[n % len(STATES)],
                updated=datetime.now(timezone.utc) + timedelta(microseconds=n),
            )
            return (doc,), {}

        def write_and_see(doc: dict[str, Any]) -> None:
            assert mirror.upsert_flow_run(doc)
            store = app.store
            session.run(until(lambda: store.flow_runs["run-0999"].updated == doc["updated"], "it"))

        benchmark.pedantic(write_and_see, setup=next_state, rounds=100, warmup_rounds=5)
    finally:
        session.close()
