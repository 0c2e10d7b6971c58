"""Every write of one output partition, oldest first, with who and from what input.

One row per write: a retried run that wrote the partition again has a row per attempt,
each with that attempt's own lineage."""

from __future__ import annotations

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
from console.data.store import RedisReader, Write
from console.screens.base import LiveScreen
from console.text.formatting import DASH, format_time
from console.widgets.lineage_panel import describe_trigger, short_hash
from console.widgets.row_table import RowTable
from console.widgets.status_bar import StatusBar
from engine.contract.documents import Lineage
from engine.contract.partitions import parse_writer_member, partition_name


class WritersScreen(LiveScreen):
    """The writers of `deployment`'s `partition`; enter opens a writer's run screen."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", tooltip="Back to the partitions", id="writers.back"),
    ]

    def __init__(self, ctx: Context, deployment: str, partition: str) -> None:
        super().__init__(ctx)
        self.deployment = deployment
        self.partition = partition
        self.run_ids: list[str] = []
        """The run of each shown write, oldest first (a retried run can be there twice)."""

    def compose(self) -> ComposeResult:
        yield Label(self._title(), id="writers-title", classes="title")
        yield RowTable(id="writers-table", cursor_type="row", zebra_stripes=True)
        yield StatusBar(self.ctx, id="status")
        yield Footer()

    def _title(self, count: int | None = None) -> str:
        shown = "" if count is None else f" ({count} write{'' if count == 1 else 's'})"
        return f"Who wrote {self.deployment} {self.partition}{shown}, oldest first"

    @property
    def table(self) -> DataTable[Text]:
        return self.query_one("#writers-table", DataTable)

    def on_mount(self) -> None:
        self.table.add_columns(
            "#", "Written", "Run", "Status", "Trigger", "Input sha256", "Input rows", "Rows"
        )
        self.table.focus()
        self.load()

    def show_lineage(self, flow_run_id: str) -> None:
        self.load()

    @work(exclusive=True, group="writers", exit_on_error=False)
    async def load(self) -> None:
        reader = RedisReader(self.ctx.redis_url, self.ctx.keys)
        try:
            writes = await reader.read_writers(self.deployment, self.partition)
            docs = await reader.read_write_lineages(writes)
        except (RedisError, OSError) as exc:
            self.notify(f"Could not read the writers: {describe_error(exc)}", severity="error")
            return
        finally:
            await reader.close()
        self._show(writes, docs)

    def _show(self, writes: list[Write], docs: dict[str, Lineage]) -> None:
        zone = self.ctx.now().tzinfo
        table = self.table
        # Few rows, and order matters (a rewrite moves a run to the end): rebuild.
        table.clear()
        for number, write in enumerate(writes, start=1):
            run_id, written = write.flow_run_id, write.written_at
            doc = docs.get(write.key)
            run = self.ctx.store.flow_runs.get(run_id)
            name = (doc.flow_run_name if doc else "") or (run.name if run else "") or run_id[:8]
            if write.attempt is not None and write.attempt > 1:
                name = f"{name}, attempt {write.attempt}"
            rows = DASH
            for output in doc.outputs if doc else []:
                if partition_name(output.path) == self.partition:
                    rows = str(output.rows)
            source = doc.input if doc else None
            table.add_row(
                Text(str(number)),
                Text(format_time(datetime.fromtimestamp(written).astimezone(zone), zone)),
                Text(name, style="bold"),
                Text((doc.status if doc else "") or "lineage gone"),
                Text(describe_trigger(doc.trigger if doc else None, zone)),
                Text(short_hash(source.sha256 if source else None)),
                Text(str(source.rows) if source else DASH),
                Text(rows),
                key=write.key,
            )
        self.run_ids = [write.flow_run_id for write in writes]
        self.query_one("#writers-title", Label).update(self._title(len(writes)))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        from console.screens.run import RunScreen

        if event.row_key.value is not None:
            run_id, _attempt = parse_writer_member(str(event.row_key.value))
            self.app.push_screen(RunScreen(self.ctx, run_id))

    def action_back(self) -> None:
        self.app.pop_screen()
