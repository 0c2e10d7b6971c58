"""The `:` command line: a one-line prompt at the bottom of whatever screen is open."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label

from console.cmdline.line import CommandInput

HINTS_SHOWN = 12
"""Candidates listed above the prompt; the rest are counted."""


class CommandLineScreen(ModalScreen[str | None]):
    """Dismisses with the line typed (enter), or None (escape); the app runs it."""

    # Layout in app.tcss: its `Screen { background }` would cover the screen below.

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close", tooltip="Leave the command line, run nothing"),
    ]

    def __init__(self, complete: Callable[[str], list[str]] | None = None) -> None:
        super().__init__()
        self._completions = complete
        """Whole lines a text can complete to (the registry's, over the app's data)."""

    def compose(self) -> ComposeResult:
        with Vertical(id="command-box"):
            yield Label("", id="command-hints")
            with Horizontal(id="command-row"):
                yield Label(":", id="command-prompt")
                yield CommandInput(self._complete, id="command-input")

    @property
    def field(self) -> CommandInput:
        return self.query_one(CommandInput)

    def on_mount(self) -> None:
        self.field.focus()
        self._show_hints(self._complete(""))

    def _complete(self, text: str) -> list[str]:
        return self._completions(text) if self._completions is not None else []

    def on_command_input_hints(self, event: CommandInput.Hints) -> None:
        self._show_hints(event.candidates)

    def _show_hints(self, candidates: list[str]) -> None:
        # Only the part being completed: the argument once the command word is typed.
        shown = [c.partition(" ")[2] or c for c in candidates[:HINTS_SHOWN]]
        more = len(candidates) - len(shown)
        text = "  ".join(shown) + (f"  (+{more} more)" if more > 0 else "")
        hints = self.query_one("#command-hints", Label)
        hints.update(f"tab: {text}" if text else "no completion (enter runs, escape closes)")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.dismiss(event.value)

    def action_close(self) -> None:
        self.dismiss(None)
