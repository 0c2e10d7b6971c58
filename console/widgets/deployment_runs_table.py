"""The recent runs of one deployment, newest first (the deployment screen's table)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType

from console.context import Context
from console.text.formatting import format_run_duration, iso_time, run_durations, state_label
from console.widgets.column_fit import TableColumn
from console.widgets.keyed_table import KeyedTable, Row
from console.widgets.tones import toned
from engine.contract.documents import FlowRun
from engine.contract.ordering import run_order

RECENT_RUNS = 50
"""Runs of the deployment listed; older ones stay in the main screen's runs table."""


class DeploymentRunsTable(KeyedTable):
    """One row per run of `deployment`, keyed by flow run id."""

    BINDINGS: ClassVar[list[BindingType]] = [
        # Out of the footer, so the deployment screen's keys fit at 80 columns; `?` lists it.
        Binding(
            "enter",
            "select_cursor",
            "Open run",
            tooltip="Task runs and logs of this run",
            show=False,
        ),
    ]

    # Narrow terminals drop the highest numbers first (whole columns, never cut values).
    COLUMNS = (
        TableColumn("name", "Run", 1),
        TableColumn("state", "State", 2),
        TableColumn("start", "Start", 4),
        TableColumn("duration", "Duration", 3),
        TableColumn("attempts", "Attempts", 5),
    )
    NEWEST_FIRST = True

    def __init__(self, ctx: Context, deployment: str, *, id: str | None = None) -> None:
        super().__init__(ctx, id=id)
        self.deployment = deployment

    def wants(self, doc: FlowRun) -> bool:
        return doc.deployment_name == self.deployment

    def wanted_rows(self) -> Iterable[Row]:
        runs = [doc for doc in self.ctx.store.runs_newest_first() if self.wants(doc)]
        return [self.row_for(doc) for doc in runs[:RECENT_RUNS]]

    def row_for(self, doc: FlowRun) -> Row:
        now = self.ctx.now()
        label = state_label(doc.state_type, doc.state_name)
        cells = (
            Text(doc.name, style="bold", end=""),
            toned(self.app, label.text, label.tone),
            Text(iso_time(doc.start_time, now.tzinfo), end=""),
            Text(format_run_duration(run_durations(doc, now)), end=""),
            Text(str(doc.run_count), end=""),
        )
        return Row(doc.id, cells, (run_order(doc), doc.id))
