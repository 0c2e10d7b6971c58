"""SVG snapshots of the run timeline of a failed and of a running run, at 80x24 and 160x48
(same fixed clock, ids and prefix as test_snapshots.py). Update with
`pytest tests/console/test_timeline_snapshots.py --snapshot-update`, then look at the SVGs."""

from __future__ import annotations

from typing import Any

import pytest
from textual.pilot import Pilot

from console.app import ConsoleApp
from console.screens.run import RunScreen
from console.screens.timeline import TimelineScreen
from console.widgets.runs_table import RunsTable
from console.widgets.task_runs_table import TaskRunsTable
from console.widgets.timeline import RunTimeline
from tests.console.conftest import wait_for, wait_tables_sized
from tests.console.test_snapshots import _loaded, snap_app, snap_keys

__all__ = ["snap_app", "snap_keys"]  # fixtures, imported to be found by pytest

SIZES = pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=["80x24", "160x48"])


@SIZES
def test_timeline_of_a_failed_run(
    snap_compare: Any, snap_app: ConsoleApp, size: tuple[int, int]
) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await _loaded(pilot)
        runs = pilot.app.screen.query_one(RunsTable)
        runs.focus()
        runs.move_cursor(row=1)
        await pilot.press("enter")
        screen = pilot.app.screen
        assert isinstance(screen, RunScreen)
        await wait_for(pilot, lambda: screen.query_one(TaskRunsTable).row_count == 3, "tasks")
        await pilot.press("g")
        assert isinstance(pilot.app.screen, TimelineScreen)
        chart = pilot.app.screen.query_one(RunTimeline)
        await wait_for(pilot, lambda: "save_results-0" in str(chart.render()), "chart")
        await wait_tables_sized(pilot)

    assert snap_compare(snap_app, terminal_size=size, run_before=run_before)


@SIZES
def test_timeline_of_a_running_run(
    snap_compare: Any, snap_app: ConsoleApp, size: tuple[int, int]
) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await _loaded(pilot)
        app = pilot.app
        app.screen.query_one(RunsTable).focus()
        await pilot.press("colon", *"tl", "enter")
        assert isinstance(app.screen, TimelineScreen)
        chart = app.screen.query_one(RunTimeline)
        await wait_for(pilot, lambda: "infer-0" in str(chart.render()), "chart")
        await wait_tables_sized(pilot)

    assert snap_compare(snap_app, terminal_size=size, run_before=run_before)
