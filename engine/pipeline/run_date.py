"""The logical date of the flow run this process executes, in its deployment's zone.

Templating happens here, inside the run, and not when the engine creates a run: Prefect's
own scheduler creates the scheduled runs from the deployment's stored parameters (the
engine never sees them before they start), and a retry reruns the same flow run with the
same parameters. So the flow resolves `{date:FMT}` itself, from one rule:

- the `logical_date` parameter when set: the engine sets it on every trigger (now, or the
  operator's `--date`) and on each backfill run (its fire time);
- else the run's `expected_start_time`: for a run Prefect scheduled, the schedule's fire
  time. Prefect sets it once, from the run's first state, so a retry hours later keeps it.

Both are read in the zone of the deployment's cron schedule (UTC outside Prefect).
"""

from __future__ import annotations

from datetime import datetime, timezone

from engine.contract.logical_date import in_zone, parse_logical_date


def run_logical_date(logical_date: str) -> datetime:
    """This run's logical datetime in its deployment's zone.

    Raises:
        ValueError: `logical_date` is set but is not a date (the message says what to write).
    """
    from prefect.context import FlowRunContext

    ctx = FlowRunContext.get()
    flow_run = ctx.flow_run if ctx else None
    zone = _deployment_zone(flow_run.deployment_id if flow_run else None)
    if logical_date:
        return parse_logical_date(logical_date, zone)
    if flow_run is not None and flow_run.expected_start_time is not None:
        return in_zone(flow_run.expected_start_time, zone)
    return in_zone(datetime.now(timezone.utc), zone)


def _deployment_zone(deployment_id: object) -> str:
    """The time zone of the deployment's cron schedule; UTC without one."""
    if deployment_id is None:
        return "UTC"
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        deployment = client.read_deployment(deployment_id)  # type: ignore[arg-type]
    for schedule in deployment.schedules or []:
        zone = getattr(schedule.schedule, "timezone", None)
        if zone:
            return str(zone)
    return "UTC"
