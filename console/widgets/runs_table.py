"""The flow runs, newest first, with live-ticking durations for running runs."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType

from console.formatting import format_duration, iso_time, run_seconds, state_label
from console.state import run_order
from console.widgets.keyed_table import KeyedTable, Row
from console.widgets.tones import toned

RUNS_SHOWN = 300
"""Rows in the table; older runs stay in Redis and Prefect."""


class RunsTable(KeyedTable):
    """One row per flow run, keyed by flow run id; optionally one deployment's runs only."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select_cursor", "Open run", tooltip="Task runs and logs of this run"),
    ]

    COLUMNS = (
        ("name", "Run"),
        ("deployment", "Deployment"),
        ("state", "State"),
        ("start", "Start"),
        ("duration", "Duration"),
        ("attempts", "Attempts"),
    )
    NEWEST_FIRST = True

    deployment_filter: str | None = None
    """Show only runs of this deployment (set by enter on the deployments table)."""

    def set_deployment_filter(self, name: str | None) -> None:
        self.deployment_filter = name
        self.refresh_rows()

    def wants(self, doc: dict[str, Any]) -> bool:
        return self.deployment_filter in (None, doc.get("deployment_name"))

    def wanted_rows(self) -> Iterable[Row]:
        runs = [doc for doc in self.ctx.store.runs_newest_first() if self.wants(doc)]
        return [self.row_for(doc) for doc in runs[:RUNS_SHOWN]]

    def row_for(self, doc: dict[str, Any]) -> Row:
        now = self.ctx.now()
        label = state_label(doc.get("state_type"), doc.get("state_name"))
        cells = (
            Text(str(doc.get("name", "")), style="bold", end=""),
            Text(str(doc.get("deployment_name") or ""), end=""),
            toned(self.app, label.text, label.tone),
            Text(iso_time(doc.get("start_time"), now.tzinfo), end=""),
            Text(format_duration(run_seconds(doc, now)), end=""),
            Text(str(doc.get("run_count", 0)), end=""),
        )
        return Row(str(doc["id"]), cells, (run_order(doc), str(doc["id"])))

    def show_run(self, doc: dict[str, Any]) -> None:
        self.show_row(self.row_for(doc), wanted=self.wants(doc))
