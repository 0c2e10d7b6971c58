"""`p` on an active deployment: pause it, optionally until a time (a maintenance window)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from console.context import Clock
from console.screens.dialog_css import dialog_css
from console.text.formatting import format_until
from console.text.pause_text import PAUSE_EFFECT, format_moment
from engine.contract.pause_window import UNTIL_HELP, WindowError, parse_until


class PauseConfirmScreen(ModalScreen[str | None]):
    """Dismisses with the resume time as ISO (UTC), "" for "until resumed", or None when
    the operator leaves without pausing.

    A relative window (`2m`) counts from the moment the operator confirms, not from when
    the dialog opened: the clock is read again at confirm, and the shown resume time
    follows the clock while the dialog is open. The absolute time is sent, so the engine
    resumes at the time the operator saw, however late it reads the command.
    """

    DEFAULT_CSS = (
        dialog_css("PauseConfirmScreen", "pause-dialog", 80, "$warning")
        + """
    PauseConfirmScreen #pause-title {
        text-style: bold;
    }
    PauseConfirmScreen #pause-effect {
        margin-bottom: 1;
    }
    PauseConfirmScreen #pause-when.-error {
        color: $error;
        text-style: bold;
    }
    PauseConfirmScreen #pause-buttons {
        height: auto;
        align-horizontal: center;
    }
    PauseConfirmScreen Button {
        margin: 0 1;
    }
    """
    )

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "abandon", "Don't pause", tooltip="Close without pausing"),
    ]

    def __init__(self, name: str, now: Clock, scheduled: list[str] | None = None) -> None:
        super().__init__()
        self.deployment_name = name
        self.clock = now
        self.scheduled = scheduled or []

    def compose(self) -> ComposeResult:
        with Vertical(id="pause-dialog"):
            yield Label(f"‖ Pause {self.deployment_name}", id="pause-title")
            effect = PAUSE_EFFECT
            if self.scheduled:
                shown = ", ".join(self.scheduled[:5])
                more = f" and {len(self.scheduled) - 5} more" if len(self.scheduled) > 5 else ""
                effect += f"\nScheduled now: {shown}{more}."
            yield Static(effect, id="pause-effect", markup=False)
            yield Static(
                f"Pause until: empty = until resumed with p; else {UNTIL_HELP}",
                id="pause-until-help",
                markup=False,
            )
            yield Input(placeholder="empty: until resumed", id="pause-until")
            yield Label(self._describe(""), id="pause-when")
            with Horizontal(id="pause-buttons"):
                yield Button("Pause (enter)", variant="warning", id="pause-yes")
                yield Button("Don't pause (esc)", variant="primary", id="pause-no")

    def on_mount(self) -> None:
        self.query_one(Input).focus()
        # `2m` means two minutes from now, and now moves while the operator reads.
        self.set_interval(1.0, self._show_when)

    def _describe(self, text: str) -> str:
        now = self.clock()
        moment = parse_until(text, now)
        if moment is None:
            return "→ paused until someone resumes it (p again)"
        return (
            f"→ the engine resumes it at {format_moment(moment, now)} "
            f"{moment.astimezone(now.tzinfo).strftime('%Z')} "
            f"({format_until(moment, now)}), even with no console open"
        )

    def _check(self, text: str) -> datetime | WindowError | None:
        try:
            return parse_until(text, self.clock())
        except WindowError as exc:
            return exc

    def on_input_changed(self, event: Input.Changed) -> None:
        self._show_when()

    def _show_when(self) -> None:
        text = self.query_one(Input).value
        when = self.query_one("#pause-when", Label)
        outcome = self._check(text)
        error = isinstance(outcome, WindowError)
        when.update(f"✖ {outcome}" if error else self._describe(text))
        when.set_class(error, "-error")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._confirm()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "pause-yes":
            self._confirm()
        else:
            self.dismiss(None)

    def _confirm(self) -> None:
        outcome = self._check(self.query_one(Input).value)
        if isinstance(outcome, WindowError):
            self.query_one(Input).focus()
            return  # the error is on screen already
        self.dismiss("" if outcome is None else outcome.astimezone(timezone.utc).isoformat())

    def action_abandon(self) -> None:
        self.dismiss(None)
