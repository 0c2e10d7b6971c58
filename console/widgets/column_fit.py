"""Which table columns fit a width: the least important are dropped whole, never clipped.

A DataTable wider than its widget scrolls sideways, and the column at the edge shows a
cut value: `895m` for 895 ms, `2m 1` for 2m 19s. So a table declares, per column, how
important it is and whether its text may be shortened (free text only, with a visible
`…`); `fit_columns` then picks the columns to show for the width there is.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TableColumn:
    """One column of a keyed table.

    Attributes:
        key: the column key (also what sorts and diffs use).
        label: the header.
        priority: 1 is the most important; the highest number is dropped first.
        min_width: None: the text is shown whole or the column is dropped (ids, states,
            times, durations). A number: free text that may be cut to that many cells,
            ending in `…`, before any column is dropped for it.
    """

    key: str
    label: str
    priority: int
    min_width: int | None = None

    def __post_init__(self) -> None:
        if self.min_width is not None and self.min_width < max(len(self.label), 2):
            raise ValueError(f"column {self.key!r}: min_width must fit its label {self.label!r}")


@dataclass(frozen=True)
class ShownColumn:
    """A column that fits: its index in the declared columns, and the cells its text is cut
    to (None: shown whole)."""

    index: int
    cut_to: int | None = None


def fit_columns(
    columns: tuple[TableColumn, ...], widths: list[int], room: int, padding: int
) -> tuple[ShownColumn, ...]:
    """The columns to show, in declared order, so that they fit in `room` cells.

    Args:
        columns: the declared columns.
        widths: each column's natural width (its widest cell or its label), without padding.
        room: cells available across the table.
        padding: cells added on each side of every column.

    Columns are dropped, least important first, until the rest fit with shortenable
    columns at their minimum; room left over goes back to shortened columns, most
    important first. The most important column is always shown, even if it does not fit.
    """
    full = [width + 2 * padding for width in widths]
    least = [
        min(full[i], column.min_width + 2 * padding) if column.min_width is not None else full[i]
        for i, column in enumerate(columns)
    ]
    kept = sorted(range(len(columns)), key=lambda i: (columns[i].priority, i))
    while len(kept) > 1 and sum(least[i] for i in kept) > room:
        kept.pop()
    spare = room - sum(least[i] for i in kept)
    given = {i: least[i] for i in kept}
    for i in kept:
        grow = min(full[i] - given[i], max(0, spare))
        given[i] += grow
        spare -= grow
    return tuple(
        ShownColumn(i, None if given[i] >= full[i] else given[i] - 2 * padding)
        for i in sorted(kept)
    )
