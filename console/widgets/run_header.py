"""The run screen's header: name, deployment, state, parameters, times, failure message."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from console.context import Context
from console.text.formatting import (
    DASH,
    format_params,
    format_run_duration,
    iso_time,
    run_durations,
    state_label,
)
from console.widgets.tones import tone_style
from engine.contract.documents import FlowRun


class RunHeader(Static):
    """Shows one flow run; `refresh_run()` re-reads it from the store."""

    def __init__(self, ctx: Context, flow_run_id: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.ctx = ctx
        self.flow_run_id = flow_run_id

    def on_mount(self) -> None:
        self.refresh_run()

    def refresh_run(self) -> None:
        doc = self.ctx.store.flow_runs.get(self.flow_run_id)
        self.update(self._render_run(doc) if doc else Text(f"Run {self.flow_run_id}: not found"))

    def _render_run(self, doc: FlowRun) -> Table:
        now = self.ctx.now()
        zone = now.tzinfo
        label = state_label(doc.state_type, doc.state_name)
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="bold", no_wrap=True)
        grid.add_column()
        title = Text(doc.name, style="bold", end="")
        title.append("   ")
        title.append(label.text, tone_style(self.app, label.tone, bold=True))
        grid.add_row("Run", title)
        grid.add_row(
            "Deployment",
            f"{doc.deployment_name or DASH}   flow {doc.flow_name or DASH}",
        )
        grid.add_row("Parameters", Text(format_params(doc.parameters), end=""))
        grid.add_row(
            "Times",
            f"start {iso_time(doc.start_time, zone)}   "
            f"end {iso_time(doc.end_time, zone)}   "
            f"duration {format_run_duration(run_durations(doc, now))}   "
            f"attempts {doc.run_count}",
        )
        message = str(doc.state_message or "")
        if message:
            tone = label.tone if label.tone in ("error", "warning") else "muted"
            grid.add_row("Message", Text(message, style=tone_style(self.app, tone), end=""))
        return grid
