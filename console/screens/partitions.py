"""Who wrote this? The output partitions a deployment has written, from the engine's index."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from redis.exceptions import RedisError
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Footer, Label

from console.context import Context
from console.data.connection import describe_error
from console.data.store import RedisReader
from console.screens.base import LiveScreen
from console.text.formatting import format_time
from console.widgets.row_table import RowTable
from console.widgets.status_bar import StatusBar


@dataclass(frozen=True)
class PartitionRow:
    """One written partition: how many writes it had (a retry that wrote it again counts
    again) and when the last one was."""

    deployment: str
    partition: str
    writes: int
    last_written: float | None

    @property
    def key(self) -> str:
        return f"{self.deployment}/{self.partition}"


class PartitionsScreen(LiveScreen):
    """Partitions of `deployment` (every deployment if None); enter lists their writers."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", tooltip="Back to the previous screen", id="parts.back"),
    ]

    def __init__(self, ctx: Context, deployment: str | None) -> None:
        super().__init__(ctx)
        self.deployment = deployment
        self.rows: dict[str, PartitionRow] = {}
        """Shown rows by table key."""

    def compose(self) -> ComposeResult:
        yield Label(self._title(), id="partitions-title", classes="title")
        yield RowTable(id="partitions-table", cursor_type="row", zebra_stripes=True)
        yield StatusBar(self.ctx, id="status")
        yield Footer()

    def _title(self, count: int | None = None) -> str:
        what = self.deployment or "every deployment"
        shown = "" if count is None else f" ({count})"
        return f"Output partitions of {what}{shown}: enter shows who wrote one"

    @property
    def table(self) -> RowTable:
        return self.query_one("#partitions-table", RowTable)

    def on_mount(self) -> None:
        self.table.add_columns("Deployment", "Partition", "Writes", "Last written")
        self.table.focus()
        self.load()

    def show_lineage(self, flow_run_id: str) -> None:
        self.load()  # a new attempt may have written a partition

    @work(exclusive=True, group="partitions", exit_on_error=False)
    async def load(self) -> None:
        names = [self.deployment] if self.deployment else sorted(self.ctx.store.deployments)
        reader = RedisReader(self.ctx.redis_url, self.ctx.keys)
        rows: list[PartitionRow] = []
        try:
            for name in names:
                for partition in await reader.read_partitions(name):
                    writes = await reader.read_writers(name, partition)
                    last = writes[-1].written_at if writes else None
                    rows.append(PartitionRow(name, partition, len(writes), last))
        except (RedisError, OSError) as exc:
            self.notify(f"Could not read the partitions: {describe_error(exc)}", severity="error")
            return
        finally:
            await reader.close()
        self._show(rows)

    def _show(self, rows: list[PartitionRow]) -> None:
        zone = self.ctx.now().tzinfo
        wanted = {row.key: row for row in rows}
        cells: dict[str, tuple[Text, ...]] = {}
        for key, row in wanted.items():
            last = None if row.last_written is None else datetime.fromtimestamp(row.last_written)
            cells[key] = (
                Text(row.deployment),
                Text(row.partition, style="bold"),
                Text(str(row.writes)),
                Text(format_time(last.astimezone(zone) if last else None, zone)),
            )
        self.table.show_rows(cells)
        self.rows = wanted
        self.query_one("#partitions-title", Label).update(self._title(len(rows)))
        if not rows:
            self.notify("No output partitions recorded yet.", title="Who wrote this?")

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        row = self.rows.get(str(event.row_key.value))
        if row is not None:
            from console.screens.writers import WritersScreen

            self.app.push_screen(WritersScreen(self.ctx, row.deployment, row.partition))

    def action_back(self) -> None:
        self.app.pop_screen()
