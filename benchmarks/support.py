"""Helpers shared by the benchmarks: goals recorded with each result, filling Redis.

Every benchmark states its goal twice: in its docstring for the reader, and through `goal()`
in the result's `extra_info`, so `benchmarks/report.py` can print goal vs. measured.
"""

from __future__ import annotations

import asyncio
import math
import os
import time
from collections.abc import Callable, Sequence
from typing import Any, Literal

from textual import events
from textual.app import App
from textual.widget import Widget

from engine.store.mirror import RedisMirror
from tests.console.conftest import at, deployment_doc, flow_run_doc, task_run_doc

Metric = Literal["median_s", "p95_s", "per_second", "value"]
"""What a goal is about: a round's median or 95th percentile time, items per second, or a
`value` the benchmark measured itself (`record`): RSS, CPU %, a p95 from its own samples."""


def goal(benchmark: Any, text: str, metric: Metric, value: float, items: int = 1) -> None:
    """Records the goal (e.g. `< 1 s`) with the result.

    Args:
        text: the goal as docs/benchmarks.md states it.
        metric: which statistic of the rounds the goal bounds.
        value: the bound (seconds; for `per_second`, the least items per second).
        items: items handled per round (for `per_second`).
    """
    benchmark.extra_info.update(goal=text, metric=metric, goal_value=value, items=items)
    benchmark.extra_info["load_avg"] = list(os.getloadavg())


def anchor(benchmark: Any, name: str, value: float, goal_on_ratio: bool = True) -> None:
    """Records the anchor measured in the same run (in the measured figure's unit); with
    `goal_on_ratio` the goal bounds measured / anchor (e.g. `<= 0.25x`), not measured."""
    benchmark.extra_info.update(anchor=name, anchor_value=value)
    if goal_on_ratio:
        benchmark.extra_info["goal_on"] = "ratio"


def record(benchmark: Any, value: float, unit: str, higher_is_better: bool = False) -> None:
    """Records a figure measured outside the timed rounds (metric `value`) in `unit`
    ("s", "MB", "%", "B/s", "x" ...), and the load average at the end of the measurement."""
    benchmark.extra_info.update(
        metric="value", value=value, unit=unit, higher_is_better=higher_is_better
    )
    benchmark.extra_info["load_avg"] = list(os.getloadavg())


def note(benchmark: Any, text: str) -> None:
    """A secondary figure printed under the report's table (e.g. import time apart)."""
    benchmark.extra_info.setdefault("notes", []).append(text)


def percentile(samples: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile (`fraction` 0.95: p95) of non-empty `samples`."""
    ordered = sorted(samples)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def fill_console(mirror: RedisMirror, deployments: int = 20, runs: int = 1000) -> list[str]:
    """A busy installation: `deployments` deployments and `runs` finished runs with tasks.

    Returns the deployment names. 1,000 runs is what Redis keeps (`RUNS_KEPT`).
    """
    names = [f"pipeline-{n:02d}" for n in range(deployments)]
    for name in names:
        mirror.upsert_deployment(deployment_doc(name))
    for n in range(runs):
        run_id = f"run-{n:04d}"
        start = at(-10 * (runs - n))
        mirror.upsert_flow_run(
            flow_run_doc(
                run_id,
                f"run-{n}",
                deployment=names[n % deployments],
                state="COMPLETED" if n % 7 else "FAILED",
                start=start,
                end=at(-10 * (runs - n) + 3),
            )
        )
        if n >= runs - 50:  # the recent runs have their task runs mirrored too
            mirror.upsert_task_run(task_run_doc(f"task-{n:04d}", run_id, "run_inference-0"))
    return names


async def until(condition: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    """Lets the event loop run until `condition()` holds (checked every millisecond, so the
    wait adds at most ~1 ms to a latency); fails with `what` after `timeout` s."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.001)


async def press_and_draw(
    app: App[Any], key: str, state: Callable[[], object], drawn: Widget
) -> float | None:
    """Seconds from a key reaching `app` until `state()` shows its effect and `drawn` has
    been redrawn after it; None if the key changed nothing within 2 s.

    `pilot.press` times more than the key: it waits until the process is idle, sleeping
    at least 20 ms twice (Textual's `wait_for_idle`), and a screen working in the
    background (reading a log's index) is never idle, so each press took its 1 s cap twice.
    """
    before = state()
    started = time.perf_counter()
    app.post_message(events.Key(key, key if len(key) == 1 else None))
    try:
        await until(lambda: state() != before, f"the effect of {key}", 2)
    except AssertionError:
        return None
    await drawn.wait_for_refresh()
    return time.perf_counter() - started
