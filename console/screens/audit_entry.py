"""Enter on an audit row: every field of that entry, the run by name and id."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping
from datetime import tzinfo
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from console.screens.dialog_css import dialog_css
from console.text.audit_text import run_id_of, run_name_of, sent_by
from console.text.formatting import iso_time
from engine.contract.commands import RUN_ACTIONS
from engine.contract.documents import AuditRecord, FlowRun


def entry_lines(
    fields: AuditRecord, runs: Mapping[str, FlowRun], zone: tzinfo | None
) -> list[tuple[str, str]]:
    """(label, value) pairs of one audit entry, in reading order."""
    run_id = run_id_of(fields)
    name = run_name_of(fields, runs)
    run = "—"
    if run_id:
        run = f"{name} (id {run_id})" if name else f"(name not known) id {run_id}"
    params = fields.params or "{}"
    with contextlib.suppress(json.JSONDecodeError):  # unreadable: shown as written
        params = json.dumps(json.loads(params), sort_keys=True) if params != "{}" else "none"
    about = [("Run", run)]
    if fields.action not in RUN_ACTIONS:  # the target is a deployment
        about.insert(0, ("Deployment", fields.target))
    return [
        ("Status", fields.status),
        ("Action", fields.action),
        *about,
        ("Parameters", params),
        ("By", sent_by(fields)),
        ("Sent", iso_time(fields.sent_at, zone)),
        ("Executed", iso_time(fields.executed_at, zone)),
        ("Message", fields.message),
        ("Command id", fields.command_id),
    ]


class AuditEntryScreen(ModalScreen[None]):
    """One audit entry in full; escape, enter or q closes."""

    DEFAULT_CSS = (
        dialog_css("AuditEntryScreen", "audit-entry-dialog", 100, "$primary")
        + """
    AuditEntryScreen #audit-entry-title {
        text-style: bold;
    }
    """
    )

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close"),
        Binding("enter", "close", "Close", show=False),
        Binding("q", "close", "Close", show=False),
    ]

    def __init__(self, lines: list[tuple[str, str]]) -> None:
        super().__init__()
        self.lines = lines

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="audit-entry-dialog"):
            yield Label("Audit entry", id="audit-entry-title")
            width = max(len(label) for label, _ in self.lines)
            text = "\n".join(f"{label:<{width}}  {value}" for label, value in self.lines)
            yield Static(text, id="audit-entry-fields", markup=False)
            yield Label("escape, enter or q closes", id="audit-entry-hint")

    def action_close(self) -> None:
        self.dismiss(None)
