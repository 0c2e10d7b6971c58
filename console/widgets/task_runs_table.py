"""The task runs of one flow run, in start order, updating live."""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType

from console.context import Context
from console.text.formatting import format_duration, iso_time, run_seconds, state_label
from console.widgets.column_fit import TableColumn
from console.widgets.keyed_table import KeyedTable, Row
from console.widgets.tones import toned
from engine.contract.documents import TaskRun
from engine.contract.ordering import run_order


class TaskRunsTable(KeyedTable):
    """One row per task run of `flow_run_id`, keyed by task run id."""

    BINDINGS: ClassVar[list[BindingType]] = [
        # Out of the footer, so the run screen's keys fit at 80 columns; `?` lists it.
        Binding("enter", "select_cursor", "Task log", tooltip="Log lines of this task", show=False),
    ]

    # Narrow terminals drop the highest numbers first (whole columns, never cut values).
    COLUMNS = (
        TableColumn("name", "Task", 1),
        TableColumn("state", "State", 2),
        TableColumn("start", "Start", 4),
        TableColumn("duration", "Duration", 3),
        TableColumn("attempts", "Attempts", 5),
    )

    def __init__(self, ctx: Context, flow_run_id: str, *, id: str | None = None) -> None:
        super().__init__(ctx, id=id)
        self.flow_run_id = flow_run_id

    def wanted_rows(self) -> Iterable[Row]:
        return [self.row_for(doc) for doc in self.ctx.store.tasks_of(self.flow_run_id)]

    def row_for(self, doc: TaskRun) -> Row:
        now = self.ctx.now()
        label = state_label(doc.state_type, doc.state_name)
        cells = (
            Text(doc.name, style="bold", end=""),
            toned(self.app, label.text, label.tone),
            Text(iso_time(doc.start_time, now.tzinfo), end=""),
            Text(format_duration(run_seconds(doc, now)), end=""),
            Text(str(doc.run_count), end=""),
        )
        # Tasks not started yet sort last, in name order.
        started = doc.start_time is not None
        return Row(doc.id, cells, (not started, run_order(doc), doc.name))

    def show_task(self, doc: TaskRun) -> None:
        self.show_row(self.row_for(doc))
