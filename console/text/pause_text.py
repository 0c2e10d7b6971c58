"""What the console says about pausing: the maintenance window and the runs it affects.

Pure (no Textual, no Redis), so it is tested without an app.
"""

from __future__ import annotations

from datetime import datetime

from console.text.formatting import format_until
from engine.contract.documents import Deployment, FlowRun
from engine.contract.times import parse_iso

PAUSE_EFFECT = (
    "Pausing stops the schedule from creating runs, and Prefect deletes the runs the "
    "schedule had already created for later that have not started. Runs triggered for "
    "later, runs awaiting a retry and late runs already due are kept and will still run: "
    "cancel those with c if they must not."
)
"""Checked against a real Prefect 3 server (tests/integration/test_trigger_pause.py)."""


def resume_at(doc: Deployment) -> datetime | None:
    """When the engine will resume a paused deployment; None if paused indefinitely."""
    if not doc.paused:
        return None
    try:
        return parse_iso(doc.resume_at)
    except ValueError:
        return None


def format_moment(moment: datetime, now: datetime) -> str:
    """`06:00` in the operator's zone; with the date when it is not within a day."""
    local = moment.astimezone(now.tzinfo)
    near = 0 <= (moment - now).total_seconds() < 86400
    return local.strftime("%H:%M" if near else "%m-%d %H:%M")


def paused_until(doc: Deployment, now: datetime) -> str | None:
    """`paused until 06:00 (in 1h 20m)`, or None when not paused with a window."""
    moment = resume_at(doc)
    if moment is None:
        return None
    return f"paused until {format_moment(moment, now)} ({format_until(moment, now)})"


def scheduled_runs(runs: list[FlowRun], deployment: str) -> list[FlowRun]:
    """The deployment's runs that are Scheduled now (as far as the mirror shows them)."""
    return [
        run for run in runs if run.deployment_name == deployment and run.state_type == "SCHEDULED"
    ]
