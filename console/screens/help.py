"""Lists every key binding active on the screen it was opened from."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Label


@dataclass(frozen=True)
class HelpEntry:
    """One binding: the key as shown, what it does, and where it is defined."""

    key: str
    description: str
    where: str


class HelpScreen(ModalScreen[None]):
    """The bindings given (read from the live binding chain, not a hand-kept list)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close"),
        Binding("question_mark", "close", "Close", show=False),
        Binding("q", "close", "Close", show=False),
    ]

    def __init__(self, title: str, entries: list[HelpEntry]) -> None:
        super().__init__()
        self.title_text = title
        self.entries = entries

    def compose(self) -> ComposeResult:
        with Vertical(id="help-dialog"):
            yield Label(f"Keys: {self.title_text}", id="help-title")
            yield DataTable[str](cursor_type="row", zebra_stripes=True, id="help-table")
            yield Label("escape, ? or q closes", id="help-hint")

    def on_mount(self) -> None:
        table = self.query_one("#help-table", DataTable)
        table.add_columns("Key", "Action", "Where")
        for entry in self.entries:
            table.add_row(entry.key, entry.description, entry.where)
        table.focus()

    def action_close(self) -> None:
        self.dismiss(None)
