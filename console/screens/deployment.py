"""One deployment: its schedule and settings, the next fire times in its zone and in the
operator's, and its recent runs with a sparkline of their durations."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import DataTable, Label, Static

from console.context import Context
from console.screens.backfill import request_backfill
from console.screens.base import LiveScreen
from console.screens.deployment_actions import (
    pause_toggle_binding,
    request_pause_toggle,
    request_trigger_with_params,
)
from console.screens.run import RunScreen
from console.text.formatting import (
    DASH,
    deployment_label,
    format_params,
    format_schedule,
    format_until,
    is_final,
    next_fires,
    run_durations,
    served_by_text,
    sparkline,
    state_label,
    zone_named,
)
from console.text.pause_text import paused_until
from console.widgets.deployment_runs_table import DeploymentRunsTable
from console.widgets.fitting_footer import FittingFooter
from console.widgets.status_bar import StatusBar
from engine.contract.documents import Deployment, FlowRun

FIRES_SHOWN = 10
"""Next fire times listed."""
SPARK_RUNS = 30
"""Finished runs drawn in the sparkline, oldest left."""


class DeploymentScreen(LiveScreen):
    """Details of the deployment called `name`; `p` pauses or resumes it."""

    MUTATING_ACTIONS = frozenset({"pause_toggle", "trigger_with_params", "backfill"})

    DEFAULT_CSS = """
    DeploymentScreen #deployment-body {
        height: 1fr;
        background: $surface;
    }
    DeploymentScreen #deployment-info, DeploymentScreen #deployment-fires,
    DeploymentScreen #deployment-about {
        height: auto;
        padding: 0 1;
    }
    DeploymentScreen #deployment-about {
        margin-top: 1;
    }
    DeploymentScreen #deployment-spark {
        height: auto;
        padding: 0 1;
        background: $surface;
    }
    DeploymentScreen DeploymentRunsTable {
        height: 1fr;
        min-height: 4;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", tooltip="Back to the deployments", id="deployment.back"),
        pause_toggle_binding("deployment"),
        Binding(
            "T",
            "trigger_with_params",
            "Trigger...",
            tooltip="Trigger with parameters: a form, checked and previewed before sending",
            id="deployment.trigger_with_params",
        ),
        Binding(
            "b",
            "backfill",
            "Backfill",
            tooltip="Run it once per fire time of a past window (dry-run list first)",
            id="deployment.backfill",
        ),
    ]

    def __init__(self, ctx: Context, name: str) -> None:
        super().__init__(ctx)
        self.deployment_name = name

    def compose(self) -> ComposeResult:
        yield Label(f"Deployment: {self.deployment_name}", id="deployment-title", classes="title")
        # Details scroll in the top half, so the runs keep the bottom half on small screens.
        # The fire times come before the free text (description, parameters), which can
        # wrap to many lines and would push them out of view at 80x24.
        with VerticalScroll(id="deployment-body"):
            yield Static(id="deployment-info")
            yield Label("Next fire times", classes="title")
            yield Static(id="deployment-fires")
            yield Static(id="deployment-about")
        yield Label("Recent runs", classes="title")
        yield Static(id="deployment-spark")
        yield DeploymentRunsTable(self.ctx, self.deployment_name, id="deployment-runs")
        yield StatusBar(self.ctx, id="status")
        yield FittingFooter()

    @property
    def doc(self) -> Deployment | None:
        return self.ctx.store.deployments.get(self.deployment_name)

    def on_mount(self) -> None:
        self.query_one(DeploymentRunsTable).focus()
        self._show_details()

    # Live hooks.

    def show_deployment(self, name: str) -> None:
        if name == self.deployment_name:
            self._show_details()

    def show_flow_run(self, doc: FlowRun) -> None:
        self.show_flow_runs([doc])

    def show_flow_runs(self, docs: list[FlowRun]) -> None:
        table = self.query_one(DeploymentRunsTable)
        rows = [(table.row_for(doc), True) for doc in docs if table.wants(doc)]
        if rows:
            table.put_rows(rows)
            self._show_details()

    def refresh_all(self) -> None:
        super().refresh_all()
        self._show_details()

    # Drawing.

    def _show_details(self) -> None:
        if not self.is_mounted:
            return
        self.query_one("#deployment-info", Static).update(self._info())
        self.query_one("#deployment-fires", Static).update(self._fires())
        self.query_one("#deployment-about", Static).update(self._about())
        self.query_one("#deployment-spark", Static).update(self._spark())

    def _info(self) -> Text:
        doc = self.doc
        if doc is None:
            return Text(f"{self.deployment_name} is no longer deployed (removed from Redis).")
        state = deployment_label(bool(doc.paused))
        window = paused_until(doc, self.ctx.now())
        lines = [
            f"{state.text}{window.removeprefix('paused') if window else ''}"
            f"{'  ⚠ protected' if doc.protected else ''}",
            f"Flow: {doc.flow_name or DASH}   Version: {doc.version or DASH}"
            # Said only when someone else runs it: the engine's own say nothing new here.
            + ("" if doc.managed else f"   Served by: {served_by_text(doc)}"),
            f"Schedule: {format_schedule(doc)}",
        ]
        return Text("\n".join(lines))

    def _about(self) -> Text:
        doc = self.doc
        if doc is None:
            return Text()
        lines = [
            f"Description: {doc.description or DASH}",
            f"Parameters: {format_params(doc.parameters)}",
        ]
        return Text("\n".join(lines))

    def _fires(self) -> Text:
        doc = self.doc
        if doc is None or not doc.cron:
            return Text(f"{DASH} no schedule")
        zone_name = doc.timezone or "UTC"
        if zone_named(zone_name) is None:
            return Text(f"? unknown zone {zone_name}")
        now = self.ctx.now()
        fires = next_fires(doc.cron, zone_name, now, FIRES_SHOWN)
        if not fires:
            return Text(f"? bad cron {doc.cron}")
        note = "  (paused: these will not fire until resumed)" if doc.paused else ""
        window = paused_until(doc, now)
        if window:
            note = f"  ({window}: none fires before then)"
        lines = [f"{'In ' + zone_name:<28} Local ({_zone_label(now)}){note}"]
        for fire in fires:
            local = fire.astimezone(now.tzinfo)
            lines.append(
                f"{fire.strftime('%a %m-%d %H:%M %Z'):<28} "
                f"{local.strftime('%a %m-%d %H:%M %Z'):<22} {format_until(fire, now)}"
            )
        return Text("\n".join(lines))

    def _spark(self) -> Text:
        now = self.ctx.now()
        finished = [
            run
            for run in self.ctx.store.runs_newest_first()
            if run.deployment_name == self.deployment_name
            and is_final(run.state_type)
            and run_durations(run, now).for_chart is not None
        ][:SPARK_RUNS][::-1]
        if not finished:
            return Text(f"Durations: {DASH} no finished runs yet")
        # The latest attempt of each run: a retry days later is not a days-long run.
        durations = [run_durations(run, now).for_chart or 0.0 for run in finished]
        glyphs = "".join(state_label(run.state_type).glyph for run in finished)
        return Text(
            f"Durations, oldest → newest: {sparkline(durations)}\n"
            f"Outcomes,  oldest → newest: {glyphs}"
        )

    # Actions.

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        key = event.row_key.value
        if key is not None:
            self.app.push_screen(RunScreen(self.ctx, key))

    def action_back(self) -> None:
        if not self.clear_text_filter():
            self.dismiss()

    def action_pause_toggle(self) -> None:
        if self.doc is None:
            self.notify(f"{self.deployment_name} is no longer deployed.", severity="warning")
            return
        request_pause_toggle(self, self.doc)

    def action_trigger_with_params(self) -> None:
        if self.doc is None:
            self.notify(f"{self.deployment_name} is no longer deployed.", severity="warning")
            return
        request_trigger_with_params(self, self.doc)

    def action_backfill(self) -> None:
        request_backfill(self, self.deployment_name)


def _zone_label(now: object) -> str:
    tz = getattr(now, "tzinfo", None)
    return str(tz) if tz is not None else "local"
