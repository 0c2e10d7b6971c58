"""Every key of the log screen, driven by the pilot against the real Redis."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from console.app import ConsoleApp
from console.logs.prompt import LogPrompt
from console.logs.screen import LogScreen
from console.screens.help import HelpScreen
from console.screens.run import RunScreen
from console.widgets.runs_table import RunsTable
from console.widgets.task_runs_table import TaskRunsTable
from engine.store.mirror import RedisMirror
from tests.console.conftest import AppFactory, at, fill_standard, log_line, wait_for
from tests.console.test_help import help_rows

RETRY = "Task run failed with exception: RuntimeError('CUDA') - Retry 1/2 will start immediately"
TICKS = 60


def retry_and_ticks() -> list[dict[str, str]]:
    """infer-0's retry line and its second attempt, then 60 DEBUG ticks of the flow."""
    return [
        log_line(at(-2), RETRY, task_run_id="task-infer"),
        log_line(at(-1.5), "attempt two starts", level="ERROR", task_run_id="task-infer"),
        *(log_line(at(-1 + i / 120), f"tick {i}", level="DEBUG") for i in range(TICKS)),
    ]


def fill_log(mirror: RedisMirror) -> None:
    """fill_standard's 5 lines, then retry_and_ticks().

    67 lines, the newest at 09:59:29.5; levels: 60 DEBUG, 5 INFO, 1 WARNING, 1 ERROR.
    """
    fill_standard(mirror)
    mirror.append_logs("run-running", retry_and_ticks())


async def open_log(pilot: Pilot[Any], task_row: int | None = None) -> LogScreen:
    """The run log (`l` on the run screen), or a task's (`enter` on its row)."""
    app = pilot.app
    runs = app.screen.query_one(RunsTable)
    await wait_for(pilot, lambda: runs.row_count == 3, "runs")
    runs.focus()
    await pilot.press("enter")
    assert isinstance(app.screen, RunScreen)
    tasks = app.screen.query_one(TaskRunsTable)
    await wait_for(pilot, lambda: tasks.row_count == 2, "task runs")
    if task_row is None:
        await pilot.press("l")
    else:
        tasks.move_cursor(row=task_row)
        await pilot.press("enter")
    screen = app.screen
    assert isinstance(screen, LogScreen)
    await wait_for(pilot, lambda: screen.indexed, "the log read")
    await fetched(pilot, screen)
    return screen


async def fetched(pilot: Pilot[Any], screen: LogScreen) -> None:
    view = screen.log_view
    await wait_for(pilot, lambda: "…" not in view.visible_text(), "the visible lines fetched")


def marked(rows: list[str]) -> str:
    """The row of the current match (the gutter glyph)."""
    return next(row for row in rows if row.startswith("▶"))


def title(screen: LogScreen) -> str:
    return screen._title()


def notes(app: ConsoleApp) -> list[str]:
    return [f"{n.message}|{n.severity}" for n in app._notifications]


def test_every_key_has_a_tooltip_and_an_id_and_none_takes_an_app_key() -> None:
    keys = [b.key for b in LogScreen.BINDINGS]  # type: ignore[union-attr]
    assert len(keys) == len(set(keys))
    app_keys = {b.key for b in ConsoleApp.BINDINGS}  # type: ignore[union-attr]
    assert not app_keys & set(keys)
    for binding in LogScreen.BINDINGS:
        assert binding.tooltip and binding.id and binding.id.startswith("log.")  # type: ignore[union-attr]


async def test_question_mark_lists_every_log_key(make_app: AppFactory, mirror: RedisMirror) -> None:
    fill_log(mirror)
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await open_log(pilot)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        rows = help_rows(app)
        for binding in LogScreen.BINDINGS:
            assert rows[app.get_key_display(binding)] == binding.description  # type: ignore[arg-type,union-attr]


async def test_f_follows_and_g_G_jump(make_app: AppFactory, mirror: RedisMirror) -> None:
    fill_log(mirror)
    app = make_app()
    async with app.run_test(size=(100, 24)) as pilot:
        screen = await open_log(pilot)
        view = screen.log_view
        await wait_for(pilot, lambda: view.scroll_offset.y == view.max_scroll_y > 0, "at the end")
        assert view.visible_text()[-1].endswith("tick 59")
        await pilot.press("g")
        await fetched(pilot, screen)
        assert view.scroll_offset.y == 0 and not view.auto_scroll
        assert view.visible_text()[0].endswith("flow started")
        assert "paused" in title(screen)
        mirror.append_logs("run-running", [log_line(at(0), "while paused")])
        await wait_for(pilot, lambda: view.lines_written == 68, "the new line")
        await pilot.pause()
        assert view.scroll_offset.y == 0  # paused: the view stays where it is
        await pilot.press("G")
        await wait_for(pilot, lambda: view.scroll_offset.y == view.max_scroll_y, "the end")
        await fetched(pilot, screen)
        assert view.visible_text()[-1].endswith("while paused")
        await pilot.press("f")
        assert view.auto_scroll and "following" in title(screen)
        mirror.append_logs("run-running", [log_line(at(0), "followed")])
        await wait_for(pilot, lambda: view.visible_text()[-1].endswith("followed"), "followed")
        await pilot.press("f")
        assert not view.auto_scroll


