"""One flow run: its header and live task runs; drills into task or run logs."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Footer, Label

from console.context import Context
from console.messages import TaskRunsWanted
from console.screens.base import Doc, LiveScreen
from console.screens.logs import LogScreen
from console.widgets.filter_bar import FilterBar
from console.widgets.run_header import RunHeader
from console.widgets.status_bar import StatusBar
from console.widgets.task_runs_table import TaskRunsTable


class RunScreen(LiveScreen):
    """The run `flow_run_id`; `r`/`c` act on it, `l` opens its whole log."""

    MUTATING_ACTIONS = frozenset({"retry", "cancel_run"})

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", tooltip="Back to the runs", id="run.back"),
        Binding(
            "l", "run_log", "Run log", tooltip="The whole run's log, every task", id="run.run_log"
        ),
        Binding(
            "r", "retry", "Retry", tooltip="Retry this run (finished runs only)", id="run.retry"
        ),
        Binding(
            "c", "cancel_run", "Cancel", tooltip="Cancel this run (asks first)", id="run.cancel_run"
        ),
        Binding("slash", "filter", "Filter", tooltip="Filter the task runs", id="run.filter"),
    ]

    def __init__(self, ctx: Context, flow_run_id: str) -> None:
        super().__init__(ctx)
        self.flow_run_id = flow_run_id

    def compose(self) -> ComposeResult:
        yield RunHeader(self.ctx, self.flow_run_id, id="run-header")
        yield Label("Task runs", id="tasks-title", classes="title")
        yield TaskRunsTable(self.ctx, self.flow_run_id, id="tasks")
        yield FilterBar(id="filter")
        yield StatusBar(self.ctx, id="status")
        yield Footer()

    @property
    def run(self) -> Doc | None:
        return self.ctx.store.flow_runs.get(self.flow_run_id)

    @property
    def tasks(self) -> TaskRunsTable:
        return self.query_one(TaskRunsTable)

    def on_mount(self) -> None:
        self.tasks.focus()
        self.post_message(TaskRunsWanted(self.flow_run_id))

    # Live hooks.

    def show_snapshot(self) -> None:
        super().show_snapshot()
        # After a reconnect with a gap, task runs may have changed unseen: read them again.
        self.post_message(TaskRunsWanted(self.flow_run_id))

    def show_flow_run(self, doc: Doc) -> None:
        if doc.get("id") == self.flow_run_id:
            self.query_one(RunHeader).refresh_run()

    def show_task_run(self, doc: Doc) -> None:
        if doc.get("flow_run_id") == self.flow_run_id:
            self.tasks.show_task(doc)
            self._update_title()

    def show_task_runs(self, flow_run_id: str) -> None:
        if flow_run_id == self.flow_run_id:
            self.tasks.refresh_rows()
            self._update_title()

    def refresh_all(self) -> None:
        super().refresh_all()
        self.query_one(RunHeader).refresh_run()
        self._update_title()

    def _update_title(self) -> None:
        self.query_one("#tasks-title", Label).update(f"Task runs ({self.tasks.row_count})")

    # Actions.

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        task_id = event.row_key.value
        if event.data_table is self.tasks and task_id is not None:
            self.app.push_screen(LogScreen(self.ctx, self.flow_run_id, task_id))

    def action_run_log(self) -> None:
        self.app.push_screen(LogScreen(self.ctx, self.flow_run_id, None))

    def action_retry(self) -> None:
        self.request_retry(self.run)

    def action_cancel_run(self) -> None:
        self.request_cancel(self.run)

    def action_back(self) -> None:
        if not self.clear_text_filter():
            self.app.pop_screen()
