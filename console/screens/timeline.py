"""One run's timeline: its task runs as a Gantt chart that grows live while they run."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Footer, Label

from console.context import Context
from console.data.messages import LogWanted, TaskRunsWanted
from console.screens.base import LiveScreen
from console.text.formatting import state_label
from console.widgets.status_bar import StatusBar
from console.widgets.timeline import RunTimeline
from engine.contract.documents import FlowRun, TaskRun


class TimelineScreen(LiveScreen):
    """The task runs of `flow_run_id` on a time axis; `g` or escape goes back."""

    DEFAULT_CSS = """
    TimelineScreen #timeline-body {
        height: 1fr;
        background: $surface;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", tooltip="Back to the run", id="timeline.back"),
        Binding(
            "g", "back", "Task table", tooltip="Back to the task runs table", id="timeline.toggle"
        ),
        Binding("l", "run_log", "Run log", tooltip="The whole run's log", id="timeline.run_log"),
    ]

    def __init__(self, ctx: Context, flow_run_id: str) -> None:
        super().__init__(ctx)
        self.flow_run_id = flow_run_id

    def compose(self) -> ComposeResult:
        yield Label(self._title(), id="timeline-title", classes="title")
        with VerticalScroll(id="timeline-body"):
            yield RunTimeline(self.ctx, self.flow_run_id, id="timeline")
        yield StatusBar(self.ctx, id="status")
        yield Footer()

    def _title(self) -> str:
        run: FlowRun | None = self.ctx.store.flow_runs.get(self.flow_run_id)
        if run is None:
            return f"Timeline: run {self.flow_run_id} (not in the newest runs)"
        label = state_label(run.state_type, run.state_name)
        return f"Timeline: {run.name} of {run.deployment_name or '?'}  {label.text}"

    def on_mount(self) -> None:
        self.query_one("#timeline-body").focus()
        # Opened from the command line, the task runs may not have been read yet.
        self.post_message(TaskRunsWanted(self.flow_run_id))

    # Live hooks: every change to this run or its tasks redraws the chart.

    def show_flow_run(self, doc: FlowRun) -> None:
        if doc.id == self.flow_run_id:
            self._redraw()

    def show_task_run(self, doc: TaskRun) -> None:
        if doc.flow_run_id == self.flow_run_id:
            self._redraw()

    def show_task_runs(self, flow_run_id: str) -> None:
        if flow_run_id == self.flow_run_id:
            self._redraw()

    def refresh_all(self) -> None:
        super().refresh_all()
        self._redraw()  # each tick: running bars grow

    def _redraw(self) -> None:
        for title in self.query("#timeline-title").results(Label):
            title.update(self._title())
        for chart in self.query(RunTimeline):
            chart.refresh(layout=True)

    # Actions.

    def action_run_log(self) -> None:
        self.post_message(LogWanted(self.flow_run_id))

    def action_back(self) -> None:
        self.app.pop_screen()
