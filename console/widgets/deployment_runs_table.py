"""The recent runs of one deployment, newest first (the deployment screen's table)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from textual.binding import BindingType

from console.context import Context
from console.text.formatting import format_run_duration, run_durations
from console.widgets.keyed_table import KeyedTable, Row
from console.widgets.run_rows import OPEN_RUN, run_cells, run_columns
from engine.contract.documents import FlowRun
from engine.contract.ordering import run_order

RECENT_RUNS = 50
"""Runs of the deployment listed; older ones stay in the main screen's runs table."""


class DeploymentRunsTable(KeyedTable):
    """One row per run of `deployment`, keyed by flow run id."""

    BINDINGS: ClassVar[list[BindingType]] = [OPEN_RUN]
    COLUMNS = run_columns("Run")
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
        cells = run_cells(self.app, doc, now, format_run_duration(run_durations(doc, now)))
        return Row(doc.id, cells, (run_order(doc), doc.id))
