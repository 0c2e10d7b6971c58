"""`?` lists the bindings of the current screen, read from the live binding chain."""

from __future__ import annotations

from textual.binding import Binding
from textual.widgets import DataTable

from console.screens.help import HelpScreen
from console.screens.main import MainScreen
from console.screens.run import RunScreen
from console.widgets.runs_table import RunsTable
from console.widgets.task_runs_table import TaskRunsTable
from engine.store.mirror import RedisMirror
from tests.console.conftest import AppFactory, fill_standard, wait_for


def help_rows(app: object) -> dict[str, str]:
    table = app.screen.query_one("#help-table", DataTable)  # type: ignore[attr-defined]
    return {
        str(row[0]): str(row[1]) for row in (table.get_row_at(i) for i in range(table.row_count))
    }


async def test_help_lists_every_binding_of_the_screen(
    make_app: AppFactory, mirror: RedisMirror
) -> None:
    fill_standard(mirror)
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.screen.query_one(RunsTable).row_count == 3, "runs")
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        rows = help_rows(app)
        for binding in MainScreen.BINDINGS:
            assert isinstance(binding, Binding)
            assert rows[app.get_key_display(binding)] == binding.description
        assert rows["q"] == "Quit" and rows["?"] == "Help"
        await pilot.press("escape")
        assert isinstance(app.screen, MainScreen)
        app.screen.query_one(RunsTable).focus()
        await pilot.press("enter", "question_mark")
        rows = help_rows(app)
        assert rows["l"] == "Run log"
        assert rows[app.get_key_display(TaskRunsTable.BINDINGS[0])] == "Task log"  # type: ignore[arg-type]
        await pilot.press("question_mark")
        assert isinstance(app.screen, RunScreen)
