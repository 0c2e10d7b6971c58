"""The run screen's lineage panel: what the run's latest attempt read, used and wrote."""

from __future__ import annotations

from typing import Any

from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from console.context import Context
from console.text.formatting import DASH, format_duration, format_params, iso_time
from engine.contract.partitions import partition_name

Doc = dict[str, Any]


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


def describe_trigger(trigger: Doc | None, zone: Any = None) -> str:
    """`retry by ana (attempt 2)`, `schedule at 02:00:00`, `operator ana`, `manual`,
    `backfill of fire time 11-01 02:00:00 by ana`."""
    if not trigger:
        return DASH
    kind = str(trigger.get("kind") or DASH)
    who = trigger.get("retry_requested_by") or trigger.get("operator")
    parts = [kind]
    if kind == "schedule":
        parts.append(f"fire time {iso_time(trigger.get('expected_start_time'), zone)}")
    elif kind == "backfill":
        parts.append(f"of fire time {iso_time(trigger.get('fire_time'), zone)}")
        if who:
            parts.append(f"by {who}")
    elif who:
        parts.append(f"by {who}")
    attempt = trigger.get("attempt")
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
    def doc(self) -> Doc | None:
        return self.ctx.store.lineage.get(self.flow_run_id)

    def refresh_lineage(self) -> None:
        doc = self.doc
        if doc is None:
            self.update(Text("No lineage yet: it is written when an attempt ends.", style="dim"))
        else:
            self.update(self._render_doc(doc))

    def _render_doc(self, doc: Doc) -> Table:
        zone = self.ctx.now().tzinfo
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="bold", no_wrap=True)
        grid.add_column()
        status = str(doc.get("status") or DASH)
        recorded = iso_time(doc.get("recorded_at"), zone)
        # A cancelled or failed attempt says whether its partitions were written: all or
        # none (save_results never leaves some of them).
        wrote = _WROTE.get(str(doc.get("written")), "") if status != "completed" else ""
        grid.add_row("Attempt", f"{status} at {recorded}{wrote}")
        if doc.get("error"):
            grid.add_row("Error", Text(str(doc["error"]), style="bold"))
        trigger = doc.get("trigger") or {}
        grid.add_row("Trigger", describe_trigger(trigger, zone))
        grid.add_row("Parameters", Text(format_params(doc.get("parameters")), end=""))
        grid.add_row("Input", self._input(doc.get("input") or {}))
        grid.add_row("Model", self._model(doc.get("model") or {}))
        outputs = doc.get("outputs") or []
        grid.add_row(f"Outputs ({len(outputs)})", self._outputs(outputs))
        grid.add_row("Tasks", self._tasks(doc.get("tasks") or []))
        return grid

    def _input(self, data: Doc) -> Text:
        text = Text(str(data.get("path") or DASH), end="")
        text.append(f"\n{format_bytes(data.get('size_bytes'))}   sha256 ")
        text.append(short_hash(data.get("sha256")), style="bold")
        rows = data.get("rows")
        text.append(f"   rows {rows if rows is not None else DASH}")
        if data.get("min_timestamp") or data.get("max_timestamp"):
            text.append(
                f"   {data.get('min_timestamp') or DASH} .. {data.get('max_timestamp') or DASH}"
            )
        return text

    def _model(self, data: Doc) -> str:
        name = data.get("name") or data.get("requested") or DASH
        return (
            f"{name} {data.get('version') or DASH}   weights {short_hash(data.get('weights_hash'))}"
        )

    def _outputs(self, outputs: list[Doc]) -> str:
        if not outputs:
            return DASH
        return "\n".join(
            f"{partition_name(o.get('path')) or DASH}   rows {o.get('rows', DASH)}   "
            f"{format_bytes(o.get('bytes'))}"
            for o in outputs
        )

    def _tasks(self, tasks: list[Doc]) -> str:
        if not tasks:
            return DASH
        return "\n".join(
            f"{t.get('name')}   {t.get('state_name') or DASH}   "
            f"{format_duration(t.get('duration_s'))}"
            f"{'   ♻ cache hit' if t.get('cache_hit') else ''}"
            for t in tasks
        )
