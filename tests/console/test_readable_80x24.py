"""Readable at 80x24 (issue 7): no duration is cut into a misleading value, columns that do
not fit are dropped whole by priority, the next fire times show, `?` uses the width and
lists the console's keys only, and a notification leaves the status line uncovered."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from textual.app import App
from textual.widgets import DataTable
from textual.widgets._toast import Toast

from console.screens.deployment import DeploymentScreen
from console.screens.help import HelpScreen
from console.screens.run import RunScreen
from console.widgets.column_fit import ShownColumn, TableColumn, fit_columns
from console.widgets.deployment_runs_table import DeploymentRunsTable
from console.widgets.deployments_table import DeploymentsTable
from console.widgets.keyed_table import KeyedTable
from console.widgets.runs_table import RunsTable
from console.widgets.status_bar import StatusBar
from console.widgets.task_runs_table import TaskRunsTable
from engine.store.mirror import RedisMirror
from tests.console.conftest import (
    AppFactory,
    at,
    deployment_doc,
    fill_standard,
    flow_run_doc,
    task_run_doc,
    wait_for,
)
from tests.console.test_help import help_rows

DURATIONS = {"895ms": 0.895, "2m 19s": 139.0, "1h 02m": 3720.0}
"""Shown text -> seconds: the values the issue saw cut (`895m`, `2m 1`)."""

LONG_DEPLOYMENT = "ai-inference-canary-eu"


def lines(table: DataTable[Any]) -> list[str]:
    """The table as drawn: header first, one string per screen line."""
    return [table.render_line(y).text for y in range(table.size.height)]


def fill_durations(mirror: RedisMirror) -> None:
    """Runs and tasks whose durations are 895ms, 2m 19s and 1h 02m, with long names so
    the columns are wider than 80 in all."""
    mirror.upsert_deployment(deployment_doc(LONG_DEPLOYMENT, tz="Europe/London"))
    for n, seconds in enumerate(DURATIONS.values()):
        start = at(-30 - 70 * n)
        mirror.upsert_flow_run(
            flow_run_doc(
                f"run-{n}",
                f"translucent-chameleon-{n}",
                deployment=LONG_DEPLOYMENT,
                state="COMPLETED",
                start=start,
                end=start + timedelta(seconds=seconds),
                run_count=1,
            )
        )
        mirror.upsert_task_run(
            task_run_doc(
                f"task-{n}",
                "run-0",
                f"save_results_to_partitioned_parquet-{n}",
                start=start,
                end=start + timedelta(seconds=seconds),
            )
        )


def assert_durations_whole(table: KeyedTable, wanted: dict[str, str]) -> None:
    """Nothing scrolls sideways, the Duration column shows, and every row's duration
    reads in full on its line (`wanted`: row key -> duration text)."""
    assert table.virtual_size.width <= table.size.width, "the table is cut at the right"
    assert "duration" in table.shown_column_keys()
    drawn = lines(table)
    assert "Duration" in drawn[0]
    for key, text in wanted.items():
        line = drawn[1 + table.get_row_index(key)]
        assert f" {text} " in f"{line} ", f"{key}: {text!r} not whole in {line!r}"


async def test_no_duration_is_cut_at_80x24(make_app: AppFactory, mirror: RedisMirror) -> None:
    fill_durations(mirror)
    app = make_app()
    texts = list(DURATIONS)
    async with app.run_test(size=(80, 24)) as pilot:
        runs = app.screen.query_one(RunsTable)
        await wait_for(pilot, lambda: runs.row_count == 3, "runs")
        await pilot.pause()
        assert_durations_whole(runs, {f"run-{n}": text for n, text in enumerate(texts)})
        # Room was made by dropping whole columns, not by cutting text.
        assert "attempts" not in runs.shown_column_keys()
        assert "Attempts" not in lines(runs)[0] and "Att" not in lines(runs)[0]

        app.push_screen(RunScreen(app.ctx, "run-0"))
        await pilot.pause()
        tasks = app.screen.query_one(TaskRunsTable)
        await wait_for(pilot, lambda: tasks.row_count == 3, "tasks")
        await pilot.pause()
        assert_durations_whole(tasks, {f"task-{n}": text for n, text in enumerate(texts)})

        app.pop_screen()
        app.push_screen(DeploymentScreen(app.ctx, LONG_DEPLOYMENT))
        await pilot.pause()
        recent = app.screen.query_one(DeploymentRunsTable)
        await wait_for(pilot, lambda: recent.row_count == 3, "deployment runs")
        await pilot.pause()
        assert_durations_whole(recent, {f"run-{n}": text for n, text in enumerate(texts)})


@pytest.mark.parametrize("width", [160, 100, 80, 60, 40])
async def test_columns_that_do_not_fit_are_dropped_whole_by_priority(
    width: int, make_app: AppFactory, mirror: RedisMirror
) -> None:
    fill_standard(mirror)
    fill_durations(mirror)
    app = make_app()
    async with app.run_test(size=(width, 30)) as pilot:
        runs = app.screen.query_one(RunsTable)
        await wait_for(pilot, lambda: runs.row_count == 6, "runs")
        await pilot.pause()
        for table in (runs, app.screen.query_one(DeploymentsTable)):
            shown = table.shown_column_keys()
            priority = {column.key: column.priority for column in table.COLUMNS}
            # Idle columns (nothing to say, e.g. Served by with only our own deployments) are
            # left out whatever the width: not dropped for space.
            idle = table.idle_columns()
            dropped = [key for key in table.column_keys() if key not in shown and key not in idle]
            assert all(priority[d] > priority[s] for d in dropped for s in shown), (
                f"{shown} shown, {dropped} dropped"
            )
            assert table.virtual_size.width <= table.size.width
            header = lines(table)[0]
            for column in table.COLUMNS:
                if column.key not in idle:
                    assert (column.label in header) == (column.key in shown), header
            # The cells the table holds are the shown columns' (and row_cells has all).
            key = table.row_keys()[0]
            assert len(table.get_row(key)) == len(shown)
            assert len(table.row_cells(key)) == len(table.COLUMNS)
        if width >= 160:
            assert runs.shown_column_keys() == runs.column_keys()
        if width <= 60:
            assert len(runs.shown_column_keys()) < len(runs.COLUMNS)


def test_fit_columns_drops_the_least_important_and_cuts_free_text_first() -> None:
    columns = (
        TableColumn("name", "Run", 1),
        TableColumn("message", "Message", 4, min_width=10),
        TableColumn("duration", "Duration", 2),
        TableColumn("attempts", "Attempts", 3),
    )
    widths = [12, 40, 8, 8]  # 2 cells of padding each: 76 in all
    whole = tuple(ShownColumn(i) for i in range(4))
    assert fit_columns(columns, widths, 76, 1) == whole
    # Short of room: the message is cut (never the duration), then whole columns go.
    assert fit_columns(columns, widths, 60, 1) == (
        ShownColumn(0),
        ShownColumn(1, cut_to=24),
        ShownColumn(2),
        ShownColumn(3),
    )
    assert fit_columns(columns, widths, 46, 1) == (
        ShownColumn(0),
        ShownColumn(1, cut_to=10),
        ShownColumn(2),
        ShownColumn(3),
    )
    assert fit_columns(columns, widths, 45, 1) == (
        ShownColumn(0),
        ShownColumn(2),
        ShownColumn(3),
    )
    assert fit_columns(columns, widths, 33, 1) == (ShownColumn(0), ShownColumn(2))
    # The most important column stays even when nothing fits.
    assert fit_columns(columns, widths, 5, 1) == (ShownColumn(0),)
    with pytest.raises(ValueError, match="min_width"):
        TableColumn("x", "Message", 1, min_width=3)


async def test_next_fire_times_show_at_80x24(make_app: AppFactory, mirror: RedisMirror) -> None:
    fill_standard(mirror)
    # As the demo's: a description and parameters that wrap over several lines at 80.
    mirror.upsert_deployment(
        deployment_doc(updated=at(0))
        | {
            "description": "Daily production batch scored with scorer-v1, written as "
            "date-partitioned parquet. " * 2,
            "parameters": {
                "source": "/home/ops/.local/state/aiwf-console/demo/input/daily_batch.csv",
                "target": "/home/ops/.local/state/aiwf-console/demo/output/predictions",
                "model": "scorer-v1",
            },
        }
    )
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.screen.query_one(RunsTable).row_count == 3, "runs")
        await wait_for(
            pilot,
            lambda: "scorer-v1" in str(app.store.deployments["ai-inference-prod"]),
            "the long description",
        )
        app.push_screen(DeploymentScreen(app.ctx, "ai-inference-prod"))
        await pilot.pause()
        screen = app.screen
        body = screen.query_one("#deployment-body").region
        fires = screen.query_one("#deployment-fires")
        visible = fires.region.intersection(body)
        # The zone header line and at least two fire times are on screen.
        assert visible.y == fires.region.y and visible.height >= 3, (visible, body)
        found, _ = screen.get_widget_at(visible.x + 1, visible.y + 1)
        assert found is fires
        assert "Thu 11-26 02:00 CST" in fires.render().plain.splitlines()[1]  # type: ignore[union-attr]


INTERNAL_KEYS = ("super+c", "^c", "^pgup", "^pgdn", "^home", "^end", "^q")


@pytest.mark.parametrize("size", [(80, 24), (160, 48), (40, 10)], ids=str)
async def test_help_uses_the_width_and_lists_only_the_consoles_keys(
    size: tuple[int, int], make_app: AppFactory, mirror: RedisMirror
) -> None:
    fill_standard(mirror)
    app = make_app()
    async with app.run_test(size=size) as pilot:
        await wait_for(pilot, lambda: app.screen.query_one(RunsTable).row_count == 3, "runs")
        app.screen.query_one(RunsTable).focus()
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.pause()
        dialog = app.screen.query_one("#help-dialog")
        table = app.screen.query_one("#help-table", DataTable)
        assert dialog.region.width == size[0]
        assert table.virtual_size.width <= table.size.width, "columns cut at the right"
        rows = help_rows(app)
        for key in INTERNAL_KEYS:
            assert key not in rows, f"{key} ({rows.get(key)}) is Textual's, not the console's"
        assert rows["t"] == "Trigger" and rows["space"] == "Mark" and rows["tab"]
        assert rows[":deploy"].startswith("The deployments")
        # Long descriptions wrap in the Action column instead of being cut.
        if max(len(text) for text in rows.values()) > table.ordered_columns[1].width:
            assert any(row.height > 1 for row in table.rows.values()), "an action is cut"


def toast_and_status(app: App[Any]) -> tuple[Any, Any]:
    toasts = list(app.screen.query(Toast))
    return (toasts[0].region if toasts else None), app.screen.query_one(StatusBar).region


@pytest.mark.parametrize("size", [(80, 24), (40, 10)], ids=str)
async def test_a_notification_leaves_the_status_line_uncovered(
    size: tuple[int, int], make_app: AppFactory, mirror: RedisMirror
) -> None:
    fill_standard(mirror)
    app = make_app()
    async with app.run_test(size=size, notifications=True) as pilot:
        await wait_for(pilot, lambda: app.screen.query_one(RunsTable).row_count == 3, "runs")
        await wait_for(pilot, lambda: app.store.connected is True, "connected")
        app.notify(
            "Run witty-fox of ai-inference-prod is cancelling; Prefect reports when done.",
            title="Cancel sent",
        )
        await wait_for(pilot, lambda: toast_and_status(app)[0] is not None, "a toast")
        await pilot.pause()
        toast, status = toast_and_status(app)
        assert toast.height > 0 and status.height == 1
        assert not toast.overlaps(status), f"toast {toast} covers the status line {status}"
        found, _ = app.screen.get_widget_at(status.x + 1, status.y)
        assert isinstance(found, StatusBar)
