"""The flow runs, newest first, with live-ticking durations for running runs.

Filters (deployment, state, time range, `/` text), a sort on any column, and marks for
bulk actions; rows stay keyed by flow run id and change by diff.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets.data_table import RowKey

from console.data.history import HistoryView
from console.text.formatting import (
    format_run_duration,
    is_final,
    run_durations,
    state_label,
)
from console.widgets.column_fit import TableColumn
from console.widgets.keyed_table import KeyedTable, Row
from console.widgets.run_rows import OPEN_RUN, run_cells
from console.widgets.runs_history import with_history
from engine.contract.documents import FlowRun
from engine.contract.ordering import run_order
from engine.contract.times import parse_iso

RUNS_SHOWN = 300
"""Live rows in the table at most: the newest held runs the filters keep. With a filter set,
older pages from Prefect come on top (`history`) and the title gives Prefect's total."""

FOLLOW_SECONDS = 15.0
"""How long the cursor waits for a triggered run to reach the table before giving up."""

MARK = "◆ "
"""Prefix of a marked run's name (a glyph, so marks never rely on colour)."""

STATE_FILTERS: tuple[tuple[str, frozenset[str]], ...] = (
    ("All", frozenset()),
    ("Running", frozenset({"RUNNING", "PENDING", "CANCELLING"})),
    ("Failed", frozenset({"FAILED", "CRASHED"})),
    ("Completed", frozenset({"COMPLETED"})),
    ("Scheduled", frozenset({"SCHEDULED", "PAUSED"})),
    ("Cancelled", frozenset({"CANCELLED"})),
)
"""What `f` cycles through: a label and the state types it keeps (empty: all). `Failed`
keeps Crashed runs too: both are runs that did not finish their work."""

TIME_RANGES: tuple[tuple[str, timedelta | None], ...] = (
    ("any time", None),
    ("last 1h", timedelta(hours=1)),
    ("last 24h", timedelta(hours=24)),
    ("last 7d", timedelta(days=7)),
)
"""What `R` cycles through: runs that started (or were due) within the range, counted over
all of Prefect's history (console/data/history.py), the range sliding as the total is
counted again."""


@dataclass(frozen=True)
class RunCounts:
    """The runs title's numbers."""

    shown: int
    """Rows in the table."""
    matching: int
    """Runs the console holds that the filters (deployment, state, range, `/`) keep."""
    held: int
    """Runs the console holds: the newest ones Redis keeps, not the full history."""

    def note(self) -> str:
        """`3 held`, `newest 300 of 1000 held`, `43 of 1000 held`,
        `newest 300 of 612; 1000 held`: never a count that reads as all of history."""
        head = f"{self.shown}" if self.shown >= self.matching else f"newest {self.shown} of"
        if self.matching >= self.held:
            middle = "" if self.shown >= self.matching else f" {self.matching}"
            return f"{head}{middle} held"
        if self.shown >= self.matching:
            return f"{head} of {self.held} held"
        return f"{head} {self.matching}; {self.held} held"


def _hidden(key: str, action: str, label: str, tip: str) -> Binding:
    return Binding(key, action, label, tooltip=tip, show=False)


