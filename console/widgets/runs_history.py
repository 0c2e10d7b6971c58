"""What the runs table takes from the whole history (console/data/history.py): the query for
its view, the rows of older pages beside the live ones, and the title's true total."""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine.contract.documents import FlowRun
from engine.contract.history import RunQuery
from engine.contract.ordering import run_order

if TYPE_CHECKING:
    from console.widgets.runs_table import RunsTable

from console.data.history import HISTORY_PAGE


def view_key(table: RunsTable) -> tuple[object, ...]:
    """The view a page belongs to: filters and sort (not the clock, not the marks)."""
    return (
        table.deployment_filter,
        table.state_filter,
        table.time_range,
        table.filter_text,
        table.sort_column,
        table.sort_reverse,
    )


PREFECT_SORTS = frozenset({"start", "name"})
"""Columns Prefect's API sorts flow runs by (FlowRunSort); the others (deployment, state,
duration, attempts) sort only the rows loaded, and the title says so."""


def sorted_by_prefect(table: RunsTable) -> bool:
    return table.sort_column in PREFECT_SORTS


def _sort(table: RunsTable) -> str:
    """Prefect sorts by start and by name; other columns sort the loaded rows only."""
    if table.sort_column == "name":
        return "NAME_DESC" if table.sort_reverse else "NAME_ASC"
    if table.sort_column == "start" and not table.sort_reverse:
        return "START_TIME_ASC"
    return "START_TIME_DESC"


def unfiltered(table: RunsTable) -> bool:
    """Every run, newest first: the view the live window already shows the top of."""
    return table.default_view and table.deployment_filter is None and not table.filter_text


def history_query(table: RunsTable) -> RunQuery | None:
    """The view's query at offset 0 (the unfiltered view too: its total is all of Prefect's
    runs and its older pages are the history below the live window), or None: a deployment
    the console does not know the Prefect id of."""
    from console.widgets.runs_table import STATE_FILTERS, TIME_RANGES

    deployment_id = ""
    if table.deployment_filter is not None:
        doc = table.ctx.store.deployments.get(table.deployment_filter)
        if doc is None or not doc.id:
            return None
        deployment_id = doc.id
    now = table.ctx.now()
    window = TIME_RANGES[table.time_range][1]
    return RunQuery(
        deployment_id=deployment_id,
        state_types=sorted(STATE_FILTERS[table.state_filter][1]),
        since=(now - window).isoformat() if window is not None else None,
        until=now.isoformat(),
        text=table.filter_text,
        sort=_sort(table),
        limit=HISTORY_PAGE,
    )


def with_history(table: RunsTable, live: list[FlowRun]) -> list[FlowRun]:
    """The live rows the filters keep, and the loaded pages' runs: a run the mirror holds
    is shown from the mirror (it keeps updating), the others as Prefect reported them."""
    view = table.history
    if view is None or not view.runs:
        return live
    held = table.ctx.store.flow_runs
    docs = {doc.id: doc for doc in live}
    for run_id, doc in view.runs.items():
        if run_id in held:
            if table.wants(held[run_id]):  # its state may have moved on since the page
                docs[run_id] = held[run_id]
        else:
            docs[run_id] = doc
    return sorted(docs.values(), key=run_order, reverse=True)


def title_counts(table: RunsTable) -> str:
    """`Failed, last 7d: 1,432 in Prefect; 100 shown` once the engine answered; the held
    runs' count, labelled so, while it has not or cannot."""
    held = table.counts().note()
    view = table.history
    if view is None:
        return held
    if view.total is not None:
        label = f"{table.state_filter_label}, {table.time_range_label}"
        tail = "; loading older" if view.loading else ""
        if view.status == "failed" and not view.loading:
            tail = f"; older not loaded: {view.error}"
        return f"{label}: {view.total:,} in Prefect; {table.row_count:,} shown{tail}"
    if view.status == "loading":
        return f"{held}; Prefect total loading…"
    return f"{held}; no Prefect total: {view.error}"
