"""A row-cursor DataTable whose home/end go to the first/last row, changed by diff.

Textual's DataTable binds home/end to the leftmost/rightmost column (it scrolls sideways
with a row cursor) and puts first/last row on ctrl+home/ctrl+end, which many terminals
never send. Every table of the console moves by rows, so home/end do that here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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

    def show_rows(self, rows: Mapping[str, Sequence[Text]]) -> None:
        """Makes the table hold `rows` (key -> cells) by diff: rows no longer wanted are
        removed, kept ones updated cell by cell, new ones added at the end."""
        held = {str(key.value) for key in self.rows}
        for key in held - rows.keys():
            self.remove_row(key)
        for key, cells in rows.items():
            if key in held:
                for column, cell in zip(self.columns, cells, strict=True):
                    self.update_cell(key, column, cell)
            else:
                self.add_row(*cells, key=key)
