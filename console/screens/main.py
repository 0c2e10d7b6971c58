"""The main screen: deployments on top, the live runs below."""

from __future__ import annotations

import time
from typing import Any, ClassVar

import msgspec
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Label

from console.data.history import HistoryAnswered, HistoryAsker, HistoryView
from console.data.messages import CommandRequested
from console.screens.base import LiveScreen
from console.screens.bulk_confirm import BulkConfirmScreen, bulk_question
from console.screens.deployment import DeploymentScreen
from console.screens.deployment_actions import (
    pause_toggle_binding,
    request_pause_toggle,
    request_trigger_with_params,
)
from console.screens.run import RunScreen
from console.text.formatting import is_final
from console.widgets.deployments_table import DeploymentsTable
from console.widgets.filter_bar import FilterBar
from console.widgets.fitting_footer import FittingFooter
from console.widgets.health_panel import HealthPanel
from console.widgets.runs_history import (
    history_query,
    sorted_by_prefect,
    title_counts,
    unfiltered,
    view_key,
)
from console.widgets.runs_table import RunsTable
from console.widgets.status_bar import StatusBar
from console.widgets.titles import show_title
from engine.contract.documents import Deployment, FlowRun
from engine.contract.history import RunQuery


class MainScreen(LiveScreen):
    """Deployments and runs; `t`/`p` act on the selected deployment, `r`/`c` on the run,
    or on every marked run."""

    MUTATING_ACTIONS = frozenset(
        {"trigger", "pause_toggle", "retry", "cancel_run", "trigger_with_params"}
    )

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "t",
            "trigger",
            "Trigger",
            tooltip="Start a run of the selected deployment",
            id="main.trigger",
        ),
        Binding(
            "T",
            "trigger_with_params",
            "Trigger with parameters...",
            tooltip="A form of its parameters, checked and previewed before sending",
            show=False,  # the footer is full at 80 columns; `?` and the palette list it
            id="main.trigger_with_params",
        ),
        pause_toggle_binding("main"),
        Binding(
            "r",
            "retry",
            "Retry",
            tooltip="Retry the selected run, or the marked ones (finished runs only)",
            id="main.retry",
        ),
        Binding(
            "c",
            "cancel_run",
            "Cancel",
            tooltip="Cancel the selected run, or the marked ones (asks first)",
            id="main.cancel_run",
        ),
        Binding(
            "d",
            "deployment",
            "Details",
            tooltip="The selected deployment: schedule, next fire times, recent runs",
            show=False,  # the footer is full at 80 columns; `?`, :deploy and the palette list it
            id="main.deployment",
        ),
        Binding(
            "slash", "filter", "Filter", tooltip="Filter the focused table's rows", id="main.filter"
        ),
        Binding(
            "escape",
            "back",
            "Clear",
            tooltip="Clear the marks, then the filters",
            show=False,
            id="main.back",
        ),
    ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._triggers_unanswered = 0
        """Triggers sent from here whose new run id has not come back yet."""
        self._history = HistoryAsker(self.ctx.redis_url, self.ctx.keys)
        """Asks the engine for pages of the whole history (allowed read-only too)."""

    def compose(self) -> ComposeResult:
        yield Label("Deployments", id="deployments-title", classes="title")
        yield HealthPanel(self.ctx, id="health")
        yield DeploymentsTable(self.ctx, id="deployments")
        yield Label("Runs: all deployments", id="runs-title", classes="title")
        yield RunsTable(self.ctx, id="runs")
        yield FilterBar(id="filter")
        yield StatusBar(self.ctx, id="status")
        yield FittingFooter()

    @property
    def deployments(self) -> DeploymentsTable:
        return self.query_one(DeploymentsTable)

    @property
    def runs(self) -> RunsTable:
        return self.query_one(RunsTable)

    def on_mount(self) -> None:
        self.deployments.focus()

    def on_unmount(self) -> None:
        self._history.close()

    # After `t`, the runs cursor goes to the new run, so `c` cancels that one.

    def on_command_requested(self, message: CommandRequested) -> None:
        if message.action == "trigger":  # the message goes on to the app, which sends it
            self._triggers_unanswered += 1

    def trigger_answered(self, flow_run_id: str | None) -> None:
        self._triggers_unanswered = max(0, self._triggers_unanswered - 1)
        if flow_run_id:
            self.runs.follow(flow_run_id)

    @property
    def awaiting_new_run(self) -> bool:
        """A trigger sent from here is not answered yet, or its run not yet under the
        cursor: `c` would act on the wrong run."""
        return bool(self._triggers_unanswered) or self.runs.following is not None

    def _awaiting_new_run(self) -> bool:
        """True (after saying so) while `c` cannot yet act on the run just triggered."""
        if not self.awaiting_new_run:
            return False
        self.notify(
            "The run just triggered is not in the table yet: the cursor moves to it when it "
            "arrives, then c cancels it. Nothing was sent.",
            title="Waiting for the new run",
            severity="warning",
        )
        return True

    # Live hooks.

    def show_deployment(self, name: str) -> None:
        self.deployments.show_deployment(name)
        self._update_titles()

    def show_flow_run(self, doc: FlowRun) -> None:
        self.show_flow_runs([doc])

    def show_flow_runs(self, docs: list[FlowRun]) -> None:
        self.runs.show_runs(docs)
        for name in dict.fromkeys(doc.deployment_name for doc in docs):
            if name in self.ctx.store.deployments:
                self.deployments.show_deployment(name)
        self._update_titles()

    def refresh_all(self) -> None:
        super().refresh_all()
        self._update_titles()

    def show_status(self) -> None:
        super().show_status()
        self.query_one(HealthPanel).show_status()

    def _update_titles(self) -> None:
        deployments, runs = self.deployments, self.runs
        show_title(
            self.query_one("#deployments-title", Label),
            f"Deployments ({deployments.row_count}){_filter_note(deployments.filter_text)}",
        )
        scope = runs.deployment_filter or "all deployments"
        hint = "  (enter or escape: all)" if runs.deployment_filter else ""
        view = ""
        if not runs.default_view:
            view = f"  {runs.state_filter_label}, {runs.time_range_label}, by {runs.sort_label}"
            if not sorted_by_prefect(runs):
                view += " (of the rows loaded)"  # Prefect sorts by start and name only
        marks = f"  ◆ {len(runs.marked)} marked" if runs.marked else ""
        counts = title_counts(runs)
        show_title(
            self.query_one("#runs-title", Label),
            f"Runs: {scope} ({counts}){view}{marks}{_filter_note(runs.filter_text)}{hint}",
        )

    def on_runs_table_view_changed(self, _event: RunsTable.ViewChanged) -> None:
        self._ask_history()
        self._update_titles()

    # The whole history: with a filter set, Prefect's total and older pages, from the engine.

    def _ask_history(self) -> None:
        runs = self.runs
        query = history_query(runs)
        if query is None:
            runs.history = None
            return
        key = view_key(runs)
        if runs.history is not None and runs.history.key == key:
            return
        if self.ctx.store.engine is None and unfiltered(runs):
            # The held runs' count stands alone (the status line says the engine is away);
            # `tick` asks once an engine beats.
            runs.history = None
            return
        runs.history = view = HistoryView(key, query, counted_at=time.monotonic())
        if self.ctx.store.engine is None:
            view.apply(None, "no engine")
            return
        self._fetch_page(key, query)

    def on_runs_table_older_wanted(self, _event: RunsTable.OlderWanted) -> None:
        self._ask_older()

    def _ask_older(self) -> None:
        view = self.runs.history
        if view is None or not view.wants_more():
            return
        view.loading = True
        older = msgspec.structs.replace(view.base, offset=view.next_offset, counted=False)
        self._fetch_page(view.key, older)
        self._update_titles()

    @work(thread=True, group="history", exit_on_error=False)
    def _fetch_page(
        self, key: tuple[object, ...], query: RunQuery, count_only: bool = False
    ) -> None:
        page, reason = self._history.ask(query)
        self.post_message(HistoryAnswered(key, query.offset, page, reason, count_only))

    def tick(self) -> None:
        super().tick()
        view = self.runs.history
        now = time.monotonic()
        shown = self.runs.row_count
        if view is not None and view.count_due(now, shown):
            view.note_count_asked(now, shown)
            count = view.count_query(self.ctx.now())
            self._fetch_page(view.key, count, count_only=True)
        elif self.ctx.store.engine is not None and (
            (view is None and unfiltered(self.runs)) or (view is not None and view.retry_due(now))
        ):
            # An engine beats now (or again): ask the view that had no answer.
            self.runs.history = None
            self._ask_history()

    def on_history_answered(self, message: HistoryAnswered) -> None:
        view = self.runs.history
        if view is None or view.key != message.key:
            return  # the filters changed meanwhile: a page of another view
        if message.count_only:
            view.apply_count(message.page)
            if not view.runs and view.total:
                # Its first page was empty (nothing due when the view was set), and runs
                # have come since: a page with the new `until` shows them, not just the total.
                self.runs.history = None
                self._ask_history()
        else:
            shown = set(self.runs.row_keys())
            view.apply(message.page, message.reason)
            self.runs.refresh_rows()
            ok = message.page is not None and message.page.ok
            if ok and message.offset and not set(self.runs.row_keys()) - shown:
                # Every run of this older page was on screen already (the live window holds
                # the newest): the cursor still waits at the last row for older ones.
                self._ask_older()
        self._update_titles()

    # Set from outside (the `:` commands).

    def focus_deployments(self) -> None:
        self.deployments.focus()

    def show_runs(
        self,
        *,
        state: str | None = None,
        deployment: str | None = None,
        all_deployments: bool = False,
    ) -> None:
        """Focuses the runs, showing only state `state` (a STATE_FILTERS label, any case) and
        only `deployment`'s runs, or every deployment's; None leaves that filter as it is."""
        if state is not None:
            self.runs.set_state_filter(state)
        if deployment is not None or all_deployments:
            self.runs.set_deployment_filter(deployment)
        self.refresh_all()
        self.runs.focus()

    # Selection.

    def selected_deployment(self) -> Deployment | None:
        name = self.deployments.selected_key()
        return self.ctx.store.deployments.get(name) if name else None

    def selected_run(self) -> FlowRun | None:
        run_id = self.runs.selected_key()
        return self.runs.run_doc(run_id) if run_id else None

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        key = event.row_key.value
        if key is None:
            return
        if event.data_table is self.deployments:
            same = self.runs.deployment_filter == key
            self.runs.set_deployment_filter(None if same else key)
            self._update_titles()
        elif event.data_table is self.runs:
            self.app.push_screen(RunScreen(self.ctx, key))

    # Actions.

    def action_trigger(self) -> None:
        if self.refuse_if_read_only("trigger"):
            return
        doc = self.selected_deployment()
        if doc is None:
            self.notify("No deployment selected.", severity="warning")
            return
        name = doc.name
        self.send_checked("trigger", name, name, f"trigger {name}")

    def action_pause_toggle(self) -> None:
        request_pause_toggle(self, self.selected_deployment())

    def action_trigger_with_params(self) -> None:
        request_trigger_with_params(self, self.selected_deployment())

    def action_retry(self) -> None:
        if self.runs.marked:
            self.request_bulk("retry")
        else:
            self.request_retry(self.selected_run())

    def action_cancel_run(self) -> None:
        if self.runs.marked:
            self.request_bulk("cancel")
        elif not self._awaiting_new_run():
            self.request_cancel(self.selected_run())

    def action_deployment(self) -> None:
        doc = self.selected_deployment()
        if doc is None:
            self.notify("No deployment selected.", severity="warning")
            return
        self.app.push_screen(DeploymentScreen(self.ctx, doc.name))

    def request_bulk(self, action: str) -> None:
        """Retries (finished runs) or cancels (unfinished runs) every marked run, after a
        confirmation that counts them; one command per run. Runs of protected deployments
        are refused as a whole: each needs its name typed, one run at a time."""
        if self.refuse_if_read_only(f"bulk {action}"):
            return
        runs = self.runs.marked_runs()
        retry = action == "retry"
        verb, done, why = (
            ("Retry", "retried", "still running")
            if retry
            else ("Cancel", "cancelled", "already finished")
        )
        eligible = [run for run in runs if is_final(run.state_type) == retry]
        skipped = len(runs) - len(eligible)
        if not eligible:
            self.not_sent(f"bulk {action}", "ineligible")
            self.notify(
                f"None of the {len(runs)} marked runs can be {done} ({why}); nothing was sent.",
                severity="warning",
            )
            return
        deployments = self.ctx.store.deployments
        protected = sorted(
            {
                run.deployment_name
                for run in eligible
                if (deployment := deployments.get(run.deployment_name)) and deployment.protected
            }
        )
        if protected:
            self.not_sent(f"bulk {action}", "protected")
            self.notify(
                f"Bulk {action} refused: marked runs of protected deployment "
                f"{', '.join(protected)} need the name typed, one run at a time. Unmark them "
                f"(space) or {action} them singly; nothing was sent.",
                title="Protected",
                severity="error",
                timeout=15,
            )
            return
        question = bulk_question(verb, len(eligible), skipped, why)
        names = [run.name for run in eligible]

        def send(confirmed: bool | None) -> None:
            if not confirmed:
                self.not_sent(f"bulk {action}", "declined")
                self.notify(f"Bulk {action} was not sent.", title="Not sent")
                return
            for run in eligible:
                self.post_message(CommandRequested(action, run.id))
            skip = f"; {skipped} skipped ({why})" if skipped else ""
            self.notify(
                f"Sent {len(eligible)} {action} commands{skip}. Each result follows as the "
                "engine answers it.",
                title=f"Bulk {action}",
            )
            self.runs.clear_marks()

        yes = f"{verb} {len(eligible)}"
        self.app.push_screen(BulkConfirmScreen(question, names, yes=yes), send)

    def action_back(self) -> None:
        if self.runs.clear_marks():
            return
        if self.clear_text_filter():
            return
        if self.runs.deployment_filter is not None:
            self.runs.set_deployment_filter(None)
            self._update_titles()


def _filter_note(text: str) -> str:
    return f"  / {text!r} (escape clears)" if text else ""