async def test_m_cycles_the_minimum_level(make_app: AppFactory, mirror: RedisMirror) -> None:
    fill_log(mirror)
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_log(pilot)
        view = screen.log_view
        seen = []
        for _ in range(5):
            await pilot.press("m")
            seen.append((view.lines_written, title(screen).split(" · ")[2]))
        assert seen == [
            (67, "≥ DEBUG"),
            (7, "≥ INFO"),
            (2, "≥ WARNING"),
            (1, "≥ ERROR"),
            (67, "following"),
        ]
        await pilot.press("m", "m", "m", "m")
        await fetched(pilot, screen)
        assert view.visible_text() == ["11-25 09:58:30 ERROR    [infer-0 #2] attempt two starts"]


async def test_R_cycles_time_windows_ending_at_the_newest_line(
    make_app: AppFactory, mirror: RedisMirror
) -> None:
    fill_log(mirror)
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_log(pilot)
        view = screen.log_view
        counts = []
        for _ in range(5):
            await pilot.press("R")
            counts.append(view.lines_written)
        assert counts == [61, 67, 67, 67, 67]
        await pilot.press("R")
        assert "last 1m" in title(screen)


async def test_A_shows_one_attempt_of_a_task_at_a_time(
    make_app: AppFactory, mirror: RedisMirror
) -> None:
    fill_log(mirror)
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_log(pilot, task_row=1)  # infer-0
        view = screen.log_view
        assert view.lines_written == 4
        await pilot.press("A")
        await fetched(pilot, screen)
        assert view.lines_written == 3 and "attempt 1 of 2" in title(screen)
        assert view.visible_text()[-1].endswith("Retry 1/2 will start immediately")
        await pilot.press("A")
        await fetched(pilot, screen)
        assert view.visible_text() == ["11-25 09:58:30 ERROR    [infer-0 #2] attempt two starts"]
        assert "attempt 2 of 2" in title(screen)
        await pilot.press("A")
        assert view.lines_written == 4 and "attempt" not in title(screen)


async def test_A_on_the_run_log_says_attempts_are_per_task(
    make_app: AppFactory, mirror: RedisMirror
) -> None:
    fill_log(mirror)
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_log(pilot)
        await pilot.press("A")
        assert screen.log_view.lines_written == 67
        assert any("Attempts are per task" in note for note in notes(app))


async def test_W_wraps_and_t_hides_timestamps(make_app: AppFactory, mirror: RedisMirror) -> None:
    fill_log(mirror)
    app = make_app()
    async with app.run_test(size=(80, 30)) as pilot:
        screen = await open_log(pilot, task_row=1)
        view = screen.log_view
        assert view.row_count == 4
        assert view.visible_text()[2].endswith("will start immediately")  # one row
        await pilot.press("W")
        await fetched(pilot, screen)
        assert view.row_count == 5
        text = view.visible_text()
        assert text[2].endswith("exception: RuntimeError('")  # 34 + 46 columns
        assert text[3] == " " * 34 + "CUDA') - Retry 1/2 will start immediately"
        await pilot.press("t")
        await fetched(pilot, screen)
        text = view.visible_text()
        assert text[0] == "INFO     [infer-0] batch 1 of 19"
        assert text[3] == " " * 19 + "1/2 will start immediately"  # 15 columns more for the message
        await pilot.press("W", "t")
        await fetched(pilot, screen)
        assert view.row_count == 4 and view.visible_text()[0].startswith("11-25 09:56:00")


