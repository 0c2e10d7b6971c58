"""The log screen's one-line prompt: a search pattern, a pattern to hide, or a file to save to."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import Input, Label

from console.widgets.one_row_input import OneRowInput


class LogPrompt(Horizontal):
    """Hidden until `open()`; posts Submitted with the text on enter, Cancelled on escape."""

    DEFAULT_CSS = """
    LogPrompt { height: 1; background: $boost; }
    LogPrompt Label { color: $accent; text-style: bold; padding: 0 0 0 1; }
    LogPrompt OneRowInput, LogPrompt OneRowInput:focus { width: 1fr; background: $boost; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", tooltip="Close the prompt, change nothing"),
    ]

    class Submitted(Message):
        def __init__(self, mode: str, text: str) -> None:
            super().__init__()
            self.mode = mode
            """`search`, `hide` or `save`: what the prompt was opened for."""
            self.text = text

    class Cancelled(Message):
        pass

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.display = False
        self.mode = ""

    def compose(self) -> ComposeResult:
        yield Label("", id="log-prompt-label")
        # Not selected on focus: open() puts the cursor after the text (the proposed path
        # or the last pattern) to be edited, not replaced by the first key.
        yield OneRowInput(id="log-prompt-input", select_on_focus=False)

    def open(self, mode: str, label: str, text: str, placeholder: str = "") -> None:
        self.mode = mode
        self.query_one(Label).update(f"{label} ")
        field = self.query_one(Input)
        field.value = text
        field.placeholder = placeholder
        self.display = True
        field.focus()
        field.cursor_position = len(text)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.display = False
        self.post_message(self.Submitted(self.mode, event.value))

    def action_cancel(self) -> None:
        self.display = False
        self.post_message(self.Cancelled())
