"""The `:` command input: an Input whose tab completes command names and their arguments,
with the candidates shown above it as you type."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.message import Message

from console.widgets.one_row_input import OneRowInput

Completer = Callable[[str], list[str]]
"""Text typed (without the colon) -> whole lines it can complete to, best first."""


class CommandInput(OneRowInput):
    """Tab: complete to the candidates' common prefix, then cycle through them."""

    BINDINGS: ClassVar[list[BindingType]] = [
        # Priority: otherwise the screen's focus_next takes tab before the input sees it.
        Binding("tab", "complete", "Complete", show=False, priority=True),
    ]

    class Hints(Message):
        """The candidates for the text now typed (shown above the input)."""

        def __init__(self, candidates: list[str]) -> None:
            super().__init__()
            self.candidates = candidates

    def __init__(self, completer: Completer, *, id: str | None = None) -> None:
        super().__init__(placeholder="command (tab completes; :help lists them)", id=id)
        self.completer = completer
        self._cycle: list[str] = []
        """Candidates being cycled by repeated tabs (empty: not cycling)."""
        self._cycle_at = -1

    def action_complete(self) -> None:
        if self._cycle:
            self._cycle_at = (self._cycle_at + 1) % len(self._cycle)
            self._set(self._cycle[self._cycle_at], keep_cycle=True)
            return
        options = self.completer(self.value)
        if not options:
            self.app.bell()
            return
        if len(options) == 1:
            done = options[0]
            # A completed command word gets its space, ready for the argument.
            self._set(done if " " in done else f"{done} ")
            return
        common = _common_prefix(options)
        if len(common) > len(self.value) and all(o.startswith(common) for o in options):
            self._set(common)
            return
        self._cycle, self._cycle_at = options, 0
        self._set(options[0], keep_cycle=True)

    def _set(self, value: str, keep_cycle: bool = False) -> None:
        cycle, at = self._cycle, self._cycle_at
        self.value = value  # watch_value runs now and ends any cycle
        self.cursor_position = len(value)
        if keep_cycle:
            self._cycle, self._cycle_at = cycle, at

    def watch_value(self, value: str) -> None:
        self._cycle, self._cycle_at = [], -1
        self.post_message(self.Hints(self.completer(value)))


def _common_prefix(options: list[str]) -> str:
    """The longest start that every option shares."""
    first, last = min(options), max(options)
    size = 0
    while size < min(len(first), len(last)) and first[size] == last[size]:
        size += 1
    return first[:size]
