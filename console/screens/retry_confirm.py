"""Retry preview: which tasks a retry reuses and which rerun; retry, full rerun or cancel.

The lists come from engine/contract/retry_plan.py, the rule the flow itself applies, fed with what
the mirror knows about the run's attempts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label

from engine.contract.documents import FlowRun, Lineage, TaskRun
from engine.contract.retry_plan import FINISHED_STATE_NAMES, FLOW_TASKS, RetryPlan, plan_retry


def finished_tasks(lineage: Lineage | None, task_runs: list[TaskRun]) -> set[str]:
    """Names of the tasks some attempt of the run finished (Completed or Cached).

    Any attempt counts, not only the latest: a stored result serves every later attempt
    whose cache key is the same. The task runs of all attempts are mirrored; the lineage
    doc (the latest attempt that got to record one) covers task runs not mirrored yet.
    """
    names = {
        t.name for t in (lineage.tasks if lineage else []) if t.state_name in FINISHED_STATE_NAMES
    }
    names.update(
        _task_name(str(run.name or "")) for run in task_runs if run.state_type == "COMPLETED"
    )
    return names


def preview(
    flow_name: str,
    lineage: Lineage | None,
    task_runs: list[TaskRun],
    *,
    refresh_cache: bool = False,
    from_task: str = "",
) -> RetryPlan | None:
    """What a retry with these parameters will reuse and rerun, by the flow's own rule
    (engine/contract/retry_plan.py); None for a flow the rule does not describe.

    Raises:
        UnknownTaskError: `from_task` is not a task of the flow.
    """
    tasks = FLOW_TASKS.get(flow_name)
    if tasks is None:
        return None
    return plan_retry(
        tasks,
        finished_tasks(lineage, task_runs),
        refresh_cache=refresh_cache,
        from_task=from_task,
    )


def _task_name(run_name: str) -> str:
    """`load_raw_data-c85` -> `load_raw_data`: Prefect suffixes task run names."""
    base, _, suffix = run_name.rpartition("-")
    return base if base and suffix.isalnum() else run_name


FROM_PREFIX = "from:"
"""Prefix of the dialog's answer for a retry from a task: `from:run_inference`."""
FROM_KEYS = 9
"""Tasks offered as retry starting points, on keys 1..9."""


def task_order(lineage: Lineage | None, task_runs: list[TaskRun]) -> list[str]:
    """Task names of the run in call order, without the suffix Prefect gives task run
    names (`load_raw_data-c85` -> `load_raw_data`).

    The lineage doc's order first (the flow's own); task runs it does not list (an
    attempt still running, or no lineage) follow by start time.
    """
    names = [t.name for t in (lineage.tasks if lineage else []) if t.name]
    ordered = sorted(task_runs, key=lambda t: str(t.start_time or ""))
    for run in ordered:
        name = _task_name(str(run.name or ""))
        if name and name not in names:
            names.append(name)
    return names


@dataclass(frozen=True)
class RetryPreviews:
    """Everything the dialog promises, computed when it opens."""

    flow_name: str
    retry: RetryPlan | None
    """A plain retry; None when engine/contract/retry_plan.py does not describe the flow."""
    tasks: tuple[str, ...]
    """Tasks a retry can start from, in call order."""
    from_task: dict[str, RetryPlan] = field(default_factory=dict)
    """The plan of a retry from each of `tasks` (empty for an undescribed flow)."""
    served_here: bool = True
    """False for a run of a deployment this engine does not serve: only a plain retry (the
    engine refuses a full rerun or a start from a task for a flow it does not have)."""


def retry_previews(
    run: FlowRun, lineage: Lineage | None, task_runs: list[TaskRun], served_here: bool = True
) -> RetryPreviews:
    """The previews of a retry of `run` from its mirrored lineage and task runs."""
    flow_name = str(run.flow_name or "")
    if not served_here:
        return RetryPreviews(flow_name, None, (), served_here=False)
    described = FLOW_TASKS.get(flow_name)
    if described is None:
        return RetryPreviews(flow_name, None, tuple(task_order(lineage, task_runs)))
    return RetryPreviews(
        flow_name,
        preview(flow_name, lineage, task_runs),
        described.order,
        {
            name: plan_retry(described, finished_tasks(lineage, task_runs), from_task=name)
            for name in described.order
        },
    )


