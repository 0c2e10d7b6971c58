"""What a trigger with parameters will run: deployment, version, final parameters, diff."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static

from console.screens.dialog_css import dialog_css
from console.text.param_form import FormCheck, ParamField, preview
from engine.contract.documents import Deployment


class TriggerPreviewScreen(ModalScreen[bool]):
    """`enter` on Run (focused) or `y` -> True: send; escape or Back -> False: edit again."""

    DEFAULT_CSS = (
        dialog_css("TriggerPreviewScreen", "preview-dialog", 90, "$warning")
        + """
    TriggerPreviewScreen #preview-title {
        text-style: bold;
        dock: top;
    }
    TriggerPreviewScreen #preview-scroll {
        height: auto;
        max-height: 1fr;
    }
    TriggerPreviewScreen #preview-buttons {
        height: auto;
        align-horizontal: center;
        dock: bottom;
    }
    TriggerPreviewScreen Button {
        margin: 0 1;
    }
    """
    )

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Run", tooltip="Send the trigger"),
        Binding("escape", "answer(False)", "Back", tooltip="Back to the form (nothing sent)"),
    ]

    def __init__(self, deployment: Deployment, fields: list[ParamField], check: FormCheck) -> None:
        super().__init__()
        self.deployment = deployment
        self.preview = preview(deployment, fields, check)

    def compose(self) -> ComposeResult:
        with Vertical(id="preview-dialog"):
            yield Label("This will run:", id="preview-title")
            with VerticalScroll(id="preview-scroll"):
                yield Static("\n".join(self.preview.lines), id="preview-text", markup=False)
            with Horizontal(id="preview-buttons"):
                yield Button("Run (y)", variant="warning", id="preview-run")
                yield Button("Back (esc)", variant="primary", id="preview-back")

    def on_mount(self) -> None:
        # Reaching this dialog took a key and a review: enter here means run.
        self.query_one("#preview-run", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "preview-run")

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)
