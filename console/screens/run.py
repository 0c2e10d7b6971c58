"""One flow run: its header, live task runs and lineage; drills into task or run logs."""

from __future__ import annotations

from typing import Any, ClassVar

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Label

from console.context import Context
from console.data.messages import LogWanted, TaskRunsWanted
from console.screens.base import LiveScreen
from console.screens.retry_confirm import (
    FROM_PREFIX,
    RetryConfirmScreen,
    retry_previews,
)
from console.text.formatting import is_final, state_label
from console.widgets.filter_bar import FilterBar
from console.widgets.fitting_footer import FittingFooter
from console.widgets.lineage_panel import LineagePanel
from console.widgets.run_header import RunHeader
from console.widgets.status_bar import StatusBar
from console.widgets.task_runs_table import TaskRunsTable
from engine.contract.documents import FlowRun, TaskRun

LINEAGE_MIN_HEIGHT = 30
"""Terminal rows from which the lineage panel starts shown."""


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
        Binding(
            "slash",
            "filter",
            "Filter",
            tooltip="Filter the task runs",
            show=False,  # a run has few tasks; the footer keeps Lineage at 80 columns
            id="run.filter",
        ),
        Binding(
            "i",
            "toggle_lineage",
            "Lineage",
            tooltip="Show or hide what this run read, used and wrote",
            id="run.lineage",
        ),
        Binding(
            "o",
            "outputs",
            "Outputs",
            tooltip="Output partitions: rows, bytes, schema, changes against the previous run",
            id="run.outputs",
            show=False,  # listed in ?, keeps the footer within 80 columns
        ),
        Binding(
            "g",
            "timeline",
            "Timeline",
            tooltip="The task runs as a Gantt chart on a time axis (live)",
            show=False,  # the footer is full at 80 columns; `?` lists it
            id="run.timeline",
        ),
    ]

    def __init__(self, ctx: Context, flow_run_id: str) -> None:
        super().__init__(ctx)
        self.flow_run_id = flow_run_id
        self.lineage_chosen = False
        """True once the operator pressed `i`: their choice stands over the terminal's size."""

    def compose(self) -> ComposeResult:
        yield RunHeader(self.ctx, self.flow_run_id, id="run-header")
        yield Label("Task runs", id="tasks-title", classes="title")
        yield TaskRunsTable(self.ctx, self.flow_run_id, id="tasks")
        yield LineagePanel(self.ctx, self.flow_run_id, id="lineage")
        yield FilterBar(id="filter")
        yield StatusBar(self.ctx, id="status")
        yield FittingFooter()

    @property
    def run(self) -> FlowRun | None:
        return self.ctx.store.flow_runs.get(self.flow_run_id)

    @property
    def tasks(self) -> TaskRunsTable:
        return self.query_one(TaskRunsTable)

    def on_mount(self) -> None:
        self.tasks.focus()
        self._fit_lineage(self.app.size.height)
        self.post_message(TaskRunsWanted(self.flow_run_id))

    def on_resize(self, event: events.Resize) -> None:
        # A terminal made smaller (an SSH window, tmux) leaves room for the task runs.
        self._fit_lineage(event.size.height)

    def _fit_lineage(self, height: int) -> None:
        """Visible when there is room for it and the task runs; `i` shows it anyway."""
        if not self.lineage_chosen:
            self.query_one(LineagePanel).display = height >= LINEAGE_MIN_HEIGHT

    # Live hooks.

    def show_snapshot(self) -> None:
        super().show_snapshot()
        # After a reconnect with a gap, task runs may have changed unseen: read them again.
        self.post_message(TaskRunsWanted(self.flow_run_id))

    def show_flow_run(self, doc: FlowRun) -> None:
        if doc.id == self.flow_run_id:
            for header in self.query(RunHeader):
                header.refresh_run()

    def show_task_run(self, doc: TaskRun) -> None:
        if doc.flow_run_id == self.flow_run_id:
            for table in self.query(TaskRunsTable):
                table.show_task(doc)
            self._update_title()

    def show_task_runs(self, flow_run_id: str) -> None:
        if flow_run_id == self.flow_run_id:
            for table in self.query(TaskRunsTable):
                table.refresh_rows()
            self._update_title()

    def show_lineage(self, flow_run_id: str) -> None:
        if flow_run_id == self.flow_run_id:
            for panel in self.query(LineagePanel):
                panel.refresh_lineage()

    def refresh_all(self) -> None:
        super().refresh_all()
        # query, not query_one: a tick can reach a screen whose children are being removed.
        for header in self.query(RunHeader):
            header.refresh_run()
        self._update_title()

    def _update_title(self) -> None:
        for title in self.query("#tasks-title").results(Label):
            for table in self.query(TaskRunsTable):
                title.update(f"Task runs ({table.row_count})")

    # Actions.

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        task_id = event.row_key.value
        if event.data_table is self.tasks and task_id is not None:
            self.post_message(LogWanted(self.flow_run_id, task_id))

    def action_run_log(self) -> None:
        self.post_message(LogWanted(self.flow_run_id))

    def action_timeline(self) -> None:
        from console.screens.timeline import TimelineScreen

        self.app.push_screen(TimelineScreen(self.ctx, self.flow_run_id))

    def action_toggle_lineage(self) -> None:
        panel = self.query_one(LineagePanel)
        panel.display = not panel.display
        self.lineage_chosen = True

    def action_retry(self) -> None:
        """Shows what a retry reuses and reruns, then sends the operator's choice."""
        run = self.run
        if run is None or not is_final(run.state_type):
            self.request_retry(run)  # says why not
            return
        if self.refuse_if_read_only("retry"):
            return
        lineage = self.ctx.store.lineage.get(self.flow_run_id)
        task_runs = self.ctx.store.tasks_of(self.flow_run_id)
        label = state_label(run.state_type, run.state_name)
        deployment = self.ctx.store.deployments.get(run.deployment_name)
        served_here = deployment is None or deployment.managed
        previews = retry_previews(run, lineage, task_runs, served_here)
        dialog = RetryConfirmScreen(run.name, label.text, previews)
        self.app.push_screen(dialog, self._retry_chosen)

    def _retry_chosen(self, choice: str | None) -> None:
        run = self.run
        if run is None:
            return
        if choice is None:
            self.not_sent(f"retry run {run.name}", "declined")
            return
        params: dict[str, Any] = {}
        what = f"retry of run {run.name}"
        if choice == "full":
            params = {"refresh_cache": True}
            what = f"full rerun of run {run.name}"
        elif choice.startswith(FROM_PREFIX):
            params = {"from_task": choice.removeprefix(FROM_PREFIX)}
            what = f"retry of run {run.name} from {params['from_task']}"
        elif choice != "reuse":
            return
        # The same gate as every action: read-only, then a protected deployment's name typed.
        self.send_checked("retry", self.flow_run_id, run.deployment_name, what, params=params)

    def action_outputs(self) -> None:
        from console.screens.outputs import OutputsScreen

        self.app.push_screen(OutputsScreen(self.ctx, self.flow_run_id))

    def action_cancel_run(self) -> None:
        self.request_cancel(self.run)

    def action_back(self) -> None:
        if not self.clear_text_filter():
            self.app.pop_screen()