class RetryConfirmScreen(ModalScreen[str | None]):
    """Dismisses with `reuse` (plain retry), `full` (refresh_cache), `from:<task>` (rerun
    that task and the ones after it) or None (cancel)."""

    DEFAULT_CSS = """
    RetryConfirmScreen #retry-from, RetryConfirmScreen #retry-caveat {
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

    def __init__(self, run_name: str, state: str, previews: RetryPreviews) -> None:
        super().__init__()
        self.run_name = run_name
        self.state = state
        self.previews = previews
        plan = previews.retry
        self.reused = list(plan.reused) if plan else []
        """Tasks a plain retry reuses (from engine/contract/retry_plan.py's rule)."""
        self.rerun = list(plan.rerun) if plan else []
        """Tasks a plain retry runs, including those no attempt reached."""
        self.tasks = list(previews.tasks[:FROM_KEYS])
        """Tasks a retry can start from, in call order (key 1 is the first)."""

    def compose(self) -> ComposeResult:
        with Vertical(id="retry-dialog"):
            yield Label(f"Retry run [b]{self.run_name}[/b] (now {self.state})?", id="retry-title")
            if not self.previews.served_here:
                yield Label(
                    "▶ Rerun: the flow runs again where its deployment is served; the engine "
                    "does not serve it, so it cannot rerun without caches or from a task.",
                    id="retry-rerun",
                )
                with Horizontal(id="retry-buttons"):
                    yield Button("Retry (r)", variant="warning", id="retry-reuse")
                    yield Button("Cancel (esc)", variant="primary", id="retry-cancel")
                return
            if self.previews.retry is None:
                flow = self.previews.flow_name
                unknown = f"unknown: engine/contract/retry_plan.py does not describe flow {flow!r}"
                yield Label("♻ Reused: " + unknown, id="retry-reused")
                yield Label("▶ Rerun: unknown", id="retry-rerun")
            else:
                yield Label(
                    "♻ Reused (cached result, does not run): " + (", ".join(self.reused) or "none"),
                    id="retry-reused",
                )
                yield Label("▶ Rerun: " + (", ".join(self.rerun) or "none"), id="retry-rerun")
                yield Label(
                    "A cached result is reused only if the input file and model are unchanged.",
                    id="retry-caveat",
                )
            yield Label(
                "⏭ Rerun from a task (press its number):\n"
                + ("\n".join(self._from_lines()) or "  no task known yet"),
                id="retry-from",
            )
            yield Label("Full rerun ignores every cache and reruns all tasks.", id="retry-hint")
            with Horizontal(id="retry-buttons"):
                yield Button("Retry (r)", variant="warning", id="retry-reuse")
                yield Button("Full rerun (f)", variant="error", id="retry-full")
                yield Button("Cancel (esc)", variant="primary", id="retry-cancel")

    def _from_lines(self) -> list[str]:
        lines = []
        for n, name in enumerate(self.tasks, start=1):
            plan = self.previews.from_task.get(name)
            reuses = f": reuses {', '.join(plan.reused) or 'none'}" if plan else ""
            lines.append(f"  {n} {name}{reuses}")
        return lines

    def on_mount(self) -> None:
        # The safe answer has focus, so a stray enter sends nothing.
        self.query_one("#retry-cancel", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        choices = {"retry-reuse": "reuse", "retry-full": "full"}
        self.dismiss(choices.get(event.button.id or ""))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # Not served here: a full rerun is not offered (the key is hidden and does nothing).
        return self.previews.served_here or parameters != ("full",)

    def action_choose(self, choice: str | None) -> None:
        self.dismiss(choice)

    def action_from_task(self, number: int) -> None:
        if 1 <= number <= len(self.tasks):
            self.dismiss(f"{FROM_PREFIX}{self.tasks[number - 1]}")
        else:
            self.notify(f"No task {number}: choose 1 to {len(self.tasks)}.", severity="warning")
