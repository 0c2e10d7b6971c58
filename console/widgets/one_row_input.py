"""An Input one row high (the prompts of the log screen, the `/` filter, the `:` line)."""

from __future__ import annotations

from typing import Any

from rich.cells import cell_len
from textual import events
from textual.geometry import Region
from textual.widgets import Input


class OneRowInput(Input):
    """Compact (no border, focused or not) and keeps its cursor in sight when resized.

    A border on a one-row Input leaves no row for the text, and Textual's `Input:focus`
    border outranks a container's `... Input { border: none }` rule: the text was typed but
    never seen (issue 7). Textual scrolls to the cursor when the cursor moves, with the
    width the Input had then; a prompt that opens with its text (the proposed save path)
    and a new label beside it was scrolled for the old width, and cut the path's end.
    """

    DEFAULT_CSS = """
    OneRowInput, OneRowInput:focus { height: 1; border: none; padding: 0; }
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("compact", True)
        super().__init__(*args, **kwargs)

    def on_resize(self, event: events.Resize) -> None:
        cursor = cell_len(self.value[: self.cursor_position]) + (1 if self.cursor_at_end else 0)
        self.scroll_to_region(
            Region(cursor, 0, width=1, height=1), force=True, animate=False, immediate=True
        )
