"""A run's output partitions (rows, bytes, schema) against the previous completed run of
its deployment, with changes flagged by glyph and word."""

from __future__ import annotations

from typing import ClassVar

from redis.exceptions import RedisError
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import DataTable, Footer, Label, Static

from console.context import Context
from console.data.connection import describe_error
from console.data.store import RedisReader
from console.screens.base import LiveScreen
from console.text.formatting import DASH, iso_time
from console.text.output_compare import (
    OutputsComparison,
    PartitionDiff,
    compare_outputs,
    pick_previous,
)
from console.widgets.lineage_panel import format_bytes
from console.widgets.row_table import RowTable
from console.widgets.status_bar import StatusBar
from engine.contract.documents import Lineage
from engine.contract.times import parse_iso

CANDIDATES = 100
"""Newest earlier writers in Redis, and newest runs the console holds, whose lineage is
read to find the previous completed run (one MGET)."""
FLAG_GLYPH = "⚠"
SAME_GLYPH = "✔"


def flag_text(flags: tuple[str, ...], compared: bool) -> Text:
    """`⚠ schema changed, rows down 60%` (bold), `✔ same` or a dash when not compared."""
    if flags:
        return Text(f"{FLAG_GLYPH} {', '.join(flags)}", style="bold")
    return Text(f"{SAME_GLYPH} no change flagged" if compared else DASH)


