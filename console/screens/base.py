"""What the live screens share: refresh hooks, the `/` filter, and the gate every mutating
action passes (read-only mode, protected deployments, confirmations)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from textual.screen import Screen

from console.context import Context
from console.data.messages import CommandNotSent, CommandRequested, NotSentReason
from console.screens.confirm import ConfirmScreen
from console.screens.protected_confirm import ProtectedConfirmScreen
from console.text.formatting import is_final, state_label
from console.widgets.filter_bar import FilterBar
from console.widgets.keyed_table import KeyedTable
from console.widgets.status_bar import StatusBar
from engine.contract.documents import FlowRun, TaskRun

FULL_REDIFF_TICKS = 60
"""A full re-diff of the top screen every 60 ticks (s): a safety net, not the clock."""


class LiveScreen(Screen[None]):
    """A screen the app keeps current: it calls the `show_*` hooks after applying data.

    Hooks are no-ops here; each screen overrides those it shows.
    """

    MUTATING_ACTIONS: ClassVar[frozenset[str]] = frozenset()
    """Action names (without `action_`) that change something: hidden in read-only mode."""

    def __init__(self, ctx: Context) -> None:
        super().__init__()
        self.ctx = ctx
        self._filter_target: KeyedTable | None = None

    # Hooks called by the app.

    def show_snapshot(self) -> None:
        self.refresh_all()

    def show_deployment(self, name: str) -> None:
        pass

    def show_flow_run(self, doc: FlowRun) -> None:
        pass

    def show_flow_runs(self, docs: list[FlowRun]) -> None:
        """Several runs changed at once (one redraw); by default each in turn."""
        for doc in docs:
            self.show_flow_run(doc)

    def show_task_run(self, doc: TaskRun) -> None:
        pass

    def show_task_runs(self, flow_run_id: str) -> None:
        pass

    def show_lineage(self, flow_run_id: str) -> None:
        pass

    def show_pools(self) -> None:
        pass

    def trigger_answered(self, flow_run_id: str | None) -> None:
        """A trigger this console sent was answered: the new run's id, or None if it
        failed, was not sent or got no answer in time."""

    def show_status(self) -> None:
        for bar in self.query(StatusBar):
            bar.show_status()

    _ticks = 0
    """Ticks so far (per screen): every FULL_REDIFF_TICKS-th re-diffs every row."""

    def tick(self) -> None:
        """Once a second: durations of running runs and relative times move on. Only the
        rows that move with the clock are rebuilt (re-diffing every row each second was
        most of an idle console's CPU); the first tick and every FULL_REDIFF_TICKS-th
        re-diff everything, a safety net for a store changed without a message."""
        self._ticks += 1
        if self._ticks % FULL_REDIFF_TICKS == 1:
            self.refresh_all()
            return
        for table in self.query(KeyedTable):
            table.tick_rows()
        # No show_status here: the status bar's own one-second timer moves its clock.

    def refresh_all(self) -> None:
        """Re-diffs every table against the store (only changed cells are redrawn)."""
        for table in self.query(KeyedTable):
            table.refresh_rows()
        self.show_status()

    def on_screen_resume(self) -> None:
        self.refresh_all()

    # The `/` filter.

    def action_filter(self) -> None:
        focused = self.focused
        tables = list(self.query(KeyedTable))
        target = focused if isinstance(focused, KeyedTable) else (tables[-1] if tables else None)
        if target is None:
            return
        self._filter_target = target
        what = str(target.border_title or type(target).__name__.removesuffix("Table").lower())
        self.query_one(FilterBar).open(what, target.filter_text)

    def on_filter_bar_changed(self, event: FilterBar.Changed) -> None:
        if self._filter_target is not None:
            self._filter_target.set_filter(event.text)
        self.refresh_all()

    def on_filter_bar_closed(self, event: FilterBar.Closed) -> None:
        if self._filter_target is not None:
            self._filter_target.focus()

    def clear_text_filter(self) -> bool:
        """Drops any `/` filter; True if there was one (so escape did something)."""
        cleared = False
        for table in self.query(KeyedTable):
            if table.filter_text:
                table.set_filter("")
                cleared = True
        if cleared:
            self.refresh_all()
        return cleared

    # The gate of mutating actions.

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # Read-only: the key is hidden from the footer and help, and does nothing.
        return not (self.ctx.read_only and action in self.MUTATING_ACTIONS)

    def not_sent(self, what: str, reason: NotSentReason) -> None:
        """Records that `what` was not sent (the caller tells the operator why, if needed)."""
        self.post_message(CommandNotSent(what, reason))

    def refuse_if_read_only(self, what: str) -> bool:
        """True (after saying so) if read-only mode forbids `what`; reached via the palette."""
        if not self.ctx.read_only:
            return False
        self.not_sent(what, "read-only")
        self.notify(
            f"Read-only mode: {what} is not allowed; nothing was sent.",
            title="Read-only",
            severity="warning",
        )
        return True

    def send_checked(
        self,
        action: str,
        target: str,
        deployment_name: str | None,
        what: str,
        ask: Callable[[Callable[[bool | None], None]], None] | None = None,
        params: dict[str, Any] | None = None,
    ) -> None:
        """Sends `action` on `target` once the gate allows it.

        A protected deployment (or a run of one) needs its name typed; otherwise `ask`, if
        given, asks its own question (cancel's y/n), else the command goes at once.
        """
        if self.refuse_if_read_only(what):
            return

        deployment = self.ctx.store.deployments.get(deployment_name or "")

        def send_if(confirmed: bool | None) -> None:
            if not confirmed:
                self.not_sent(what, "declined")
                return
            self.post_message(CommandRequested(action, target, params))
            if action == "trigger" and deployment is not None and deployment.polled is False:
                # Sent all the same: a runner or worker may be on its way up.
                self.notify(
                    f"Prefect says nothing has asked for {deployment.name}'s runs in the last "
                    "minute (not ready): the run waits, Scheduled, until a runner or worker "
                    f"does (served by {deployment.served_by}).",
                    title="Nothing polls this deployment",
                    severity="warning",
                    timeout=15,
                )

        if deployment is not None and deployment.protected:
            name = str(deployment_name)
            sentence = f"{what[:1].upper()}{what[1:]}"
            dialog = ProtectedConfirmScreen(name, f"{sentence}?")

            def send_if_named(confirmed: bool | None) -> None:
                if confirmed:
                    send_if(True)
                    return
                self.not_sent(what, "wrong name" if dialog.typed else "declined")
                if dialog.typed:
                    self.notify(
                        f"You typed {dialog.typed!r}, not {name!r}: {what} was not sent.",
                        title="Not sent",
                        severity="warning",
                    )
                else:
                    self.notify(f"{sentence} was not sent.", title="Not sent")

            self.app.push_screen(dialog, send_if_named)
        elif ask is not None:
            ask(send_if)
        else:
            send_if(True)

    # Run actions shared by the main and run screens.

    def request_retry(self, run: FlowRun | None) -> None:
        if self.refuse_if_read_only("retry"):
            return
        if run is None:
            self.notify("No run selected.", severity="warning")
            return
        label = state_label(run.state_type, run.state_name)
        if not is_final(run.state_type):
            self.not_sent(f"retry run {run.name}", "ineligible")
            self.notify(
                f"Run {run.name} is {label.text}: only finished runs (Completed, "
                "Failed, Cancelled, Crashed) can be retried.",
                severity="warning",
            )
            return
        self.send_checked("retry", run.id, run.deployment_name, f"retry run {run.name}")

    def request_cancel(self, run: FlowRun | None) -> None:
        if self.refuse_if_read_only("cancel"):
            return
        if run is None:
            self.notify("No run selected.", severity="warning")
            return
        label = state_label(run.state_type, run.state_name)
        if is_final(run.state_type):
            self.not_sent(f"cancel run {run.name}", "ineligible")
            self.notify(
                f"Run {run.name} already finished ({label.text}); nothing to cancel.",
                severity="warning",
            )
            return
        question = f"Cancel run {run.name} of {run.deployment_name or '?'} (now {label.text})?"

        def ask(then: Callable[[bool | None], None]) -> None:
            self.app.push_screen(ConfirmScreen(question, yes="Cancel the run"), then)

        self.send_checked(
            "cancel",
            run.id,
            run.deployment_name,
            f"cancel run {run.name} of {run.deployment_name or '?'} (now {label.text})",
            ask,
        )
