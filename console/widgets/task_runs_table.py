"""The task runs of one flow run, in start order, updating live."""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from textual.binding import Binding, BindingType

from console.context import Context
from console.text.formatting import format_duration, run_seconds
from console.widgets.keyed_table import KeyedTable, Row
from console.widgets.run_rows import run_cells, run_columns
from engine.contract.documents import TaskRun
from engine.contract.ordering import run_order


class TaskRunsTable(KeyedTable):
    """One row per task run of `flow_run_id`, keyed by task run id."""

    BINDINGS: ClassVar[list[BindingType]] = [
        # Out of the footer, so the run screen's keys fit at 80 columns; `?` lists it.
        Binding("enter", "select_cursor", "Task log", tooltip="Log lines of this task", show=False),
    ]

    COLUMNS = run_columns("Task")

    def __init__(self, ctx: Context, flow_run_id: str, *, id: str | None = None) -> None:
        super().__init__(ctx, id=id)
        self.flow_run_id = flow_run_id

    def wanted_rows(self) -> Iterable[Row]:
        return [self.row_for(doc) for doc in self.ctx.store.tasks_of(self.flow_run_id)]

    def row_for(self, doc: TaskRun) -> Row:
        now = self.ctx.now()
        cells = run_cells(self.app, doc, now, format_duration(run_seconds(doc, now)))
        # Tasks not started yet sort last, in name order.
        started = doc.start_time is not None
        return Row(doc.id, cells, (not started, run_order(doc), doc.name))

    def show_task(self, doc: TaskRun) -> None:
        self.show_row(self.row_for(doc))
