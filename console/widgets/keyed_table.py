"""A DataTable whose rows are keyed by document id and changed by diff, never refilled.

Subclasses say which rows they want (`wanted_rows`) and how one document looks (`row_for`);
this class adds, updates (cell by cell, only what changed), removes and orders rows, keeps
the cursor on the same row while rows move, and applies the `/` text filter.

Columns that do not fit the widget's width are dropped whole, least important first
(console/widgets/column_fit.py), so the table never scrolls sideways and never shows a cut
value. The DataTable holds the shown columns only; `row_cells` has every column.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, ClassVar

from rich.cells import cell_len
from rich.text import Text
from textual import events
from textual.widgets.data_table import CellDoesNotExist, ColumnKey, RowKey

from console.context import Context
from console.widgets.column_fit import ShownColumn, TableColumn, fit_columns
from console.widgets.row_table import RowTable

REBUILD_AFTER_REMOVALS = 8
"""A refresh that drops more rows than this clears the table and adds the rest again:
Textual's `DataTable.remove_row` recomputes its row order on every call, so a filter that
dropped hundreds of rows one by one took most of a second (docs/benchmarks.md, keys)."""


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

    COLUMNS: ClassVar[tuple[TableColumn, ...]] = ()
    """In display order, each with its priority for narrow terminals."""
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
        self._rows: dict[str, Row] = {}
        """Every row in the table, with all its cells (the DataTable has the shown ones)."""
        self._widths: dict[str, tuple[int, ...]] = {}
        """Each row's cell widths, kept with the row so fitting does not measure them all."""
        self._shown = tuple(ShownColumn(index) for index in range(len(self.COLUMNS)))

    def on_mount(self) -> None:
        self._add_columns()
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self.refresh_rows())
        self.refresh_rows()

    def on_resize(self, _event: events.Resize) -> None:
        self._fit()

    def column_label(self, key: str) -> str:
        return next(column.label for column in self.COLUMNS if column.key == key)

    def column_keys(self) -> list[str]:
        """Every declared column's key, shown or not."""
        return [column.key for column in self.COLUMNS]

    def shown_column_keys(self) -> list[str]:
        """The keys of the columns that fit now, in display order."""
        return [self.COLUMNS[shown.index].key for shown in self._shown]

    def row_cells(self, key: str) -> tuple[Text, ...]:
        """Every declared column's cell of row `key` (shown or dropped for width), in
        COLUMNS order; `get_row` has the shown columns only."""
        return self._rows[key].cells

    # What subclasses provide.

    def wanted_rows(self) -> Iterable[Row]:
        """Every row the table should show now, before the text filter."""
        return ()

    def idle_columns(self) -> frozenset[str]:
        """Keys of columns with nothing to tell now (left out before fitting the rest)."""
        return frozenset()

    # Diffing.

    def refresh_rows(self) -> None:
        """Brings every row in line with `wanted_rows()` (cells that did not change stay)."""
        if not self.is_mounted:
            return
        rows = [row for row in self.wanted_rows() if row.matches(self.filter_text.casefold())]
        with self._keeping_selection():
            keep = {row.key for row in rows}
            gone = [k for k in self.row_keys() if k not in keep]
            if len(gone) > REBUILD_AFTER_REMOVALS:
                self._rebuild(rows, gone)
            else:
                for key in gone:
                    self._remove(key)
                for row in rows:
                    self._put(row)
                self._reorder()
            self._fit()

    def tick_rows(self) -> None:
        """Once a second: the rows whose cells depend on the clock. All of them here;
        tables that know which of their rows move with time redraw only those."""
        self.refresh_rows()

    def show_row(self, row: Row, wanted: bool = True) -> None:
        """Adds or updates one row, or removes it if it is no longer wanted."""
        self.put_rows([(row, wanted)])

    def put_rows(self, rows: list[tuple[Row, bool]]) -> None:
        """`show_row` for each (row, wanted), sorting and fitting the table once."""
        if not self.is_mounted or not rows:
            return
        needle = self.filter_text.casefold()
        with self._keeping_selection():
            for row, wanted in rows:
                if wanted and row.matches(needle):
                    self._put(row)
                else:
                    self._remove(row.key)
            self._reorder()
            self._fit()

    def remove_key(self, key: str) -> None:
        with self._keeping_selection():
            self._remove(key)
            self._fit()

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

    def _note(self, row: Row) -> None:
        self._order[row.key] = row.order
        self._rows[row.key] = row
        self._widths[row.key] = tuple(cell.cell_len for cell in row.cells)

    def _forget(self, key: str) -> None:
        self._order.pop(key, None)
        self._rows.pop(key, None)
        self._widths.pop(key, None)

    def _rebuild(self, rows: list[Row], gone: list[str]) -> None:
        """The table cleared and filled again, in order: for a change that drops many rows
        (a filter), where removing them one by one cost O(rows) each."""
        for key in gone:
            self._forget(key)
        for row in rows:
            self._note(row)
        self.clear()
        for key in sorted(self._rows, key=self._order.__getitem__, reverse=self.sort_reverse):
            self.add_row(*self._shown_cells(self._rows[key]), key=key)

    def _put(self, row: Row) -> None:
        self._note(row)
        shown = self._shown_cells(row)
        if RowKey(row.key) not in self.rows:
            self.add_row(*shown, key=row.key)
            return
        current = self.get_row(row.key)
        changed: dict[ColumnKey | str, Text] = {
            column: new
            for column, old, new in zip(self.shown_column_keys(), current, shown, strict=True)
            if old != new
        }
        if changed:
            # Widths are `_size_columns`'s: measuring each changed cell again when the
            # table is next idle took seconds per second at 200 changes/s.
            self.update_cells(row.key, changed)

    def _remove(self, key: str) -> None:
        self._forget(key)
        if RowKey(key) in self.rows:
            self.remove_row(key)

    def _shown_cells(self, row: Row) -> list[Text]:
        cells = []
        for shown in self._shown:
            cell = row.cells[shown.index]
            if shown.cut_to is not None and cell.cell_len > shown.cut_to:
                cell = cell.copy()
                cell.truncate(shown.cut_to, overflow="ellipsis")
            cells.append(cell)
        return cells

    def _add_columns(self) -> None:
        for shown in self._shown:
            column = self.COLUMNS[shown.index]
            self.add_column(column.label, key=column.key)

    def _fit(self) -> None:
        """Shows the columns that fit the width now; rebuilds the table if that changed."""
        width, height = self.size
        if not self.is_mounted or width == 0:
            return  # not laid out yet: the first Resize fits it
        labels = [cell_len(column.label) for column in self.COLUMNS]
        natural = [max(column) for column in zip(labels, *self._widths.values(), strict=True)]
        room = width
        if len(self._rows) + (1 if self.show_header else 0) > height:
            room -= self.styles.scrollbar_size_vertical
        idle = self.idle_columns()
        kept = [i for i, column in enumerate(self.COLUMNS) if column.key not in idle]
        fitted = fit_columns(
            tuple(self.COLUMNS[i] for i in kept),
            [natural[i] for i in kept],
            room,
            self.cell_padding,
        )
        shown = tuple(ShownColumn(kept[s.index], s.cut_to) for s in fitted)
        if shown != self._shown:
            self._shown = shown
            # A column set change is rare (a resize, a much longer cell): rebuilding is
            # simpler and safer than moving columns inside the DataTable, which only appends.
            with self._keeping_selection():
                keys = self.row_keys()
                self.clear(columns=True)
                self._add_columns()
                for key in keys:
                    self.add_row(*self._shown_cells(self._rows[key]), key=key)
        self._size_columns(natural)

    def _size_columns(self, natural: list[int]) -> None:
        """Gives each shown column the width its cells need, now.

        DataTable measures new cells only when it is next idle; on a loaded machine a table
        rebuilt by `_fit` could be drawn (and stay) with each column as wide as its header
        (`wit`, `bra`). The widths are known here, so they are set, not waited for.
        """
        changed = False
        for shown in self._shown:
            column = self.columns.get(ColumnKey(self.COLUMNS[shown.index].key))
            if column is None:
                continue
            need = natural[shown.index]
            if shown.cut_to is not None:
                need = min(need, shown.cut_to)
            if column.auto_width and column.content_width != need:
                column.content_width = need
                changed = True
        if changed:
            self._require_update_dimensions = True  # virtual size follows the new widths
            self.refresh()

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
            # Against the cursor now, not `index`: a rebuild (`clear`) put it on row 0.
            if new_index != self.cursor_row:
                self.move_cursor(row=new_index)
        elif self.row_count and index >= self.row_count:
            self.move_cursor(row=self.row_count - 1)
