"""A row-cursor DataTable whose home/end go to the first/last row, changed by diff, and
whose changed cells repaint their row only.

Textual's DataTable binds home/end to the leftmost/rightmost column (it scrolls sideways
with a row cursor) and puts first/last row on ctrl+home/ctrl+end, which many terminals
never send. Every table of the console moves by rows, so home/end do that here.

`DataTable.update_cell` repaints the whole table: one run's new state wrote every visible
row to the terminal again (about 19 KiB at 160x48, what an SSH link carries), and rendered
them all. `update_cells` repaints the one line.

DataTable measures new rows when the app is idle, but its rendered lines are cached by
row, cursor and a count its resize handler bumps, not by column widths: a row drawn
between `add_row` and that resize stayed cut at the old widths. Widths that change bump
the count at once here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.widgets import DataTable
from textual.widgets.data_table import CellKey, ColumnKey, RowKey


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

    def _update_dimensions(self, new_rows: Iterable[RowKey]) -> None:
        widths = self._column_widths()
        super()._update_dimensions(new_rows)
        self._forget_lines_if_widths_changed(widths)

    def _update_column_widths(self, updated_cells: set[CellKey]) -> None:
        widths = self._column_widths()
        super()._update_column_widths(updated_cells)
        self._forget_lines_if_widths_changed(widths)

    def _column_widths(self) -> list[int]:
        return [column.get_render_width(self) for column in self.ordered_columns]

    def _forget_lines_if_widths_changed(self, widths: list[int]) -> None:
        if self._column_widths() != widths:
            self._update_count += 1  # every render cache's key: no line at the old widths

    def update_cells(self, key: str, cells: Mapping[ColumnKey | str, Text]) -> None:
        """Sets these cells (column key -> value) of row `key` and repaints that row only;
        column widths are left as they are (as `update_cell(..., update_width=False)`)."""
        row_key = RowKey(key)
        data = self._data[row_key]  # Textual's own store of the cells (pinned: pyproject)
        for column, value in cells.items():
            data[column if isinstance(column, ColumnKey) else ColumnKey(column)] = value
        # Every render cache is keyed by this count: bumped, no stale line is drawn.
        self._update_count += 1
        self.refresh_row(self.get_row_index(row_key))

    def show_rows(self, rows: Mapping[str, Sequence[Text]]) -> None:
        """Makes the table hold `rows` (key -> cells) by diff: rows no longer wanted are
        removed, kept ones updated cell by cell, new ones added at the end."""
        held = {str(key.value) for key in self.rows}
        for key in held - rows.keys():
            self.remove_row(key)
        for key, cells in rows.items():
            if key in held:
                current = self.get_row(key)
                # The columns' own keys: a column added without one has no string for it.
                changed: dict[ColumnKey | str, Text] = {
                    column: cell
                    for column, old, cell in zip(self.columns, current, cells, strict=True)
                    if old != cell
                }
                if changed:
                    self.update_cells(key, changed)
            else:
                self.add_row(*cells, key=key)
