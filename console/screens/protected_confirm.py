"""Confirms an action on a protected deployment: the operator types the deployment's name."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label


class ProtectedConfirmScreen(ModalScreen[bool]):
    """Dismisses with True only if the text submitted is exactly `name`.

    A wrong name or escape dismisses with False; the caller says that nothing was sent.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "abandon", "Don't send", tooltip="Close without sending"),
    ]

    def __init__(self, name: str, question: str) -> None:
        super().__init__()
        self.deployment_name = name
        self.question = question
        self.typed = ""
        """What was submitted (kept for the caller's message)."""

    def compose(self) -> ComposeResult:
        with Vertical(id="protected-dialog"):
            yield Label("⚠ Protected deployment", id="protected-title")
            yield Label(self.question, id="protected-question")
            yield Label(
                f"Type [b]{self.deployment_name}[/b] and press enter to confirm "
                "(escape: don't send).",
                id="protected-hint",
            )
            yield Input(placeholder=self.deployment_name, id="protected-input")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.typed = event.value
        self.dismiss(event.value == self.deployment_name)

    def action_abandon(self) -> None:
        self.dismiss(False)
