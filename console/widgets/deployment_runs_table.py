"""The recent runs of one deployment, newest first (the deployment screen's table)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType

from console.context import Context
from console.data.state import run_order
from console.text.formatting import format_run_duration, iso_time, run_durations, state_label
from console.widgets.column_fit import TableColumn
from console.widgets.keyed_table import KeyedTable, Row
from console.widgets.tones import toned

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

    def wants(self, doc: dict[str, Any]) -> bool:
        return doc.get("deployment_name") == self.deployment

    def wanted_rows(self) -> Iterable[Row]:
        runs = [doc for doc in self.ctx.store.runs_newest_first() if self.wants(doc)]
        return [self.row_for(doc) for doc in runs[:RECENT_RUNS]]

    def row_for(self, doc: dict[str, Any]) -> Row:
        now = self.ctx.now()
        label = state_label(doc.get("state_type"), doc.get("state_name"))
        cells = (
            Text(str(doc.get("name", "")), style="bold", end=""),
            toned(self.app, label.text, label.tone),
            Text(iso_time(doc.get("start_time"), now.tzinfo), end=""),
            Text(format_run_duration(run_durations(doc, now)), end=""),
            Text(str(doc.get("run_count", 0)), end=""),
        )
        return Row(str(doc["id"]), cells, (run_order(doc), str(doc["id"])))
