"""The run timeline: bar layout (pure), `g` on the run screen, live growth and updates."""

from __future__ import annotations

from datetime import datetime, timedelta

from rich.style import Style

from console.screens.run import RunScreen
from console.screens.timeline import TimelineScreen
from console.widgets.runs_table import RunsTable
from console.widgets.timeline import RunTimeline, run_span, timeline_lines
from engine.store.mirror import RedisMirror
from tests.console.conftest import (
    NOW,
    AppFactory,
    as_run,
    as_task,
    at,
    fill_standard,
    flow_run_doc,
    task_run_doc,
    wait_for,
)


def plain(width: int, now: datetime = NOW, **changes: object) -> list[str]:
    run = flow_run_doc("run-1", "witty-fox", start=at(-10))
    tasks = [
        task_run_doc("t1", "run-1", "load", start=at(-10), end=at(-5)),
        task_run_doc("t2", "run-1", "infer", state="RUNNING", start=at(-5), end=None),
        task_run_doc("t3", "run-1", "save", state="PENDING", start=None, end=None),
    ]
    lines = timeline_lines(
        as_run(run), [as_task(t) for t in tasks], now, width, lambda _tone: Style()
    )
    return [line.plain for line in lines]


def bar_of(line: str) -> str:
    """The bar: the one word of the line made of bar cells."""
    return next(word for word in line.split() if "█" in word)


def test_bars_are_scaled_to_the_span_of_the_run() -> None:
    lines = plain(80)
    assert all(len(line) <= 80 for line in lines)
    head, ruler, load, infer, save, span = lines
    assert head.startswith("Task") and "09:50:00" in head and "10:00:00" in head
    assert "09:55:00" in head  # the middle of a 10-minute span
    assert ruler.strip().startswith("├") and ruler.rstrip().endswith("┤")
    # Half the span each: load in the left half, infer (running) in the right half.
    left, right = load.index("█"), infer.index("█")
    assert abs(len(bar_of(load)) - len(bar_of(infer))) <= 1
    assert right == left + len(bar_of(load))
    assert bar_of(infer).endswith("▶")  # the growing tip
    assert "✔ Completed" in load and "5m 00s" in load and load.rstrip().endswith("1")
    assert "· not started" in save and "◌ Pending" in save
    assert span.startswith("Span 09:50:00 → 10:00:00 (10m 00s)")


def test_a_running_task_grows_as_time_passes() -> None:
    before = plain(80)
    later = plain(80, now=NOW + timedelta(minutes=10))
    # The span doubles: load's bar halves, infer's bar covers three quarters.
    assert abs(len(bar_of(later[2])) * 2 - len(bar_of(before[2]))) <= 1
    assert len(bar_of(later[3])) > len(bar_of(before[3]))
    assert "15m 00s" in later[3]


def test_narrow_widths_keep_the_glyph_and_drop_the_word() -> None:
    lines = plain(40)
    assert all(len(line) <= 40 for line in lines)
    assert "Completed" not in lines[2] and "✔" in lines[2]
    assert plain(10)  # nothing crashes when there is no room at all


def test_no_tasks_and_nothing_started() -> None:
    assert [t.plain for t in timeline_lines(None, [], NOW, 80, lambda _t: Style())] == [
        "No task runs yet: the chart fills in as tasks start."
    ]
    assert run_span(None, [as_task(task_run_doc("t", "r", "x", start=None, end=None))], NOW) is None


async def test_g_opens_the_timeline_which_follows_live(
    make_app: AppFactory, mirror: RedisMirror
) -> None:
    fill_standard(mirror)
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.screen.query_one(RunsTable).row_count == 3, "runs")
        app.push_screen(RunScreen(app.ctx, "run-running"))
        await pilot.pause()
        await pilot.press("g")
        screen = app.screen
        assert isinstance(screen, TimelineScreen)
        chart = screen.query_one(RunTimeline)

        def text() -> str:
            return str(chart.render())

        await wait_for(pilot, lambda: "infer-0" in text(), "the task runs")
        assert "load_raw_data-0" in text() and "▶ Running" in text()
        # A new task run arrives through Redis: its row appears without a key.
        mirror.upsert_task_run(
            task_run_doc("task-save", "run-running", "save_results-0", state="PENDING", start=None)
        )
        await wait_for(pilot, lambda: "save_results-0" in text(), "the new task")
        assert "· not started" in text()
        await pilot.press("g")
        assert isinstance(app.screen, RunScreen)
        await pilot.press("g", "l")
        assert type(app.screen).__name__ == "LogScreen"
        await pilot.press("escape", "escape")
        assert isinstance(app.screen, RunScreen)
