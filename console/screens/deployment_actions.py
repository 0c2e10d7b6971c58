"""Trigger with parameters and pause with a window: what `T` and `p` do on the main and
deployment screens, through the same gate as every mutating action (read-only mode,
protected deployments)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from textual.binding import Binding

from console.screens.base import LiveScreen
from console.screens.pause_confirm import PauseConfirmScreen
from console.screens.trigger_form import TriggerFormScreen
from console.text.param_form import overrides_text
from console.text.pause_text import scheduled_runs
from engine.contract.documents import Deployment


def pause_toggle_binding(screen_id: str) -> Binding:
    """`p` on a screen showing a deployment (`screen_id`: its keymap id prefix)."""
    return Binding(
        "p",
        "pause_toggle",
        "Pause",  # "Pause/Resume" cut the footer at 80 columns; the tooltip says both
        tooltip="Pause or resume its schedule",
        id=f"{screen_id}.pause_toggle",
    )


def _selected_name(screen: LiveScreen, doc: Deployment | None, what: str) -> str | None:
    """The deployment's name, or None (after saying why) if read-only forbids `what` or no
    deployment is selected."""
    if screen.refuse_if_read_only(what):
        return None
    if doc is None:
        screen.notify("No deployment selected.", severity="warning")
        return None
    return doc.name


def request_trigger_with_params(screen: LiveScreen, doc: Deployment | None) -> None:
    """Opens the parameter form; its preview's Run sends `trigger` with the overrides."""
    name = _selected_name(screen, doc, "trigger")
    if name is None or doc is None:
        return
    schema = doc.parameter_schema
    if not (isinstance(schema, dict) and schema.get("properties")):
        screen.not_sent(f"trigger {name} with parameters", "ineligible")
        screen.notify(
            f"The deployment document of {name} ({screen.ctx.keys.deployments}, field "
            "parameter_schema) has no parameter schema: the engine publishing it is older "
            "than this console. Restart the engine with this version; t still triggers with "
            "the defaults.",
            title="No parameter schema",
            severity="error",
            timeout=15,
        )
        return

    def then(overrides: dict[str, Any] | None) -> None:
        if overrides is None:
            screen.not_sent(f"trigger {name}", "declined")
            screen.notify(f"Trigger {name} was not sent.", title="Not sent")
            return
        shown = overrides_text(form.fields, overrides) or "the defaults"
        screen.send_checked("trigger", name, name, f"trigger {name} with {shown}", params=overrides)

    form = TriggerFormScreen(doc)
    screen.app.push_screen(form, then)


def request_pause_toggle(screen: LiveScreen, doc: Deployment | None) -> None:
    """Paused: resume at once. Active: ask until when (and say what happens to the runs
    already scheduled), then pause."""
    name = _selected_name(screen, doc, "pause/resume")
    if name is None or doc is None:
        return
    if doc.paused:
        screen.send_checked("resume", name, name, f"resume {name}")
        return
    runs = scheduled_runs(list(screen.ctx.store.flow_runs.values()), name)
    dialog = PauseConfirmScreen(name, screen.ctx.now, [r.name for r in runs])

    def then(resume_at: str | None) -> None:
        if resume_at is None:
            screen.not_sent(f"pause {name}", "declined")
            screen.notify(f"Pause {name} was not sent.", title="Not sent")
        elif resume_at:
            now = screen.ctx.now()
            local = datetime.fromisoformat(resume_at).astimezone(now.tzinfo)
            screen.send_checked(
                "pause",
                name,
                name,
                f"pause {name} until {local.strftime('%Y-%m-%d %H:%M %Z')}",
                params={"resume_at": resume_at},
            )
        else:
            screen.send_checked("pause", name, name, f"pause {name}")

    screen.app.push_screen(dialog, then)