async def test_slash_searches_n_and_N_move_escape_clears(
    make_app: AppFactory, mirror: RedisMirror
) -> None:
    fill_log(mirror)
    app = make_app()
    async with app.run_test(size=(100, 20)) as pilot:
        screen = await open_log(pilot)
        view = screen.log_view
        await pilot.press("slash")
        prompt = screen.query_one(LogPrompt)
        assert prompt.display and prompt.mode == "search"
        await pilot.press(*"tick 5", "enter")
        # tick 5, tick 50 ... tick 59: 11 matches. The screen shows ticks 44 to 59 (it
        # followed the end), so the current match is the first from its top: tick 50.
        await wait_for(pilot, lambda: screen.search is not None, "the search")
        await fetched(pilot, screen)
        assert len(screen.shown_matches) == 11
        assert "/tick 5/ 2/11" in title(screen)
        current = [row for row in view.visible_text() if row.startswith("▶")]
        assert len(current) == 1 and current[0].endswith("tick 50")
        await pilot.press("n")
        assert "/tick 5/ 3/11" in title(screen)
        await pilot.press("N", "N")
        await fetched(pilot, screen)
        assert "/tick 5/ 1/11" in title(screen)
        assert marked(view.visible_text()).endswith("tick 5")
        await pilot.press("N")
        await fetched(pilot, screen)
        assert "/tick 5/ 11/11" in title(screen)  # wrapped around
        assert marked(view.visible_text()).endswith("tick 59")
        mirror.append_logs("run-running", [log_line(at(0), "tick 5000")])
        await wait_for(pilot, lambda: len(screen.shown_matches) == 12, "a live match")
        await pilot.press("escape")
        assert screen.search is None and view.pattern is None
        assert isinstance(app.screen, LogScreen)
        await pilot.press("n")
        assert any("No search matches" in note for note in notes(app))
        await pilot.press("escape")
        assert isinstance(app.screen, RunScreen)


async def test_a_bad_regex_is_refused_with_the_reason(
    make_app: AppFactory, mirror: RedisMirror
) -> None:
    fill_log(mirror)
    app = make_app()
    async with app.run_test(size=(100, 20)) as pilot:
        screen = await open_log(pilot)
        await pilot.press("slash", *"(tick", "enter")
        await pilot.pause()
        assert screen.search is None
        assert any("Not a valid regex '(tick'" in note and "|error" in note for note in notes(app))


async def test_x_hides_matching_lines_until_cleared(
    make_app: AppFactory, mirror: RedisMirror
) -> None:
    fill_log(mirror)
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_log(pilot)
        view = screen.log_view
        await pilot.press("x", *"^tick", "enter")
        await wait_for(pilot, lambda: view.lines_written == 7, "ticks hidden")
        assert "hiding /^tick/" in title(screen)
        mirror.append_logs(
            "run-running", [log_line(at(0), "tick 60"), log_line(at(0), "not a tick")]
        )
        await wait_for(pilot, lambda: view.lines_written == 8, "only the line that is no tick")
        await fetched(pilot, screen)
        assert view.visible_text()[-1].endswith("not a tick")
        await pilot.press("x")
        assert screen.query_one(LogPrompt).query_one(Input).value == "^tick"
        screen.query_one(LogPrompt).query_one(Input).value = ""
        await pilot.press("enter")
        await wait_for(pilot, lambda: view.lines_written == 69, "every line again")
        await pilot.press("x", *"flow", "enter")
        await wait_for(pilot, lambda: view.lines_written == 68, "one hidden")
        await pilot.press("escape")  # clears the hide pattern first
        assert view.lines_written == 69 and isinstance(app.screen, LogScreen)


