"""Run screen (header, live task runs, r/c) and log screen (history, then live tail)."""

from __future__ import annotations

from typing import Any

import redis
from textual.pilot import Pilot

from console.app import ConsoleApp
from console.logs.screen import LogScreen
from console.logs.view import LogView
from console.screens.main import MainScreen
from console.screens.run import RunScreen
from console.widgets.run_header import RunHeader
from console.widgets.runs_table import RunsTable
from console.widgets.task_runs_table import TaskRunsTable
from engine.contract.keys import Keys
from engine.store.mirror import RedisMirror
from tests.console.conftest import (
    AppFactory,
    at,
    commands,
    fill_standard,
    log_line,
    task_run_doc,
    wait_for,
)


def log_text(view: LogView) -> list[str]:
    """The rows on screen (the virtualised view draws only those)."""
    return view.visible_text()


async def open_run(pilot: Pilot[Any], app: ConsoleApp, row: int = 0) -> RunScreen:
    runs = app.screen.query_one(RunsTable)
    await wait_for(pilot, lambda: runs.row_count == 3, "runs")
    runs.focus()
    runs.move_cursor(row=row)
    await pilot.press("enter")
    assert isinstance(app.screen, RunScreen)
    return app.screen


async def test_enter_opens_the_run_with_live_task_runs(
    make_app: AppFactory, mirror: RedisMirror
) -> None:
    fill_standard(mirror)
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_run(pilot, app)
        tasks = screen.query_one(TaskRunsTable)
        await wait_for(pilot, lambda: tasks.row_count == 2, "two task runs")
        assert tasks.row_keys() == ["task-load", "task-infer"]
        assert [c.plain for c in tasks.get_row("task-infer")][:2] == ["infer-0", "▶ Running"]
        header = str(screen.query_one(RunHeader).render())
        assert header  # rendered; contents are checked in the snapshot
        mirror.upsert_task_run(
            task_run_doc(
                "task-infer",
                "run-running",
                "infer-0",
                state="FAILED",
                start=at(-4),
                end=at(-2),
                run_count=3,
                updated=at(0),
            )
        )
        mirror.upsert_task_run(
            task_run_doc(
                "task-save",
                "run-running",
                "save-0",
                state="PENDING",
                start=None,
                end=None,
                updated=at(0),
            )
        )
        await wait_for(
            pilot,
            lambda: (
                tasks.row_count == 3
                and [c.plain for c in tasks.get_row("task-infer")][1:]
                == ["✖ Failed", "11-25 09:56:00", "2m 00s", "3"]
            ),
            "the failed task and the pending one",
        )
        assert tasks.row_keys()[-1] == "task-save"
        await pilot.press("escape")
        assert isinstance(app.screen, MainScreen)


async def test_run_screen_r_and_c_act_on_its_run(
    make_app: AppFactory, mirror: RedisMirror, redis_client: redis.Redis, keys: Keys
) -> None:
    fill_standard(mirror)
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await open_run(pilot, app, row=1)  # the failed run
        await pilot.press("c")  # finished: refused, nothing asked
        assert isinstance(app.screen, RunScreen)
        await pilot.press("r", "r")  # the retry dialog, then its Retry (reuse)
        await wait_for(pilot, lambda: len(commands(redis_client, keys)) == 1, "retry")
        assert commands(redis_client, keys)[0]["target"] == "run-failed"
        await pilot.press("escape")
        await open_run(pilot, app, row=0)  # running: cancel after yes
        await pilot.press("c", "y")
        await wait_for(pilot, lambda: len(commands(redis_client, keys)) == 2, "cancel")
        assert commands(redis_client, keys)[1]["action"] == "cancel"


async def test_task_log_shows_history_then_tails_new_lines(
    make_app: AppFactory, mirror: RedisMirror
) -> None:
    fill_standard(mirror)
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_run(pilot, app)
        tasks = screen.query_one(TaskRunsTable)
        await wait_for(pilot, lambda: tasks.row_count == 2, "task runs")
        await pilot.press("down", "enter")  # infer-0
        assert isinstance(app.screen, LogScreen)
        view = app.screen.query_one(LogView)
        await wait_for(pilot, lambda: view.lines_written == 2, "the task's two lines")
        await wait_for(pilot, lambda: "…" not in log_text(view), "the lines fetched")
        assert log_text(view) == [
            "11-25 09:56:00 INFO     [infer-0] batch 1 of 19",
            "11-25 09:57:00 WARNING  [infer-0] GPU memory high",
        ]
        mirror.append_logs(
            "run-running",
            [
                log_line(at(-1), "other task", task_run_id="task-load"),
                log_line(at(-1), "batch 2 of 19", task_run_id="task-infer"),
            ],
        )
        await wait_for(pilot, lambda: view.lines_written == 3, "the tailed line")
        await wait_for(pilot, lambda: len(log_text(view)) == 3, "the tailed line in sight")
        assert log_text(view)[-1] == "11-25 09:59:00 INFO     [infer-0] batch 2 of 19"
        await pilot.press("escape")
        assert isinstance(app.screen, RunScreen)


async def test_l_opens_the_whole_run_log_tagged_by_task(
    make_app: AppFactory, mirror: RedisMirror
) -> None:
    fill_standard(mirror)
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_run(pilot, app)
        await wait_for(pilot, lambda: screen.query_one(TaskRunsTable).row_count == 2, "tasks")
        await pilot.press("l")
        view = app.screen.query_one(LogView)
        await wait_for(pilot, lambda: view.lines_written == 5, "all five lines")
        await wait_for(pilot, lambda: "…" not in log_text(view), "the lines fetched")
        tags = [line.split("[", 1)[1].split("]", 1)[0] for line in log_text(view)]
        assert tags == ["flow", "load_raw_data-0", "load_raw_data-0", "infer-0", "infer-0"]


async def test_log_reads_long_streams_in_pages(make_app: AppFactory, mirror: RedisMirror) -> None:
    fill_standard(mirror)
    mirror.append_logs(
        "run-running",
        [log_line(at(-2), f"line {i}", task_run_id="task-infer") for i in range(2500)],
    )
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await open_run(pilot, app)
        await pilot.press("l")
        view = app.screen.query_one(LogView)
        await wait_for(pilot, lambda: view.lines_written == 2505, "every line")
        # Only the visible rows are fetched, after the view has scrolled to the end.
        await wait_for(pilot, lambda: log_text(view)[-1].endswith("line 2499"), "the last line")
