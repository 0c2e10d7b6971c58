"""Backfill dialog: a past window, the dry-run list of its fire times, then the command.

The fire times come from `engine.contract.fire_times.plan_backfill`, the very code the engine runs
when the command arrives, so the list shown is the list that will run.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from console.context import Context
from console.screens.base import LiveScreen
from console.screens.dialog_css import dialog_css
from engine.contract.documents import Deployment
from engine.contract.fire_times import (
    BACKFILL_DEFAULT_CONCURRENCY,
    BackfillError,
    BackfillPlan,
    plan_backfill,
    zone_of,
)


class BackfillScreen(ModalScreen[dict[str, Any] | None]):
    """Dismisses with the backfill command's params (start, end, max_concurrent), or None."""

    DEFAULT_CSS = (
        dialog_css("BackfillScreen", "backfill-dialog", 90, "$warning")
        + """
    BackfillScreen #backfill-title {
        text-style: bold;
        width: 100%;
    }
    BackfillScreen #backfill-fields {
        height: auto;
    }
    BackfillScreen #backfill-fields Input {
        width: 1fr;
    }
    BackfillScreen #backfill-max {
        max-width: 16;
    }
    BackfillScreen #backfill-hint, BackfillScreen #backfill-summary {
        width: 100%;
    }
    BackfillScreen #backfill-hint {
        color: $foreground-muted;
    }
    BackfillScreen #backfill-times {
        height: auto;
        max-height: 12;
        min-height: 1;
    }
    BackfillScreen #backfill-buttons {
        height: auto;
        align-horizontal: right;
    }
    BackfillScreen #backfill-buttons Button {
        margin-left: 2;
    }
    """
    )

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", tooltip="Close without sending"),
    ]

    def __init__(self, ctx: Context, deployment: Deployment) -> None:
        super().__init__()
        self.ctx = ctx
        self.deployment = deployment
        self.plan: BackfillPlan | None = None
        """The plan of the window as typed; None while it has an error."""

    @property
    def cron(self) -> str:
        return str(self.deployment.cron or "")

    @property
    def zone_name(self) -> str:
        return str(self.deployment.timezone or "UTC")

    def compose(self) -> ComposeResult:
        name = self.deployment.name
        start, end = self._default_window()
        with Vertical(id="backfill-dialog"):
            yield Label(
                f"Backfill [b]{name}[/b]: one run per fire time of {self.cron} ({self.zone_name})",
                id="backfill-title",
            )
            with Horizontal(id="backfill-fields"):
                yield Input(start, placeholder="start, e.g. 2026-11-01", id="backfill-start")
                yield Input(end, placeholder="end, e.g. 2026-11-08", id="backfill-end")
                yield Input(
                    str(BACKFILL_DEFAULT_CONCURRENCY),
                    placeholder="max at once",
                    type="integer",
                    id="backfill-max",
                )
            yield Label(
                f"Start included, end excluded; times without an offset are in "
                f"{self.zone_name}. Third field: most runs at once.",
                id="backfill-hint",
            )
            yield Label(id="backfill-summary")
            # Not focusable: enter on the last field must land on the Backfill button, and
            # the count above already says how many runs the list holds.
            with VerticalScroll(id="backfill-times", can_focus=False):
                yield Static(id="backfill-list")
            with Horizontal(id="backfill-buttons"):
                yield Button("Backfill", variant="warning", id="backfill-send")
                yield Button("Cancel (esc)", variant="primary", id="backfill-cancel")

    def _default_window(self) -> tuple[str, str]:
        """Yesterday 00:00 to now (to the minute), in the deployment's zone."""
        try:
            zone = zone_of(self.zone_name)
        except BackfillError:
            return "", ""
        now = self.ctx.now().astimezone(zone).replace(second=0, microsecond=0)
        start = (now - timedelta(days=1)).replace(hour=0, minute=0)
        return start.strftime("%Y-%m-%dT%H:%M"), now.strftime("%Y-%m-%dT%H:%M")

    def on_mount(self) -> None:
        self.query_one("#backfill-start", Input).focus()
        self._preview()

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self._preview()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        # Enter moves on; sending takes the Backfill button, so a stray enter sends nothing.
        event.stop()
        self.focus_next()

    def params(self) -> dict[str, Any]:
        """The command's params from the fields, as typed (the engine checks them again)."""
        raw_max = self.query_one("#backfill-max", Input).value.strip()
        limit: Any = int(raw_max) if raw_max.lstrip("-").isdigit() else raw_max
        return {
            "start": self.query_one("#backfill-start", Input).value.strip(),
            "end": self.query_one("#backfill-end", Input).value.strip(),
            "max_concurrent": limit,
        }

    def _preview(self) -> None:
        summary = self.query_one("#backfill-summary", Label)
        listing = self.query_one("#backfill-list", Static)
        try:
            self.plan = plan_backfill(self.cron, self.zone_name, self.params(), self.ctx.now())
        except BackfillError as exc:
            self.plan = None
            summary.update(Text(f"✖ {exc}", style="bold"))
            listing.update("")
        else:
            local = self.ctx.now().tzinfo
            summary.update(
                Text(
                    f"✔ {len(self.plan.fires)} run(s), at most {self.plan.max_concurrent} "
                    f"at once (dry run: nothing sent yet). Fire times, {self.zone_name} "
                    "then local:"
                )
            )
            listing.update(
                "\n".join(
                    f"{n:>3}. {fire:%a %Y-%m-%d %H:%M %Z}   "
                    f"{fire.astimezone(local):%a %m-%d %H:%M %Z}"
                    for n, fire in enumerate(self.plan.fires, start=1)
                )
            )
        button = self.query_one("#backfill-send", Button)
        button.disabled = self.plan is None
        button.label = f"Backfill {len(self.plan.fires)} run(s)" if self.plan else "Backfill"

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "backfill-send" and self.plan is not None:
            self.dismiss(
                {
                    # Sent with their offsets, so the engine reads exactly the window shown.
                    "start": self.plan.start.isoformat(),
                    "end": self.plan.end.isoformat(),
                    "max_concurrent": self.plan.max_concurrent,
                }
            )
        else:
            self.dismiss(None)

    def action_cancel(self) -> None:
        self.dismiss(None)


def request_backfill(screen: LiveScreen, name: str) -> None:
    """Opens the backfill dialog for deployment `name` from `screen`, then sends the
    command, after the typed-name confirmation if the deployment is protected."""
    if screen.refuse_if_read_only("backfill"):
        return
    doc = screen.ctx.store.deployments.get(name)
    if doc is None:
        screen.notify(f"{name} is no longer deployed.", severity="warning")
        return
    if not doc.cron:
        screen.notify(f"{name} has no schedule: there are no fire times to backfill.")
        return

    def chosen(params: dict[str, Any] | None) -> None:
        if params is None:
            screen.not_sent(f"backfill {name}", "declined")
            return
        what = f"backfill {name} from {params['start']} to {params['end']}"
        # The same gate as every other command: read-only, then the typed name if protected.
        screen.send_checked("backfill", name, name, what, params=params)

    screen.app.push_screen(BackfillScreen(screen.ctx, doc), chosen)
