"""Retry preview: which tasks a retry reuses and which rerun; retry, full rerun or cancel."""

from __future__ import annotations

from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label

Doc = dict[str, Any]

REUSED_STATES = frozenset({"Completed", "Cached"})
"""State names of tasks whose persisted, content-keyed results a plain retry reuses."""


def split_tasks(lineage: Doc | None, task_runs: list[Doc]) -> tuple[list[str], list[str]]:
    """(reused, rerun) task names of the latest attempt.

    The lineage doc lists that attempt's task calls in order; without it (no attempt has
    ended yet, or Redis dropped it) the task runs stand in: Completed ones are reused.
    """
    if lineage is not None and lineage.get("tasks"):
        tasks = lineage["tasks"]
        reused = [str(t.get("name")) for t in tasks if t.get("state_name") in REUSED_STATES]
        rerun = [str(t.get("name")) for t in tasks if t.get("state_name") not in REUSED_STATES]
        return reused, rerun
    ordered = sorted(task_runs, key=lambda t: str(t.get("start_time") or ""))
    reused = [str(t.get("name")) for t in ordered if t.get("state_type") == "COMPLETED"]
    rerun = [str(t.get("name")) for t in ordered if t.get("state_type") != "COMPLETED"]
    return reused, rerun


FROM_PREFIX = "from:"
"""Prefix of the dialog's answer for a retry from a task: `from:run_inference`."""
FROM_KEYS = 9
"""Tasks offered as retry starting points, on keys 1..9."""


def task_order(lineage: Doc | None, task_runs: list[Doc]) -> list[str]:
    """Task names of the run in call order, without the suffix Prefect gives task run
    names (`load_raw_data-c85` -> `load_raw_data`).

    The lineage doc's order first (the flow's own); task runs it does not list (an
    attempt still running, or no lineage) follow by start time.
    """
    names = [str(t.get("name")) for t in (lineage or {}).get("tasks") or [] if t.get("name")]
    ordered = sorted(task_runs, key=lambda t: str(t.get("start_time") or ""))
    for run in ordered:
        base, _, suffix = str(run.get("name") or "").rpartition("-")
        name = base if base and suffix.isalnum() else str(run.get("name") or "")
        if name and name not in names:
            names.append(name)
    return names


class RetryConfirmScreen(ModalScreen[str | None]):
    """Dismisses with `reuse` (plain retry), `full` (refresh_cache), `from:<task>` (rerun
    that task and the ones after it) or None (cancel)."""

    DEFAULT_CSS = """
    RetryConfirmScreen #retry-from {
        width: 100%;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "choose('reuse')", "Retry", tooltip="Retry, reusing cached task results"),
        Binding("f", "choose('full')", "Full rerun", tooltip="Rerun every task, ignore caches"),
        Binding("escape", "choose(None)", "Cancel", tooltip="Close without sending"),
        Binding("n", "choose(None)", "Cancel", show=False),
        *(
            Binding(str(n), f"from_task({n})", f"From task {n}", show=False)
            for n in range(1, FROM_KEYS + 1)
        ),
    ]

    def __init__(
        self,
        run_name: str,
        state: str,
        reused: list[str],
        rerun: list[str],
        tasks: list[str] | None = None,
    ) -> None:
        super().__init__()
        self.run_name = run_name
        self.state = state
        self.reused = reused
        self.rerun = rerun
        self.tasks = (tasks or [])[:FROM_KEYS]
        """Tasks a retry can start from, in call order (key 1 is the first)."""

    def compose(self) -> ComposeResult:
        with Vertical(id="retry-dialog"):
            yield Label(f"Retry run [b]{self.run_name}[/b] (now {self.state})?", id="retry-title")
            yield Label(
                "♻ Reused (results kept): " + (", ".join(self.reused) or "none"),
                id="retry-reused",
            )
            yield Label(
                "▶ Rerun: "
                + (", ".join(self.rerun) or "none")
                + "; and any task the last attempt did not reach",
                id="retry-rerun",
            )
            choices = "  ".join(f"{n} {name}" for n, name in enumerate(self.tasks, start=1))
            yield Label(
                "⏭ Rerun from a task, reusing the ones before it (press its number):\n  "
                + (choices or "no task known yet"),
                id="retry-from",
            )
            yield Label("Full rerun ignores every cache and reruns all tasks.", id="retry-hint")
            with Horizontal(id="retry-buttons"):
                yield Button("Retry (r)", variant="warning", id="retry-reuse")
                yield Button("Full rerun (f)", variant="error", id="retry-full")
                yield Button("Cancel (esc)", variant="primary", id="retry-cancel")

    def on_mount(self) -> None:
        # The safe answer has focus, so a stray enter sends nothing.
        self.query_one("#retry-cancel", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        choices = {"retry-reuse": "reuse", "retry-full": "full"}
        self.dismiss(choices.get(event.button.id or ""))

    def action_choose(self, choice: str | None) -> None:
        self.dismiss(choice)

    def action_from_task(self, number: int) -> None:
        if 1 <= number <= len(self.tasks):
            self.dismiss(f"{FROM_PREFIX}{self.tasks[number - 1]}")
        else:
            self.notify(f"No task {number}: choose 1 to {len(self.tasks)}.", severity="warning")
