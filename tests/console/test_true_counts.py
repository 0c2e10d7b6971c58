"""The screen tells the truth about counts and durations (issue 7, item 4).

The runs title counts over every run the console holds, not over the table's newest 300;
the Writes column of "who wrote this" counts writes; a run's duration is its latest
attempt, with the total across attempts beside it, and the sparkline uses the latest.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import redis
from rich.console import Console
from textual.widgets import Label

from console.app import ConsoleApp
from console.screens.deployment import DeploymentScreen
from console.screens.partitions import PartitionsScreen
from console.screens.run import RunScreen
from console.screens.writers import WritersScreen
from console.widgets.deployment_runs_table import DeploymentRunsTable
from console.widgets.deployments_table import DeploymentsTable
from console.widgets.run_header import RunHeader
from console.widgets.runs_table import RUNS_SHOWN, RunsTable
from engine.contract.keys import Keys
from engine.store.mirror import RedisMirror
from tests.console.conftest import (
    AppFactory,
    at,
    deployment_doc,
    fill_standard,
    flow_run_doc,
    wait_for,
)
from tests.console.test_lineage import SHA_B, lineage_doc

HELD = 450
"""More runs than the table shows (RUNS_SHOWN), fewer than the console holds."""
FAILED = 143


def _title(app: ConsoleApp) -> str:
    return str(app.screen.query_one("#runs-title", Label).render())


def _fill_many(mirror: RedisMirror) -> None:
    """HELD runs one minute apart, newest first; every third of the oldest is failed, so
    most failed runs are older than the newest RUNS_SHOWN."""
    mirror.upsert_deployment(deployment_doc())
    failed = 0
    for i in range(HELD):
        start = at(-10 - i)
        is_failed = failed < FAILED and i >= 20 and i % 3 == 0
        failed += is_failed
        mirror.upsert_flow_run(
            flow_run_doc(
                f"run-{i:03d}",
                f"run-number-{i:03d}",
                state="FAILED" if is_failed else "COMPLETED",
                start=start,
                end=start + timedelta(seconds=30),
            )
        )
    assert failed == FAILED


async def test_title_counts_every_held_run_not_the_window(
    make_app: AppFactory, mirror: RedisMirror
) -> None:
    _fill_many(mirror)
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        runs = app.screen.query_one(RunsTable)
        await wait_for(pilot, lambda: len(app.store.flow_runs) == HELD, "every run held")
        await wait_for(pilot, lambda: runs.row_count == RUNS_SHOWN, "the table's window")
        assert _title(app).startswith(f"Runs: all deployments (newest 300 of {HELD} held)")
        assert runs.row_keys()[0] == "run-000"

        runs.focus()
        await pilot.press("f", "f")  # Failed
        assert runs.state_filter_label == "Failed"
        # Every failed run held is a row, though most are older than the newest 300 runs.
        assert runs.row_count == FAILED
        # No engine runs here: the held count stays, labelled so, and says why there is no
        # Prefect total (tests/integration/test_console_history.py has the engine's).
        held = f"({FAILED} of {HELD} held; no Prefect total: no engine)  Failed, any time"
        assert held in _title(app)
        assert "all time" not in _title(app)

        # `/` searches every held run, not only the newest 300 rows.
        await pilot.press("f", "f", "f", "f")  # back to All
        assert runs.state_filter_label == "All"
        await pilot.press("slash", *"run-number-44")
        await wait_for(pilot, lambda: runs.filter_text == "run-number-44", "the filter")
        assert sorted(runs.row_keys()) == [f"run-{i}" for i in range(440, 450)]
        assert "(10 of 450 held; no Prefect total" in _title(app)


async def test_a_run_arriving_live_moves_the_counts(
    make_app: AppFactory, mirror: RedisMirror
) -> None:
    fill_standard(mirror)
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        runs = app.screen.query_one(RunsTable)
        await wait_for(pilot, lambda: runs.row_count == 3, "runs")
        assert "(3 held)" in _title(app)
        mirror.upsert_flow_run(flow_run_doc("run-new", "new-newt", start=at(-1)))
        await wait_for(pilot, lambda: "(4 held)" in _title(app), "the title counts it")


def _write(
    mirror: RedisMirror, run_id: str, name: str, attempt: int, minutes: float, **kw: Any
) -> None:
    doc = lineage_doc(run_id, name, recorded=at(minutes), **kw)
    doc["trigger"] = doc["trigger"] | {"attempt": attempt}
    mirror.write_lineage(doc)


async def test_writes_are_counted_and_a_retried_runs_earlier_write_stays(
    make_app: AppFactory, mirror: RedisMirror, redis_client: redis.Redis, keys: Keys
) -> None:
    fill_standard(mirror)
    _write(mirror, "run-old", "first-run", 1, -300)
    _write(mirror, "run-failed", "brave-otter", 1, -85, status="failed", dates=("2026-11-01",))
    # Its retry writes the same partition again, from another input.
    _write(mirror, "run-failed", "brave-otter", 2, -80, sha=SHA_B, dates=("2026-11-01",))
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for(pilot, lambda: len(app.store.deployments) == 2, "deployments")
        await pilot.press("w")
        parts = app.screen
        assert isinstance(parts, PartitionsScreen)
        await wait_for(pilot, lambda: len(parts.rows) == 3, "three partitions")
        writes = {row.partition: row.writes for row in parts.rows.values()}
        # Two runs wrote date=2026-11-01, one of them twice: three writes.
        assert writes == {"date=2026-11-01": 3, "date=2026-11-02": 1, "date=2026-11-03": 1}
        assert [str(c) for c in parts.table.get_row_at(0)][1:3] == ["date=2026-11-01", "3"]

        await pilot.press("enter")
        writers = app.screen
        assert isinstance(writers, WritersScreen)
        await wait_for(pilot, lambda: writers.table.row_count == 3, "three writes")
        assert writers.run_ids == ["run-old", "run-failed", "run-failed"]
        rows = [[str(c) for c in writers.table.get_row_at(i)] for i in range(3)]
        # Each write shows its own attempt's lineage: status and input differ.
        assert rows[1][2:4] == ["brave-otter", "failed"]
        assert rows[1][5] == "a1b2c3d4e5f6"
        assert rows[2][2:4] == ["brave-otter, attempt 2", "completed"]
        assert rows[2][5] == "ffeeddccbbaa"
        assert "(3 writes)" in str(writers.query_one("#writers-title", Label).render())

        # enter on the earlier write opens its run.
        writers.table.move_cursor(row=1)
        await pilot.press("enter")
        assert isinstance(app.screen, RunScreen)
        assert app.screen.flow_run_id == "run-failed"


async def test_duration_is_the_latest_attempt_with_the_total_beside_it(
    make_app: AppFactory, mirror: RedisMirror
) -> None:
    fill_standard(mirror)  # run-failed: started 90 min ago, retry began 87 min ago, ended -80
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        runs = app.screen.query_one(RunsTable)
        await wait_for(pilot, lambda: runs.row_count == 3, "runs")
        cells = {key: [c.plain for c in runs.get_row(key)] for key in runs.row_keys()}
        assert cells["run-failed"][4] == "7m 00s (Σ 10m 00s)"
        # Not retried: one figure.
        assert cells["run-done"][4] == "5m 00s"
        assert cells["run-running"][4] == "5m 00s"

        runs.focus()
        runs.move_cursor(row=runs.row_keys().index("run-failed"))
        await pilot.press("enter")
        screen = app.screen
        assert isinstance(screen, RunScreen)
        await pilot.pause()
        header = screen.query_one(RunHeader)
        console = Console(width=200, record=True)
        console.print(header._render_run(app.store.flow_runs["run-failed"]))
        assert "duration 7m 00s (Σ 10m 00s)" in console.export_text()


async def test_a_retry_a_day_later_does_not_spike_the_sparkline(
    make_app: AppFactory, mirror: RedisMirror
) -> None:
    mirror.upsert_deployment(deployment_doc())
    for i in range(4):
        start = at(-60 * (i + 1))
        mirror.upsert_flow_run(
            flow_run_doc(
                f"run-{i}",
                f"steady-{i}",
                state="COMPLETED",
                start=start,
                end=start + timedelta(minutes=2),
            )
        )
    # First attempt a day ago (failed after 2 min), retried by the operator 10 min ago.
    mirror.upsert_flow_run(
        flow_run_doc(
            "run-retried",
            "late-lark",
            state="COMPLETED",
            start=at(-24 * 60),
            end=at(-8),
            run_count=2,
            attempt_start=at(-10),
            total=240.0,
        )
    )
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        table = app.screen.query_one(DeploymentsTable)
        await wait_for(pilot, lambda: table.row_count == 1, "the deployment")
        table.focus()
        await pilot.press("d")
        screen = app.screen
        assert isinstance(screen, DeploymentScreen)
        runs = screen.query_one(DeploymentRunsTable)
        await wait_for(pilot, lambda: runs.row_count == 5, "five runs")
        assert runs.get_row("run-retried")[3].plain == "2m 00s (Σ 4m 00s)"
        spark = screen._spark().plain.splitlines()[0]
        # Five runs of two minutes each: flat, not four low bars and a day-long spike.
        assert spark.endswith("█████"), spark


async def test_home_and_end_go_to_the_first_and_last_row(
    make_app: AppFactory, mirror: RedisMirror
) -> None:
    fill_standard(mirror)
    _write(mirror, "run-old", "first-run", 1, -300)
    _write(mirror, "run-failed", "brave-otter", 1, -85)
    _write(mirror, "run-failed", "brave-otter", 2, -80)
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        runs = app.screen.query_one(RunsTable)
        await wait_for(pilot, lambda: runs.row_count == 3, "runs")
        runs.focus()
        await pilot.press("end")
        assert runs.cursor_row == 2
        await pilot.press("home")
        assert runs.cursor_row == 0
        # A plain table too (the writers screen's).
        await pilot.press("w")
        parts = app.screen
        assert isinstance(parts, PartitionsScreen)
        await wait_for(pilot, lambda: len(parts.rows) == 3, "partitions")
        await pilot.press("enter")
        writers = app.screen
        assert isinstance(writers, WritersScreen)
        await wait_for(pilot, lambda: writers.table.row_count == 3, "writes")
        await pilot.press("end")
        assert writers.table.cursor_row == 2
        await pilot.press("home")
        assert writers.table.cursor_row == 0
