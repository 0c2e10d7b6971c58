"""Mirror throughput: how fast the engine's `RedisMirror` writes what the bridge receives."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from benchmarks.support import goal
from engine.store.mirror import RedisMirror
from tests.console.conftest import NOW, log_line, task_run_doc

pytestmark = pytest.mark.bench

TASK_RUNS = 1_000
"""Task-run documents per round (upserts of new task runs)."""
LOG_LINES = 20_000
"""Log lines per round, appended in batches of LOG_BATCH."""
LOG_BATCH = 500


def test_task_run_upserts_per_second(benchmark: Any, mirror: RedisMirror) -> None:
    """`upsert_task_run` of new task runs (read the current doc, then hash + update entry
    in one MULTI), one at a time as events arrive. Goal: > 1,000 task runs/s (a busy run
    emits a few state events per task)."""
    goal(benchmark, "> 1,000 /s", "per_second", 1_000, items=TASK_RUNS)
    rounds = itertools.count()

    def batch() -> tuple[tuple[list[dict[str, Any]]], dict[str, Any]]:
        n = next(rounds)
        run_id = f"run-{n}"
        docs = [task_run_doc(f"task-{n}-{i}", run_id, f"t-{i}") for i in range(TASK_RUNS)]
        return (docs,), {}

    def write(docs: list[dict[str, Any]]) -> None:
        for doc in docs:
            mirror.upsert_task_run(doc)

    benchmark.pedantic(write, setup=batch, rounds=5, warmup_rounds=1)
    assert len(mirror.read_task_runs("run-1")) == TASK_RUNS


def test_log_lines_per_second(benchmark: Any, mirror: RedisMirror) -> None:
    """`append_logs` (pipelined XADD) in batches of 500 lines, as the bridge's log
    websocket hands them over. Goal: > 20,000 lines/s."""
    goal(benchmark, "> 20,000 /s", "per_second", 20_000, items=LOG_LINES)
    lines = [
        log_line(NOW, f"batch {i} scored 64 rows", task_run_id="task-a") for i in range(LOG_BATCH)
    ]

    def write() -> None:
        for _ in range(LOG_LINES // LOG_BATCH):
            mirror.append_logs("run-logs", lines)

    benchmark.pedantic(write, rounds=5, warmup_rounds=1)
    assert mirror.client.xlen(mirror.keys.logs("run-logs")) == 6 * LOG_LINES
