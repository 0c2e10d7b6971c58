"""`T`: a form built from the deployment's parameter schema; enter reviews what will run."""

from __future__ import annotations

from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Input, Label, Select

from console.screens.dialog_css import dialog_css
from console.screens.trigger_preview import TriggerPreviewScreen
from console.text.param_form import (
    FormCheck,
    ParamField,
    check_form,
    fields_from_schema,
    hidden_fields,
    initial_text,
    parse_entry,
    placeholder,
)
from engine.contract.documents import Deployment


class TriggerFormScreen(ModalScreen[dict[str, Any] | None]):
    """One input per parameter, defaults filled in, required ones marked `*`.

    Dismisses with the overrides (only what differs from the defaults) once the preview is
    confirmed, or None when the operator leaves without sending.
    """

    DEFAULT_CSS = (
        dialog_css("TriggerFormScreen", "trigger-dialog", 90, "$primary")
        + """
    TriggerFormScreen #trigger-title {
        text-style: bold;
        width: 100%;
        dock: top;
    }
    TriggerFormScreen #trigger-fields {
        height: auto;
        max-height: 1fr;
    }
    TriggerFormScreen .param-label {
        margin-top: 0;
        color: $foreground;
    }
    TriggerFormScreen .param-error {
        color: $error;
        text-style: bold;
    }
    TriggerFormScreen .param-error.-ok {
        display: none;
    }
    TriggerFormScreen #trigger-hidden {
        width: 100%;
        color: $text-muted;
    }
    TriggerFormScreen #trigger-hint {
        color: $text-muted;
        width: 100%;
        dock: bottom;
    }
    """
    )

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "abandon", "Don't send", tooltip="Close without sending"),
        Binding("ctrl+s", "review", "Review", tooltip="Check the entries and show what will run"),
    ]

    def __init__(self, deployment: Deployment) -> None:
        super().__init__()
        self.deployment = deployment
        self.fields: list[ParamField] = fields_from_schema(
            deployment.parameter_schema,
            deployment.parameters,
            secret=frozenset(deployment.secret_parameters),
        )
        self.last_check: FormCheck | None = None
        """The outcome of the latest review (for tests and the caller)."""

    def compose(self) -> ComposeResult:
        name = self.deployment.name
        with Vertical(id="trigger-dialog"):
            yield Label(f"Trigger {name} with parameters", id="trigger-title")
            with VerticalScroll(id="trigger-fields"):
                for param in self.fields:
                    mark = (" *" if param.required else "") + (" secret" if param.secret else "")
                    yield Label(
                        f"[b]{param.name}[/b]{mark}  ({param.type_word})",
                        classes="param-label",
                    )
                    yield self._input(param)
                    yield Label("", id=f"error-{param.name}", classes="param-error -ok")
                hidden = hidden_fields(self.deployment.parameter_schema)
                if hidden:
                    yield Label(
                        f"Not offered: {', '.join(hidden)} (retry controls: r on a run)",
                        id="trigger-hidden",
                    )
            yield Label(
                "* required   enter: review what will run   tab: next   escape: don't send",
                id="trigger-hint",
            )

    def _input(self, param: ParamField) -> Widget:
        widget_id = f"param-{param.name}"
        if param.kind == "bool":
            # Words, not a tick box: a checkbox shows its state by colour alone.
            choices = [("false (no)", False), ("true (yes)", True)]
            return Select(choices, value=bool(param.default), allow_blank=False, id=widget_id)
        if param.kind == "enum":
            options = [(str(choice), choice) for choice in param.choices]
            value = param.default if param.default in param.choices else Select.NULL
            return Select(options, value=value, allow_blank=param.nullable, id=widget_id)
        return Input(
            value=initial_text(param),
            placeholder=placeholder(param),
            password=param.secret,  # typed as dots; never echoed
            id=widget_id,
        )

    def on_mount(self) -> None:
        if self.fields:
            self.query_one(f"#param-{self.fields[0].name}").focus()

    def raw_values(self) -> dict[str, Any]:
        """What each input holds: text, a bool, or a choice (None for no choice)."""
        raw: dict[str, Any] = {}
        for param in self.fields:
            widget = self.query_one(f"#param-{param.name}")
            if isinstance(widget, Select):
                raw[param.name] = None if widget.value is Select.NULL else widget.value
            elif isinstance(widget, Input):
                raw[param.name] = widget.value
        return raw

    def _show_error(self, name: str, error: str | None) -> None:
        label = self.query_one(f"#error-{name}", Label)
        label.update(f"  ✖ {name}: {error}" if error else "")
        label.set_class(not error, "-ok")

    def on_input_changed(self, event: Input.Changed) -> None:
        # Errors clear (or appear) as the entry is corrected, field by field.
        name = (event.input.id or "").removeprefix("param-")
        param = next((p for p in self.fields if p.name == name), None)
        if param is None:
            return
        try:
            parse_entry(param, event.value)
        except ValueError as exc:
            self._show_error(name, str(exc))
        else:
            self._show_error(name, None)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_review()

    def action_review(self) -> None:
        check = check_form(self.fields, self.raw_values())
        self.last_check = check
        for param in self.fields:
            self._show_error(param.name, check.errors.get(param.name))
        if not check.ok:
            first = next(p.name for p in self.fields if p.name in check.errors)
            self.query_one(f"#param-{first}").focus()
            return

        def then(run: bool | None) -> None:
            if run:
                self.dismiss(check.overrides)

        self.app.push_screen(TriggerPreviewScreen(self.deployment, self.fields, check), then)

    def action_abandon(self) -> None:
        self.dismiss(None)
