"""The run screen's lineage panel: what the run's latest attempt read, used and wrote."""

from __future__ import annotations

from typing import Any

from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from console.context import Context
from console.text.formatting import DASH, format_duration, format_params, is_final, iso_time
from engine.contract.documents import (
    Lineage,
    LineageInput,
    LineageModel,
    LineageOutput,
    LineageTask,
    LineageTrigger,
)
from engine.contract.partitions import partition_name


def short_hash(value: Any, length: int = 12) -> str:
    """The first `length` hex digits of a hash, or a dash."""
    return str(value)[:length] if value else DASH


def format_bytes(size: Any) -> str:
    if not isinstance(size, int | float):
        return DASH
    amount = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if amount < 1024 or unit == "GB":
            return f"{amount:.0f} {unit}" if unit == "B" else f"{amount:.1f} {unit}"
        amount /= 1024
    return DASH  # unreachable: the loop returns at GB


def describe_trigger(trigger: LineageTrigger | None, zone: Any = None) -> str:
    """`retry by ana (attempt 2)`, `schedule at 02:00:00`, `operator ana`, `manual`,
    `backfill of fire time 11-01 02:00:00 by ana`."""
    if not trigger:
        return DASH
    kind = str(trigger.kind or DASH)
    who = trigger.retry_requested_by or trigger.operator
    parts = [kind]
    if kind == "schedule":
        parts.append(f"fire time {iso_time(trigger.expected_start_time, zone)}")
    elif kind == "backfill":
        parts.append(f"of fire time {iso_time(trigger.fire_time, zone)}")
        if who:
            parts.append(f"by {who}")
    elif who:
        parts.append(f"by {who}")
    attempt = trigger.attempt
    if isinstance(attempt, int) and attempt > 1:
        parts.append(f"(attempt {attempt})")
    return " ".join(parts)


_WROTE = {"none": ", wrote no partition", "all": ", wrote all its partitions"}


class LineagePanel(Static):
    """Shows `store.lineage[flow_run_id]`; `refresh_lineage()` re-reads it."""

    def __init__(self, ctx: Context, flow_run_id: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.ctx = ctx
        self.flow_run_id = flow_run_id

    def on_mount(self) -> None:
        self.border_title = "Lineage"
        self.refresh_lineage()

    @property
    def doc(self) -> Lineage | None:
        return self.ctx.store.lineage.get(self.flow_run_id)

    def records_lineage(self) -> bool:
        """False if the run's deployment says its flow writes no lineage (a deployment this
        engine does not serve); True otherwise, also while the deployment is not known."""
        run = self.ctx.store.flow_runs.get(self.flow_run_id)
        deployment = self.ctx.store.deployments.get(run.deployment_name) if run else None
        return deployment is None or deployment.records_lineage

    def refresh_lineage(self) -> None:
        doc = self.doc
        if doc is not None:
            self.update(self._render_doc(doc))
        elif not self.records_lineage():
            self.update(
                Text(
                    "Not recorded by this flow: only the engine's own pipeline flows write "
                    "lineage; this run's deployment is served elsewhere.",
                    style="dim",
                )
            )
        elif self._ended():
            # Never a promise for a run that is over: its flow wrote none (it crashed before
            # the end of its attempt), or its file left the engine's lineage table.
            self.update(
                Text(
                    "No lineage recorded for this run: none in Redis, none in the engine's "
                    "lineage table.",
                    style="dim",
                )
            )
        else:
            self.update(Text("No lineage yet: it is written when an attempt ends.", style="dim"))

    def _ended(self) -> bool:
        run = self.ctx.store.flow_runs.get(self.flow_run_id)
        return run is not None and is_final(run.state_type)

    def _render_doc(self, doc: Lineage) -> Table:
        zone = self.ctx.now().tzinfo
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="bold", no_wrap=True)
        grid.add_column()
        status = str(doc.status or DASH)
        recorded = iso_time(doc.recorded_at, zone)
        # A cancelled or failed attempt says whether its partitions were written: all or
        # none (save_results never leaves some of them).
        wrote = _WROTE.get(str(doc.written), "") if status != "completed" else ""
        grid.add_row("Attempt", f"{status} at {recorded}{wrote}")
        if doc.error:
            grid.add_row("Error", Text(str(doc.error), style="bold"))
        grid.add_row("Trigger", describe_trigger(doc.trigger, zone))
        grid.add_row("Parameters", Text(format_params(doc.parameters), end=""))
        grid.add_row("Input", self._input(doc.input))
        grid.add_row("Model", self._model(doc.model))
        outputs = doc.outputs
        grid.add_row(f"Outputs ({len(outputs)})", self._outputs(outputs))
        grid.add_row("Tasks", self._tasks(doc.tasks or []))
        return grid

    @staticmethod
    def _input(data: LineageInput) -> Text:
        text = Text(str(data.path or DASH), end="")
        # A remote object (s3://, gs://) is identified by the store's ETag, a local file by
        # the sha256 of its bytes.
        label, digest = ("etag", data.etag) if data.etag else ("sha256", data.sha256)
        text.append(f"\n{format_bytes(data.size_bytes)}   {label} ")
        text.append(short_hash(digest), style="bold")
        rows = data.rows
        text.append(f"   rows {rows if rows is not None else DASH}")
        if data.min_timestamp or data.max_timestamp:
            text.append(f"   {data.min_timestamp or DASH} .. {data.max_timestamp or DASH}")
        return text

    def _model(self, data: LineageModel) -> str:
        name = data.name or data.requested or DASH
        return f"{name} {data.version or DASH}   weights {short_hash(data.weights_hash)}"

    def _outputs(self, outputs: list[LineageOutput]) -> str:
        if not outputs:
            return DASH
        return "\n".join(
            f"{partition_name(o.path) or DASH}   rows {o.rows}   {format_bytes(o.bytes)}"
            for o in outputs
        )

    def _tasks(self, tasks: list[LineageTask]) -> str:
        if not tasks:
            return DASH
        return "\n".join(
            f"{t.name}   {t.state_name or DASH}   "
            f"{format_duration(t.duration_s)}"
            f"{'   ♻ cache hit' if t.cache_hit else ''}"
            for t in tasks
        )