class RunsTable(KeyedTable):
    """One row per flow run, keyed by flow run id; optionally one deployment's runs only."""

    # All out of the footer, so the screen's t/p/r/c, / and q/?/a fit at 80 columns; `?`
    # lists them.
    BINDINGS: ClassVar[list[BindingType]] = [
        OPEN_RUN,
        _hidden("space", "toggle_mark", "Mark", "Mark or unmark this run"),
        _hidden(
            "shift+space,V",
            "mark_range",
            "Mark range",
            "Mark every run from the last marked one to this one",
        ),
        _hidden("ctrl+a,asterisk", "mark_all", "Mark all", "Mark every run the filters show"),
        _hidden("f", "cycle_state", "State", "Show runs of one state (cycles)"),
        _hidden("R", "cycle_range", "Range", "Runs of the last 1h / 24h / 7d / all (cycles)"),
        _hidden("o", "cycle_sort", "Sort", "Sort by the next column (cycles)"),
        _hidden("O", "reverse_sort", "Reverse", "Reverse the sort"),
    ]

    # Narrow terminals drop the highest numbers first (whole columns, never cut values).
    COLUMNS = (
        TableColumn("name", "Run", 1),
        TableColumn("deployment", "Deployment", 4),
        TableColumn("state", "State", 2),
        TableColumn("start", "Start", 5),
        TableColumn("duration", "Duration", 3),
        TableColumn("attempts", "Attempts", 6),
    )
    NEWEST_FIRST = True

    class ViewChanged(Message):
        """Filters, sort or marks changed: the screen updates its title."""

    class OlderWanted(Message):
        """The cursor reached the last row: the screen asks for the next page."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.deployment_filter: str | None = None
        """Show only runs of this deployment (set by enter on the deployments table)."""
        self.state_filter = 0
        """Index into STATE_FILTERS."""
        self.time_range = 0
        """Index into TIME_RANGES."""
        self.sort_column = "start"
        """Column key the rows sort by."""
        self.marked: set[str] = set()
        """Flow run ids marked for a bulk action."""
        self._last_marked: str | None = None
        self.following: str | None = None
        """A just-triggered run the cursor moves to as soon as it is a row."""
        self._follow_until = 0.0
        self.history: HistoryView | None = None
        """With a filter set: Prefect's total and the older pages loaded for this view."""

    # The cursor follows a triggered run.

    def follow(self, run_id: str) -> None:
        """Moves the cursor to `run_id` now, or when its row arrives (FOLLOW_SECONDS)."""
        self.following = run_id
        self._follow_until = time.monotonic() + FOLLOW_SECONDS
        self._catch_up()

    def _catch_up(self) -> None:
        run_id = self.following
        if run_id is None or not self.is_mounted:
            return
        doc = self.ctx.store.flow_runs.get(run_id)
        if RowKey(run_id) in self.rows:
            self.following = None
            self.move_cursor(row=self.get_row_index(run_id))
        elif doc is not None:
            self.following = None
            self.app.notify(
                f"The new run {doc.name or run_id} is hidden by the runs filters; "
                "escape clears them.",
                title="Triggered",
            )
        elif time.monotonic() > self._follow_until:
            self.following = None
            self.app.notify(
                f"The new run {run_id} has not reached the console in {FOLLOW_SECONDS:.0f} s; "
                "the cursor stayed where it was.",
                title="Triggered",
                severity="warning",
            )

    def refresh_rows(self) -> None:
        super().refresh_rows()
        self._catch_up()

    def tick_rows(self) -> None:
        """Only unfinished runs' durations move with the clock, unless a time range filter
        lets runs age out of the table."""
        if TIME_RANGES[self.time_range][1] is not None:
            self.refresh_rows()
            return
        runs = self.ctx.store.flow_runs
        moving = [runs[key] for key in self.row_keys() if key in runs]
        self.show_runs([doc for doc in moving if not is_final(doc.state_type)])

    # Filters and sort.

    def set_deployment_filter(self, name: str | None) -> None:
        self.deployment_filter = name
        self._changed()

    @property
    def state_filter_label(self) -> str:
        return STATE_FILTERS[self.state_filter][0]

    @property
    def time_range_label(self) -> str:
        return TIME_RANGES[self.time_range][0]

    @property
    def sort_label(self) -> str:
        """`Start ▼`: the sort column's header and its direction."""
        header = self.column_label(self.sort_column)
        return f"{header} {'▼' if self.sort_reverse else '▲'}"

    @property
    def default_view(self) -> bool:
        """No state or time filter and the default sort (newest first)."""
        return (
            self.state_filter == 0
            and self.time_range == 0
            and self.sort_column == "start"
            and self.sort_reverse
        )

    def set_state_filter(self, label: str) -> None:
        """Shows only runs of the STATE_FILTERS entry `label` names (any case)."""
        labels = [name.lower() for name, _states in STATE_FILTERS]
        self.state_filter = labels.index(label.lower())
        self._changed()

    def action_cycle_state(self) -> None:
        self.state_filter = (self.state_filter + 1) % len(STATE_FILTERS)
        self._changed()

    def action_cycle_range(self) -> None:
        self.time_range = (self.time_range + 1) % len(TIME_RANGES)
        self._changed()

    def action_cycle_sort(self) -> None:
        keys = self.column_keys()
        self.sort_column = keys[(keys.index(self.sort_column) + 1) % len(keys)]
        self._changed()

    def action_reverse_sort(self) -> None:
        self.sort_reverse = not self.sort_reverse
        self._changed()

    def wants(self, doc: FlowRun) -> bool:
        if self.deployment_filter not in (None, doc.deployment_name):
            return False
        states = STATE_FILTERS[self.state_filter][1]
        if states and str(doc.state_type or "").upper() not in states:
            return False
        window = TIME_RANGES[self.time_range][1]
        if window is not None:
            moment = parse_iso(doc.start_time) or parse_iso(doc.expected_start_time)
            if moment is None or moment < self.ctx.now() - window:
                return False
        return True

    def wanted_rows(self) -> Iterable[Row]:
        if self.history is None or not self.history.runs:
            return self._matching_rows(RUNS_SHOWN)
        live = [doc for doc in self.ctx.store.runs_newest_first() if self.wants(doc)]
        docs = with_history(self, live if self.filter_text else live[:RUNS_SHOWN])
        return [self.row_for(doc) for doc in docs]

    def set_filter(self, text: str) -> None:
        super().set_filter(text)
        self.post_message(self.ViewChanged())  # the text is part of the history query

    def on_data_table_row_highlighted(self, event: KeyedTable.RowHighlighted) -> None:
        history = self.history
        if history is not None and history.wants_more() and event.cursor_row >= self.row_count - 1:
            self.post_message(self.OlderWanted())

    def run_doc(self, run_id: str) -> FlowRun | None:
        """The held run, else the one an older page brought."""
        doc = self.ctx.store.flow_runs.get(run_id)
        if doc is None and self.history is not None:
            doc = self.history.runs.get(run_id)
        return doc

    def _matching_rows(self, limit: int | None) -> list[Row]:
        """Rows of the held runs the filters keep, the `/` text too, newest first.

        The text filter runs before the cut, so `/` finds any held run, not only the newest
        300; without it only the rows shown are built.
        """
        docs = [doc for doc in self.ctx.store.runs_newest_first() if self.wants(doc)]
        if not self.filter_text:
            return [self.row_for(doc) for doc in docs[:limit]]
        needle = self.filter_text.casefold()
        rows = [row for row in map(self.row_for, docs) if row.matches(needle)]
        return rows[:limit]

    def counts(self) -> RunCounts:
        """What the title says: rows shown, held runs the filters keep, runs held."""
        store = self.ctx.store
        if self.filter_text:
            matching = len(self._matching_rows(None))
        else:
            matching = sum(1 for doc in store.flow_runs.values() if self.wants(doc))
        return RunCounts(self.row_count, matching, len(store.flow_runs))

    def row_for(self, doc: FlowRun) -> Row:
        now = self.ctx.now()
        label = state_label(doc.state_type, doc.state_name)
        run_id = doc.id
        name = doc.name
        durations = run_durations(doc, now)
        seconds = durations.for_chart
        shown_name = f"{MARK}{name}" if run_id in self.marked else name
        first, *rest = run_cells(self.app, doc, now, format_run_duration(durations), shown_name)
        cells = (first, Text(str(doc.deployment_name or ""), end=""), *rest)
        keys: dict[str, Any] = {
            "name": name.casefold(),
            "deployment": str(doc.deployment_name or "").casefold(),
            "state": label.word.casefold(),
            "start": run_order(doc),
            "duration": seconds if seconds is not None else -1.0,
            "attempts": int(doc.run_count or 0),
        }
        # Ties fall back to newest first, then the id, so the order is total and stable.
        return Row(run_id, cells, (keys[self.sort_column], run_order(doc), run_id))

    def show_run(self, doc: FlowRun) -> None:
        self.show_runs([doc])

    def show_runs(self, docs: list[FlowRun]) -> None:
        """Adds, updates or removes the runs' rows, sorting and fitting the table once.

        A run not in a full table and older than every run in it is left out, as
        `wanted_rows` would leave it (only the newest `RUNS_SHOWN` are drawn): adding it
        would make the next tick remove it again, and a row removal costs a redraw.
        """
        shown = set(self.row_keys())
        runs = self.ctx.store.flow_runs
        orders = [run_order(runs[key]) for key in shown if key in runs]
        floor = min(orders) if len(orders) >= RUNS_SHOWN else None
        rows = [
            (self.row_for(doc), self.wants(doc))
            for doc in docs
            if doc.id in shown or floor is None or run_order(doc) >= floor
        ]
        self.put_rows(rows)
        if any(doc.id == self.following for doc in docs):
            self._catch_up()

    # Marks.

    def marked_runs(self) -> list[FlowRun]:
        """The marked runs still known, in display order first, then the hidden ones."""
        runs = self.ctx.store.flow_runs
        shown = [key for key in self.row_keys() if key in self.marked]
        hidden = sorted(self.marked - set(shown))
        return [runs[key] for key in shown + hidden if key in runs]

    def action_toggle_mark(self) -> None:
        key = self.selected_key()
        if key is None:
            return
        if key in self.marked:
            self.marked.discard(key)
        else:
            self.marked.add(key)
            self._last_marked = key
        self._changed()

    def action_mark_range(self) -> None:
        key = self.selected_key()
        if key is None:
            return
        keys = self.row_keys()
        last = self._last_marked
        anchor = last if last is not None and last in keys else key
        start, end = sorted((keys.index(anchor), keys.index(key)))
        self.marked.update(keys[start : end + 1])
        self._last_marked = key
        self._changed()

    def action_mark_all(self) -> None:
        self.marked.update(self.row_keys())
        self._changed()

    def clear_marks(self) -> bool:
        """Unmarks every run; True if some were marked."""
        if not self.marked:
            return False
        self.marked.clear()
        self._last_marked = None
        self._changed()
        return True

    def _changed(self) -> None:
        self.refresh_rows()
        self.post_message(self.ViewChanged())
