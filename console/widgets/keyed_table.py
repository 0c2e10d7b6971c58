"""A DataTable whose rows are keyed by document id and changed by diff, never refilled.

Subclasses say which rows they want (`wanted_rows`) and how one document looks (`row_for`);
this class adds, updates (cell by cell, only what changed), removes and orders rows, keeps
the cursor on the same row while rows move, and applies the `/` text filter.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, ClassVar

from rich.text import Text
from textual.widgets.data_table import CellDoesNotExist, RowKey

from console.context import Context
from console.widgets.row_table import RowTable


@dataclass(frozen=True)
class Row:
    """One table row: its key (document id), its cells, and where it sorts."""

    key: str
    cells: tuple[Text, ...]
    order: Any

    def matches(self, needle: str) -> bool:
        return not needle or any(needle in cell.plain.casefold() for cell in self.cells)


class KeyedTable(RowTable):
    """Rows keyed by id; see the module docstring."""

    COLUMNS: ClassVar[tuple[tuple[str, str], ...]] = ()
    """(column key, header label), in display order."""
    NEWEST_FIRST: ClassVar[bool] = False
    """Sort rows by descending `Row.order` instead of ascending."""

    def __init__(self, ctx: Context, *, id: str | None = None) -> None:
        super().__init__(cursor_type="row", id=id)
        self.ctx = ctx
        self.filter_text = ""
        """The `/` filter: rows must contain it (case-insensitive) in some cell."""
        self.sort_reverse = self.NEWEST_FIRST
        """Rows sort by descending `Row.order` (starts as NEWEST_FIRST)."""
        self._order: dict[str, Any] = {}

    def on_mount(self) -> None:
        for key, label in self.COLUMNS:
            self.add_column(label, key=key)
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self.refresh_rows())
        self.refresh_rows()

    # What subclasses provide.

    def wanted_rows(self) -> Iterable[Row]:
        """Every row the table should show now, before the text filter."""
        return ()

    # Diffing.

    def refresh_rows(self) -> None:
        """Brings every row in line with `wanted_rows()` (cells that did not change stay)."""
        if not self.is_mounted:
            return
        rows = [row for row in self.wanted_rows() if row.matches(self.filter_text.casefold())]
        with self._keeping_selection():
            keep = {row.key for row in rows}
            for key in [k for k in self.row_keys() if k not in keep]:
                self._remove(key)
            for row in rows:
                self._put(row)
            self._reorder()

    def show_row(self, row: Row, wanted: bool = True) -> None:
        """Adds or updates one row, or removes it if it is no longer wanted."""
        if not self.is_mounted:
            return
        with self._keeping_selection():
            if wanted and row.matches(self.filter_text.casefold()):
                self._put(row)
                self._reorder()
            else:
                self._remove(row.key)

    def remove_key(self, key: str) -> None:
        with self._keeping_selection():
            self._remove(key)

    def set_filter(self, text: str) -> None:
        self.filter_text = text
        self.refresh_rows()

    def selected_key(self) -> str | None:
        if self.row_count == 0:
            return None
        try:
            key, _ = self.coordinate_to_cell_key(self.cursor_coordinate)
        except CellDoesNotExist:
            return None
        return key.value

    def row_keys(self) -> list[str]:
        """Keys in display order (for tests and for callers that walk the rows)."""
        return [row.key.value for row in self.ordered_rows if row.key.value is not None]

    # Internals.

    def _put(self, row: Row) -> None:
        self._order[row.key] = row.order
        if RowKey(row.key) not in self.rows:
            self.add_row(*row.cells, key=row.key)
            return
        current = self.get_row(row.key)
        for (column, _label), old, new in zip(self.COLUMNS, current, row.cells, strict=True):
            if old != new:
                self.update_cell(row.key, column, new, update_width=True)

    def _remove(self, key: str) -> None:
        self._order.pop(key, None)
        if RowKey(key) in self.rows:
            self.remove_row(key)

    def _reorder(self) -> None:
        current = self.row_keys()
        wanted = sorted(current, key=self._order.__getitem__, reverse=self.sort_reverse)
        if current == wanted:
            return
        # DataTable.sort's key sees cell values only: find each row by its first cell object.
        rank = {id(self.get_row(key)[0]): place for place, key in enumerate(wanted)}
        self.sort(key=lambda values: rank[id(values[0])])

    @contextmanager
    def _keeping_selection(self) -> Iterator[None]:
        """Keeps the cursor on the same document while rows are added, moved or removed."""
        selected = self.selected_key()
        index = self.cursor_row
        yield
        if selected is not None and RowKey(selected) in self.rows:
            new_index = self.get_row_index(selected)
            if new_index != index:
                self.move_cursor(row=new_index)
        elif self.row_count and index >= self.row_count:
            self.move_cursor(row=self.row_count - 1)
