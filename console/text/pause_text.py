"""What the console says about pausing: the maintenance window and the runs it affects.

Pure (no Textual, no Redis), so it is tested without an app.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from console.text.formatting import format_until
from engine.contract.times import parse_iso

PAUSE_EFFECT = (
    "Pausing stops the schedule from creating runs, and Prefect deletes the runs the "
    "schedule had already created for later that have not started. Runs triggered for "
    "later, runs awaiting a retry and late runs already due are kept and will still run: "
    "cancel those with c if they must not."
)
"""Checked against a real Prefect 3 server (tests/integration/test_trigger_pause.py)."""


def resume_at(doc: dict[str, Any]) -> datetime | None:
    """When the engine will resume a paused deployment; None if paused indefinitely."""
    if not doc.get("paused"):
        return None
    value = doc.get("resume_at")
    try:
        return parse_iso(value) if isinstance(value, str) else None
    except ValueError:
        return None


def format_moment(moment: datetime, now: datetime) -> str:
    """`06:00` in the operator's zone; with the date when it is not within a day."""
    local = moment.astimezone(now.tzinfo)
    near = 0 <= (moment - now).total_seconds() < 86400
    return local.strftime("%H:%M" if near else "%m-%d %H:%M")


def paused_until(doc: dict[str, Any], now: datetime) -> str | None:
    """`paused until 06:00 (in 1h 20m)`, or None when not paused with a window."""
    moment = resume_at(doc)
    if moment is None:
        return None
    return f"paused until {format_moment(moment, now)} ({format_until(moment, now)})"


def scheduled_runs(runs: list[dict[str, Any]], deployment: str) -> list[dict[str, Any]]:
    """The deployment's runs that are Scheduled now (as far as the mirror shows them)."""
    return [
        run
        for run in runs
        if run.get("deployment_name") == deployment and run.get("state_type") == "SCHEDULED"
    ]
