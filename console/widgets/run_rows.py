"""What the run tables share: the key that opens a run, and a run row's columns and cells."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rich.text import Text
from textual.app import App
from textual.binding import Binding

from console.text.formatting import iso_time, state_label
from console.widgets.column_fit import TableColumn
from console.widgets.tones import toned
from engine.contract.documents import FlowRun, TaskRun

OPEN_RUN = Binding(
    "enter",
    "select_cursor",
    "Open run",
    tooltip="Task runs and logs of this run",
    show=False,  # out of the footer, so the screen's own keys fit at 80 columns; `?` lists it
)


def run_columns(name_header: str) -> tuple[TableColumn, ...]:
    """Name, state, start, duration, attempts; narrow terminals drop the highest numbers
    first (whole columns, never cut values)."""
    return (
        TableColumn("name", name_header, 1),
        TableColumn("state", "State", 2),
        TableColumn("start", "Start", 4),
        TableColumn("duration", "Duration", 3),
        TableColumn("attempts", "Attempts", 5),
    )


def run_cells(
    app: App[Any], doc: FlowRun | TaskRun, now: datetime, duration: str, name: str | None = None
) -> tuple[Text, Text, Text, Text, Text]:
    """The cells of `run_columns` for a flow or task run `doc`; `name` replaces its name."""
    label = state_label(doc.state_type, doc.state_name)
    return (
        Text(doc.name if name is None else name, style="bold", end=""),
        toned(app, label.text, label.tone),
        Text(iso_time(doc.start_time, now.tzinfo), end=""),
        Text(duration, end=""),
        Text(str(doc.run_count), end=""),
    )
