"""The `/` filter: an Input whose text narrows the rows of the table that had focus."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import Input, Label

from console.widgets.one_row_input import OneRowInput


class FilterBar(Horizontal):
    """Hidden until `open()`; posts Changed on each keystroke, Closed when done."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "clear", "Clear filter", tooltip="Clear the filter and close it"),
        Binding("enter", "keep", "Keep filter", tooltip="Back to the table, filter kept"),
    ]

    class Changed(Message):
        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    class Closed(Message):
        """The operator left the filter; `cleared` if escape dropped it."""

        def __init__(self, cleared: bool) -> None:
            super().__init__()
            self.cleared = cleared

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.display = False

    def compose(self) -> ComposeResult:
        yield Label("Filter ", id="filter-label")
        yield OneRowInput(placeholder="text in any column", id="filter-input")

    def open(self, what: str, text: str) -> None:
        self.query_one("#filter-label", Label).update(f"/ {what} ")
        field = self.query_one(Input)
        field.value = text
        self.display = True
        field.focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.post_message(self.Changed(event.value))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_keep()

    def action_keep(self) -> None:
        self.display = False
        self.post_message(self.Closed(cleared=False))

    def action_clear(self) -> None:
        self.query_one(Input).value = ""
        self.display = False
        self.post_message(self.Changed(""))
        self.post_message(self.Closed(cleared=True))
