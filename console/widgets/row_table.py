"""A row-cursor DataTable whose home/end go to the first/last row.

Textual's DataTable binds home/end to the leftmost/rightmost column (it scrolls sideways
with a row cursor) and puts first/last row on ctrl+home/ctrl+end, which many terminals
never send. Every table of the console moves by rows, so home/end do that here.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.widgets import DataTable


class RowTable(DataTable[Text]):
    """DataTable with home/end on the first/last row."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "home",
            "scroll_top",
            "First row",
            tooltip="Move to the first row",
            show=False,
            id="table.first",
        ),
        Binding(
            "end",
            "scroll_bottom",
            "Last row",
            tooltip="Move to the last row",
            show=False,
            id="table.last",
        ),
    ]
