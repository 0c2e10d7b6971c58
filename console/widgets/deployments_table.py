"""The deployments: active/paused, who serves it, schedule, next fire time and the last
run's state."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType

from console.text.formatting import (
    DASH,
    deployment_label,
    format_next_run,
    format_schedule,
    served_by_text,
    state_label,
)
from console.text.pause_text import paused_until
from console.widgets.column_fit import TableColumn
from console.widgets.keyed_table import KeyedTable, Row
from console.widgets.tones import toned
from engine.contract.documents import Deployment

NEXT = 3
"""Index of the next-run cell in a row (COLUMNS' order)."""


def next_run_text(doc: Deployment, now: datetime) -> str:
    return paused_until(doc, now) or format_next_run(doc, now)


class DeploymentsTable(KeyedTable):
    """One row per deployment, keyed by deployment name, sorted by name."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "enter",
            "select_cursor",
            "Filter runs",
            tooltip="Show only this deployment's runs (enter again or escape: all runs)",
            show=False,  # the main footer is full at 80 columns; `?` lists it
        ),
    ]

    # What an operator scans for comes first. Narrow terminals drop the flow first, then
    # the schedule (both are on the deployment screen, `d`); a long schedule is cut with
    # `…` before that. "Served by" is shown once the estate has deployments this engine
    # does not serve: while every row would say `engine` it says nothing.
    COLUMNS = (
        TableColumn("state", "State", 2),
        TableColumn("name", "Deployment", 1),
        TableColumn("served", "Served by", 3, min_width=9),
        TableColumn("next", "Next run", 4),
        TableColumn("last", "Last run", 5),
        TableColumn("schedule", "Schedule", 6, min_width=14),
        TableColumn("flow", "Flow", 7),
    )

    def wanted_rows(self) -> Iterable[Row]:
        return [self.row_for(doc) for doc in self.ctx.store.deployments.values()]

    def idle_columns(self) -> frozenset[str]:
        if any(not doc.managed for doc in self.ctx.store.deployments.values()):
            return frozenset()
        return frozenset({"served"})

    def row_for(self, doc: Deployment) -> Row:
        now = self.ctx.now()
        state = deployment_label(bool(doc.paused))
        last = self.ctx.store.last_run(doc)
        if last is None:
            last_cell = Text(DASH, end="")
        else:
            label = state_label(last.state_type, last.state_name)
            last_cell = toned(self.app, label.text, label.tone)
        cells = (
            toned(self.app, state.text, state.tone),
            Text(doc.name, style="bold", end=""),
            Text(served_by_text(doc), end=""),
            Text(next_run_text(doc, now), end=""),
            last_cell,
            Text(format_schedule(doc), end=""),
            Text(str(doc.flow_name), end=""),
        )
        return Row(doc.name, cells, doc.name)

    def tick_rows(self) -> None:
        """Only the next-run cell moves with the clock: rows whose text changed."""
        now = self.ctx.now()
        changed = []
        for doc in self.ctx.store.deployments.values():
            row = self._rows.get(doc.name)
            if row is None or row.cells[NEXT].plain != next_run_text(doc, now):
                changed.append((self.row_for(doc), True))
        self.put_rows(changed)

    def show_deployment(self, name: str) -> None:
        doc = self.ctx.store.deployments.get(name)
        if doc is None:
            self.remove_key(name)
        else:
            self.show_row(self.row_for(doc))
