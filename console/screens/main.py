"""The main screen: deployments on top, the live runs below."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Footer, Label

from console.screens.base import Doc, LiveScreen
from console.screens.run import RunScreen
from console.widgets.deployments_table import DeploymentsTable
from console.widgets.filter_bar import FilterBar
from console.widgets.runs_table import RunsTable
from console.widgets.status_bar import StatusBar


class MainScreen(LiveScreen):
    """Deployments and runs; `t`/`p` act on the selected deployment, `r`/`c` on the run."""

    MUTATING_ACTIONS = frozenset({"trigger", "pause_toggle", "retry", "cancel_run"})

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "t",
            "trigger",
            "Trigger",
            tooltip="Start a run of the selected deployment",
            id="main.trigger",
        ),
        Binding(
            "p",
            "pause_toggle",
            "Pause/Resume",
            tooltip="Pause or resume its schedule",
            id="main.pause_toggle",
        ),
        Binding(
            "r",
            "retry",
            "Retry",
            tooltip="Retry the selected run (finished runs only)",
            id="main.retry",
        ),
        Binding(
            "c",
            "cancel_run",
            "Cancel",
            tooltip="Cancel the selected run (asks first)",
            id="main.cancel_run",
        ),
        Binding(
            "slash", "filter", "Filter", tooltip="Filter the focused table's rows", id="main.filter"
        ),
        Binding("escape", "back", "Clear", tooltip="Clear the filters", show=False, id="main.back"),
    ]

    def compose(self) -> ComposeResult:
        yield Label("Deployments", id="deployments-title", classes="title")
        yield DeploymentsTable(self.ctx, id="deployments")
        yield Label("Runs: all deployments", id="runs-title", classes="title")
        yield RunsTable(self.ctx, id="runs")
        yield FilterBar(id="filter")
        yield StatusBar(self.ctx, id="status")
        yield Footer()

    @property
    def deployments(self) -> DeploymentsTable:
        return self.query_one(DeploymentsTable)

    @property
    def runs(self) -> RunsTable:
        return self.query_one(RunsTable)

    def on_mount(self) -> None:
        self.deployments.focus()

    # Live hooks.

    def show_deployment(self, name: str) -> None:
        self.deployments.show_deployment(name)
        self._update_titles()

    def show_flow_run(self, doc: Doc) -> None:
        self.runs.show_run(doc)
        name = doc.get("deployment_name")
        if isinstance(name, str) and name in self.ctx.store.deployments:
            self.deployments.show_deployment(name)
        self._update_titles()

    def refresh_all(self) -> None:
        super().refresh_all()
        self._update_titles()

    def _update_titles(self) -> None:
        deployments, runs = self.deployments, self.runs
        self.query_one("#deployments-title", Label).update(
            f"Deployments ({deployments.row_count}){_filter_note(deployments.filter_text)}"
        )
        scope = runs.deployment_filter or "all deployments"
        hint = "  (enter or escape: all)" if runs.deployment_filter else ""
        self.query_one("#runs-title", Label).update(
            f"Runs: {scope} ({runs.row_count}){_filter_note(runs.filter_text)}{hint}"
        )

    # Selection.

    def selected_deployment(self) -> Doc | None:
        name = self.deployments.selected_key()
        return self.ctx.store.deployments.get(name) if name else None

    def selected_run(self) -> Doc | None:
        run_id = self.runs.selected_key()
        return self.ctx.store.flow_runs.get(run_id) if run_id else None

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
        name = str(doc["name"])
        self.send_checked("trigger", name, name, f"trigger {name}")

    def action_pause_toggle(self) -> None:
        if self.refuse_if_read_only("pause/resume"):
            return
        doc = self.selected_deployment()
        if doc is None:
            self.notify("No deployment selected.", severity="warning")
            return
        action = "resume" if doc.get("paused") else "pause"
        name = str(doc["name"])
        self.send_checked(action, name, name, f"{action} {name}")

    def action_retry(self) -> None:
        self.request_retry(self.selected_run())

    def action_cancel_run(self) -> None:
        self.request_cancel(self.selected_run())

    def action_back(self) -> None:
        if self.clear_text_filter():
            return
        if self.runs.deployment_filter is not None:
            self.runs.set_deployment_filter(None)
            self._update_titles()


def _filter_note(text: str) -> str:
    return f"  / {text!r} (escape clears)" if text else ""
