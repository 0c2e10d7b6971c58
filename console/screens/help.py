"""Lists every key binding active on the screen it was opened from."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from rich.cells import cell_len
from rich.text import Text
from textual import events
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import DataTable, Label

TEXTUAL_ACTIONS_LISTED = frozenset({"app.focus_next", "app.focus_previous", "command_palette"})
"""Textual's own bindings that are part of using the console: tab moves between the tables
and ctrl+p opens the palette, which has the console's commands. Textual's others (copy with
super+c, the DataTable's ^pgup/^home scrolling, ^q beside q) are left out of `?`."""

ACTION_MIN_WIDTH = 24
"""Narrowest the Action column may wrap to before the Where column is left out."""


@dataclass(frozen=True)
class HelpEntry:
    """One binding: the key as shown, what it does, and where it is defined."""

    key: str
    description: str
    where: str


def is_product_binding(node: object, binding: Binding) -> bool:
    """True if the console declares `binding` (on `node`'s class or a console base class),
    or it is one of TEXTUAL_ACTIONS_LISTED; False for Textual's internal keys."""
    if binding.action in TEXTUAL_ACTIONS_LISTED:
        return True
    wanted = _keyless(binding)
    for cls in type(node).__mro__:
        if not cls.__module__.startswith("console."):
            continue
        for declared in vars(cls).get("BINDINGS", []):
            if isinstance(declared, Binding) and _keyless(declared) == wanted:
                return True
    return False


def binding_entries(screen: Screen[Any], key_display: Callable[[Binding], str]) -> list[HelpEntry]:
    """The console's keys active on `screen`: its own first, then everywhere, then the
    focused widget's."""
    entries: list[HelpEntry] = []
    seen: set[str] = set()
    for key, active in screen.active_bindings.items():
        binding = active.binding
        if not binding.description or key in seen:
            continue
        if not is_product_binding(active.node, binding):
            continue
        seen.add(key)
        entries.append(HelpEntry(key_display(binding), binding.description, _where(active.node)))
    order = {"this screen": 0, "everywhere": 1}
    entries.sort(key=lambda entry: order.get(entry.where, 2))
    return entries


def _where(node: object) -> str:
    if isinstance(node, App):
        return "everywhere"
    if isinstance(node, Screen):
        return "this screen"
    return type(node).__name__


def _keyless(binding: Binding) -> Binding:
    # A keymap (console.yaml) changes only key and key_display of a declared binding.
    return dataclasses.replace(binding, key="", key_display=None)


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
        self._filled_width = -1

    def compose(self) -> ComposeResult:
        with Vertical(id="help-dialog"):
            yield Label(f"Keys: {self.title_text}", id="help-title")
            yield DataTable[Text](cursor_type="row", zebra_stripes=True, id="help-table")
            yield Label("↑↓ pgup pgdn scroll · esc ? q close", id="help-hint")

    def on_mount(self) -> None:
        table = self.query_one("#help-table", DataTable)
        self._fill(table.size.width)
        table.focus()
        self.call_after_refresh(lambda: self._fill(table.size.width))

    def on_resize(self, _event: events.Resize) -> None:
        self.call_after_refresh(lambda: self._fill(self.query_one("#help-table").size.width))

    def _fill(self, width: int) -> None:
        """Key as wide as its text, Action and Where wrapped in the rest of `width`, so
        nothing is cut and the table never scrolls sideways (Where goes first if narrow)."""
        if width == self._filled_width:
            return
        self._filled_width = width
        table: DataTable[Text] = self.query_one("#help-table", DataTable)
        pad = 2 * table.cell_padding
        key_width = max([cell_len("Key"), *(cell_len(entry.key) for entry in self.entries)])
        where_width = max([cell_len("Where"), *(cell_len(e.where) for e in self.entries)])
        natural = max([cell_len("Action"), *(cell_len(e.description) for e in self.entries)])
        if width <= 0:  # not laid out yet: the call after the first refresh fits it
            with_where, action_width = True, natural
        else:
            room = width - table.styles.scrollbar_size_vertical - key_width - pad
            # Where wraps too, in at most a third of the room: Action matters more.
            where_width = min(where_width, max(cell_len("Where"), room // 3))
            with_where = room - pad - where_width - pad >= ACTION_MIN_WIDTH
            action_width = room - pad - (where_width + pad if with_where else 0)
            action_width = max(min(natural, action_width), cell_len("Action"))
        cursor = table.cursor_row
        table.clear(columns=True)
        # Every width given: an auto-width Key column is measured only when the table next
        # idles, and a frame drawn before that showed it as wide as its header.
        table.add_column("Key", width=key_width, key="key")
        table.add_column("Action", width=action_width, key="action")
        if with_where:
            table.add_column("Where", width=where_width, key="where")
        for entry in self.entries:
            cells = [Text(entry.key), Text(entry.description)]
            if with_where:
                cells.append(Text(entry.where))
            table.add_row(*cells, height=None)
        table.move_cursor(row=cursor)

    def action_close(self) -> None:
        self.dismiss(None)