class OutputsScreen(LiveScreen):
    """Outputs of `flow_run_id`'s latest attempt; the highlighted partition's schema below."""

    DEFAULT_CSS = """
    OutputsScreen #outputs-summary {
        height: auto;
        padding: 0 1;
        background: $surface;
    }
    OutputsScreen #outputs-table {
        height: 1fr;
        min-height: 4;
    }
    OutputsScreen #outputs-schema-box {
        height: 1fr;
        min-height: 3;
        padding: 0 1;
        background: $surface;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", tooltip="Back to the run", id="outputs.back"),
    ]

    def __init__(self, ctx: Context, flow_run_id: str) -> None:
        super().__init__(ctx)
        self.flow_run_id = flow_run_id
        self.comparison: OutputsComparison | None = None
        self.shown: dict[str, PartitionDiff] = {}
        """Shown partitions by table key."""

    def compose(self) -> ComposeResult:
        yield Label(self._title(), id="outputs-title", classes="title")
        yield Static(Text("Reading lineage…"), id="outputs-summary")
        yield RowTable(id="outputs-table", cursor_type="row", zebra_stripes=True)
        yield Label("Schema", id="outputs-schema-title", classes="title")
        with VerticalScroll(id="outputs-schema-box"):
            yield Static(id="outputs-schema")
        yield StatusBar(self.ctx, id="status")
        yield Footer()

    def _title(self) -> str:
        run = self.ctx.store.flow_runs.get(self.flow_run_id)
        name = (run.name if run else "") or self.flow_run_id[:8]
        deployment = (run.deployment_name if run else "") or "?"
        return f"Outputs of run {name} ({deployment})"

    @property
    def table(self) -> RowTable:
        return self.query_one("#outputs-table", RowTable)

    def on_mount(self) -> None:
        self.table.add_columns("Partition", "Rows", "Bytes", "Previous rows", "Change")
        self.table.focus()
        self.load()

    def show_lineage(self, flow_run_id: str) -> None:
        # A new attempt of this run, or of the run it is compared with.
        self.load()

    @work(exclusive=True, group="outputs", exit_on_error=False)
    async def load(self) -> None:
        reader = RedisReader(self.ctx.redis_url, self.ctx.keys)
        try:
            current = await reader.read_lineage(self.flow_run_id)
            candidates: list[Lineage] = []
            if current is not None:
                candidates = await self._candidates(reader, current)
        except (RedisError, OSError) as exc:
            self.notify(f"Could not read the lineage: {describe_error(exc)}", severity="error")
            return
        finally:
            await reader.close()
        if current is None:
            self.query_one("#outputs-summary", Static).update(
                Text(
                    f"{DASH} No lineage for this run in Redis (key "
                    f"{self.ctx.keys.lineage(self.flow_run_id)}): it is written when an "
                    "attempt ends, and trimmed with old runs."
                )
            )
            return
        self._show(compare_outputs(current, pick_previous(current, candidates)))

    async def _candidates(self, reader: RedisReader, current: Lineage) -> list[Lineage]:
        """Lineage of the deployment's runs that may be the previous one: the newest
        writers before `current` in Redis's writers index (it outlives the console's list
        of runs), plus the runs the console holds (e.g. ones whose outputs were never
        indexed)."""
        deployment = str(current.deployment_name or "")
        recorded = parse_iso(current.recorded_at)
        written = await reader.read_writers_before(
            deployment, recorded.timestamp() if recorded else None, CANDIDATES
        )
        held = [
            run.id
            for run in self.ctx.store.runs_newest_first()
            if run.deployment_name == deployment
        ][:CANDIDATES]
        ids = [
            run_id
            for run_id in dict.fromkeys([run_id for run_id, _ in written] + held)
            if run_id != self.flow_run_id
        ]
        return list((await reader.read_lineages(ids)).values())

    def _show(self, comparison: OutputsComparison) -> None:
        self.comparison = comparison
        self.query_one("#outputs-summary", Static).update(self._summary(comparison))
        compared = comparison.previous is not None
        wanted = {diff.partition: diff for diff in comparison.partitions}
        self.table.show_rows(
            {
                key: (
                    Text(diff.partition, style="bold"),
                    Text(str(diff.rows) if diff.rows is not None else DASH),
                    Text(format_bytes(diff.bytes)),
                    Text(
                        str(diff.previous_rows)
                        if diff.previous_rows is not None
                        else ("new partition" if compared else DASH)
                    ),
                    flag_text(diff.flags, compared),
                )
                for key, diff in wanted.items()
            }
        )
        self.shown = wanted
        self._show_schema()

    def _summary(self, comparison: OutputsComparison) -> Text:
        count = len(comparison.partitions)
        text = Text(f"{count} partition(s), {comparison.total_rows} rows. ")
        previous = comparison.previous
        if previous is None:
            text.append(f"{DASH} No earlier completed run of this deployment to compare with.")
            return text
        zone = self.ctx.now().tzinfo
        text.append(
            f"Previous: run {previous.flow_run_name or '?'} at "
            f"{iso_time(previous.recorded_at, zone)}, "
            f"{comparison.previous_total_rows} rows.\n"
        )
        text.append_text(flag_text(comparison.flags, True))
        if comparison.schema_changes:
            text.append(": " + ", ".join(c.describe() for c in comparison.schema_changes))
        return text

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_schema()

    def _show_schema(self) -> None:
        row = self.table.cursor_row
        diffs = list(self.shown.values())
        title = self.query_one("#outputs-schema-title", Label)
        body = self.query_one("#outputs-schema", Static)
        if not diffs or not 0 <= row < len(diffs):
            title.update("Schema")
            body.update(Text(f"{DASH} no partitions written"))
            return
        diff = diffs[row]
        if diff.schema is None:
            title.update(f"Schema of {diff.partition}")
            body.update(Text(f"{DASH} not recorded (written before schemas were recorded)"))
            return
        title.update(f"Schema of {diff.partition} ({len(diff.schema)} columns)")
        marks = {c.column: c for c in diff.schema_changes}
        lines = Text()
        width = max(len(c) for c in diff.schema) if diff.schema else 0
        for column, kind in diff.schema.items():
            change = marks.get(column)
            line = f"{change.mark if change else ' '} {column:<{width}}  {kind}"
            if change is not None and change.mark == "~":
                line += f"   (was {change.old})"
            lines.append(line + "\n", style="bold" if change else "")
        removed = [c for c in diff.schema_changes if c.mark == "-"]
        for change in removed:
            lines.append(f"- {change.column:<{width}}  {change.old}   (removed)\n", style="bold")
        body.update(lines)

    def action_back(self) -> None:
        self.app.pop_screen()