async def test_s_saves_the_view_where_it_says(
    make_app: AppFactory, mirror: RedisMirror, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIWF_STATE_DIR", str(tmp_path / "state"))
    fill_log(mirror)
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_log(pilot, task_row=1)
        await pilot.press("s")
        field = screen.query_one(LogPrompt).query_one(Input)
        default = tmp_path / "state" / "saved-logs" / "witty-fox-infer-0-20261125-100000.log"
        assert field.value == str(default)
        await pilot.press("enter")
        await wait_for(pilot, lambda: any("Saved 4 lines" in n for n in notes(app)), "saved")
        assert f"Saved 4 lines to {default}|information" in notes(app)
        saved = default.read_text(encoding="utf-8").splitlines()
        assert saved[0] == "11-25 09:56:00 INFO     [infer-0] batch 1 of 19"
        assert saved[-1] == "11-25 09:58:30 ERROR    [infer-0 #2] attempt two starts"
        # A typed path, with the view narrowed first: what is shown is what is saved.
        await pilot.press("m", "m", "m", "s")
        typed = tmp_path / "mine.txt"
        field.value = str(typed)
        await pilot.press("enter")
        await wait_for(pilot, lambda: typed.exists() and "Saved 2 lines" in str(notes(app)), "2")
        assert len(typed.read_text(encoding="utf-8").splitlines()) == 2
        # A path that cannot be written: the reason and the path, nothing else breaks.
        blocked = tmp_path / "mine.txt" / "sub.log"
        await pilot.press("s")
        field.value = str(blocked)
        await pilot.press("enter")
        await wait_for(pilot, lambda: any(str(blocked) in n for n in notes(app)), "error")
        assert any(n.startswith(f"Could not write {blocked}") for n in notes(app))


async def test_escape_in_a_prompt_changes_nothing(
    make_app: AppFactory, mirror: RedisMirror
) -> None:
    fill_log(mirror)
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_log(pilot)
        await pilot.press("slash", *"tick", "escape")
        prompt = screen.query_one(LogPrompt)
        assert not prompt.display and screen.search is None
        assert screen.log_view.has_focus and isinstance(app.screen, LogScreen)


async def test_scrolling_up_stops_following(make_app: AppFactory, mirror: RedisMirror) -> None:
    fill_log(mirror)
    app = make_app()
    async with app.run_test(size=(100, 20)) as pilot:
        screen = await open_log(pilot)
        view = screen.log_view
        await wait_for(pilot, lambda: view.scroll_offset.y == view.max_scroll_y > 0, "at the end")
        await pilot.press("pageup")
        await pilot.pause()
        assert not view.auto_scroll and "paused" in title(screen)
        top = view.scroll_offset.y
        mirror.append_logs("run-running", [log_line(at(0), "later")])
        await wait_for(pilot, lambda: view.lines_written == 68, "the new line")
        assert view.scroll_offset.y == top


async def test_n_after_a_filter_hid_the_current_match_goes_to_the_nearest(
    make_app: AppFactory, mirror: RedisMirror
) -> None:
    fill_log(mirror)
    app = make_app()
    async with app.run_test(size=(100, 20)) as pilot:
        screen = await open_log(pilot)
        await pilot.press("g", "slash", *"o", "enter")  # flow started, loading, loaded, ...
        await wait_for(pilot, lambda: screen.search is not None, "the search")
        assert screen.log_view.current == 0
        await pilot.press("m", "m")  # at least INFO: the ticks go, "flow started" stays
        await pilot.press("n")
        assert screen.log_view.current == 1  # loading 1200 rows
        await pilot.press("m")  # at least WARNING: the current match (loading) is hidden
        await pilot.press("n")
        assert screen.log_view.current == 4  # GPU memory high, the next one shown
        await pilot.press("m", "m")  # ERROR, then all levels again
        await pilot.press("N")
        assert screen.log_view.current == 3  # batch 1 of 19, the one before
        await pilot.press("x", *"^batch", "enter")  # hides the current match
        await wait_for(pilot, lambda: screen.hide is not None, "hidden")
        await pilot.press("n")
        assert screen.log_view.current == 4  # not back to the first match (0)


async def test_a_long_search_pattern_leaves_the_match_count_on_an_80_column_screen(
    make_app: AppFactory, mirror: RedisMirror
) -> None:
    fill_log(mirror)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_log(pilot)
        await pilot.press("slash", *"tick 5|a line that never comes", "enter")
        await wait_for(pilot, lambda: screen.search is not None, "the search")
        await fetched(pilot, screen)
        shown = title(screen)
        assert "/tick 5|a line that …/ 2/11" in shown and len(shown) <= 80, shown


async def test_the_current_match_stays_on_screen_when_the_terminal_shrinks(
    make_app: AppFactory, mirror: RedisMirror
) -> None:
    fill_log(mirror)  # then more lines, so that the match is not near the end
    mirror.append_logs("run-running", [log_line(at(0), f"later {i}") for i in range(100)])
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await open_log(pilot)
        await pilot.press("slash", *"tick 30$", "enter")
        await wait_for(pilot, lambda: screen.search is not None, "the search")
        view = screen.log_view

        def match_shown() -> bool:
            return any(r.startswith("▶") and r.endswith("tick 30") for r in view.visible_text())

        # The search lands at once, while the view still follows: the end that the prompt's
        # closing (a resize) asked for must not take the view from the match afterwards.
        await wait_for(pilot, match_shown, "the match in the middle of the screen")
        assert view.scroll_offset.y > 0, "the match is not near the top"
        await pilot.resize_terminal(80, 24)
        await wait_for(pilot, match_shown, "the match on the smaller screen", timeout=5)
        await pilot.press("f")  # following again: the end is shown, as before
        await pilot.resize_terminal(100, 30)
        await wait_for(pilot, lambda: screen.log_view.visible_text()[-1].endswith("later 99"))
