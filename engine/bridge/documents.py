"""Builds the typed Redis documents (engine/contract/documents.py) from Prefect objects and
events."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from prefect.client.schemas.objects import (
    DeploymentStatus,
    FlowRun,
    Log,
    State,
    StateType,
    TaskRun,
)
from prefect.client.schemas.responses import DeploymentResponse
from prefect.client.schemas.schedules import CronSchedule
from prefect.events import Event

from engine.config.loader import DeploymentSpec
from engine.config.registry import ForeignDeployment
from engine.contract import documents
from engine.contract.documents import FINAL_STATE_TYPES, RunSummary
from engine.contract.fire_times import next_fires
from engine.contract.secrets import (
    mask_parameters,
    scrub,
    secret_names_in_schema,
    secret_values,
)
from engine.contract.times import utc_now_iso

SCHEDULED_HORIZON = timedelta(minutes=10)
"""Scheduled runs further out than this are Prefect's look-ahead, not news: not mirrored.
The console computes upcoming fire times from the cron itself."""


def iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    if value.tzinfo is timezone.utc or getattr(value.tzinfo, "name", "") == "UTC":
        # Already UTC (Prefect's pendulum times are): datetime's own isoformat, without
        # pendulum's astimezone and isoformat, a third of a log line's cost in the bridge.
        return datetime.isoformat(value)
    return value.astimezone(timezone.utc).isoformat()


def _seconds(value: Any) -> float:
    if value is None:
        return 0.0
    if isinstance(value, timedelta):
        return value.total_seconds()
    return float(value)


def flow_run_doc(
    run: FlowRun,
    deployment_name: str,
    flow_name: str = "",
    secret: frozenset[str] = frozenset(),
) -> documents.FlowRun:
    """The run as Redis keeps it; the `secret` parameters as fingerprints (their values
    scrubbed from the state message too: a failure may quote one)."""
    state = run.state
    hidden = secret_values(run.parameters or {}, secret)
    return documents.FlowRun(
        id=str(run.id),
        name=run.name,
        deployment_id=str(run.deployment_id) if run.deployment_id else "",
        deployment_name=deployment_name,
        flow_name=flow_name,
        state_type=state.type.value if state else "",
        state_name=(state.name or "") if state else "",
        state_message=scrub((state.message or "") if state else "", hidden),
        parameters=mask_parameters(run.parameters or {}, secret),
        run_count=run.run_count,
        expected_start_time=iso(run.expected_start_time),
        start_time=iso(run.start_time),
        end_time=iso(run.end_time),
        total_run_time=_seconds(run.total_run_time),
        attempt_start_time=attempt_start(run),
        tags=list(run.tags or []),
        created=iso(run.created),
        # Prefect's `updated` moves on every write; the state timestamp orders state changes.
        updated=iso(state.timestamp if state else run.updated),
    )


def attempt_start(run: FlowRun) -> str | None:
    """When the run's latest attempt began, if the run itself says.

    Prefect's `start_time` is the first attempt's and `total_run_time` the sum of every
    attempt; a retried run's own duration needs the latest attempt's start. Running: the
    RUNNING state's time (the mirror keeps the first one it saw for an attempt, so a resume
    after a pause does not restart it). A first attempt: `start_time`. Otherwise None: the
    bridge reads the state history (`latest_attempt_start`).
    """
    state = run.state
    if state is not None and state.type == StateType.RUNNING:
        return iso(state.timestamp)
    if (run.run_count or 0) <= 1:
        return iso(run.start_time)
    return None


def latest_attempt_start(states: Iterable[State]) -> datetime | None:
    """The time of the RUNNING state that began the latest attempt (a RUNNING state that
    follows a PAUSED one is a resume of the same attempt), or None if it never ran."""
    start: datetime | None = None
    previous: StateType | None = None
    same_attempt = (StateType.RUNNING, StateType.PAUSED)
    for state in sorted(states, key=lambda s: s.timestamp):
        if state.type == StateType.RUNNING and previous not in same_attempt:
            start = state.timestamp
        previous = state.type
    return start


def worth_mirroring(doc: documents.FlowRun, now: datetime | None = None) -> bool:
    """False for auto-scheduled runs far in the future (Prefect schedules ~100 ahead)."""
    if doc.state_type != "SCHEDULED":
        return True
    expected = doc.expected_start_time
    if not expected:
        return True
    moment = datetime.fromisoformat(expected)
    return moment <= (now or datetime.now(timezone.utc)) + SCHEDULED_HORIZON


def task_run_doc(run: TaskRun) -> documents.TaskRun:
    state = run.state
    return documents.TaskRun(
        id=str(run.id),
        flow_run_id=str(run.flow_run_id) if run.flow_run_id else "",
        name=run.name,
        task_key=run.task_key,
        state_type=state.type.value if state else "",
        state_name=(state.name or "") if state else "",
        state_message=(state.message or "") if state else "",
        run_count=run.run_count,
        # Which attempt of the flow run this task run belongs to (0 until it starts).
        attempt=run.flow_run_run_count,
        start_time=iso(run.start_time),
        end_time=iso(run.end_time),
        total_run_time=_seconds(run.total_run_time),
        updated=iso(state.timestamp if state else run.updated),
    )


def task_run_doc_from_event(event: Event) -> documents.TaskRun | None:
    """The task run document carried by a `prefect.task-run.*` event.

    Task run states are written by the client as events; the server records them
    asynchronously, so the event itself is the freshest source.
    """
    payload = event.payload or {}
    task_run = payload.get("task_run") or {}
    validated = payload.get("validated_state") or {}
    flow_run_id = next((r.id.rsplit(".", 1)[-1] for r in event.related if r.role == "flow-run"), "")
    if not flow_run_id:
        return None
    state_type = str(validated.get("type") or event.resource.get("prefect.state-type") or "")
    start = task_run.get("start_time")
    end = task_run.get("end_time")
    occurred = iso(event.occurred)
    if state_type == "RUNNING" and not start:
        start = occurred
    if state_type in FINAL_STATE_TYPES and not end:
        end = occurred
    total = _seconds(task_run.get("total_run_time"))
    if start and end and not total:
        total = (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()
    return documents.TaskRun(
        id=event.resource.id.rsplit(".", 1)[-1],
        flow_run_id=flow_run_id,
        name=str(task_run.get("name") or event.resource.get("prefect.resource.name") or ""),
        task_key=str(task_run.get("task_key", "")),
        state_type=state_type,
        state_name=str(validated.get("name") or event.resource.get("prefect.state-name")),
        state_message=str(validated.get("message") or ""),
        run_count=int(task_run.get("run_count") or event.resource.get("prefect.run-count") or 0),
        attempt=int(task_run.get("flow_run_run_count") or 0),
        start_time=start,
        end_time=end,
        total_run_time=total,
        updated=occurred,
    )


def log_fields(log: Log, log_id: str | None = None) -> documents.LogLine:
    """The line of `log` (`log_id`: its id as text, when the caller has it already)."""
    return documents.LogLine(
        ts=iso(log.timestamp) or "",
        level=str(log.level),
        level_name=_level_name(log.level),
        task_run_id=str(log.task_run_id) if log.task_run_id else "",
        logger=log.name,
        msg=log.message,
        log_id=(str(log.id) if log.id else "") if log_id is None else log_id,
    )


def _level_name(level: int) -> str:
    for threshold, name in (
        (50, "CRITICAL"),
        (40, "ERROR"),
        (30, "WARNING"),
        (20, "INFO"),
        (10, "DEBUG"),
    ):
        if level >= threshold:
            return name
    return "NOTSET"


def next_fire_times(
    cron: str, tz_name: str, count: int = 5, now: datetime | None = None
) -> list[str]:
    """The next `count` fire times, UTC ISO, DST handled as everywhere (`fires_after`); fewer
    (none) for a cron that stops (never) firing: the loader refuses one that never fires, and
    this stays safe for one that slips through, since it runs for every deployment document."""
    fires = next_fires(cron, ZoneInfo(tz_name), now or datetime.now(timezone.utc), count)
    return [iso(fire) or "" for fire in fires]


def deployment_doc(
    spec: DeploymentSpec,
    deployment_id: str,
    paused: bool,
    parameters: dict[str, Any],
    last_run: RunSummary | None,
    *,
    parameter_schema: dict[str, Any] | None = None,
    resume_at: str | None = None,
    polled: bool | None = None,
) -> documents.Deployment:
    """`polled`: Prefect's readiness, for a deployment on a work pool (its workers, not
    this engine, take its runs); None for one this engine serves."""
    return documents.Deployment(
        id=deployment_id,
        name=spec.name,
        flow_name=spec.flow_name,
        version=spec.version,
        description=spec.description,
        cron=spec.cron,
        timezone=spec.timezone,
        paused=paused,
        protected=spec.protected,
        parameters=parameters,
        secret_parameters=sorted(spec.secret_parameters),
        next_fire_times=[] if paused else next_fire_times(spec.cron, spec.timezone),
        last_run=last_run,
        config_path=str(spec.path),
        updated=utc_now_iso(),
        parameter_schema=parameter_schema or {},
        resume_at=resume_at if paused else None,
        work_pool=spec.work_pool,
        work_queue=spec.work_queue,
        # Its runs go to the pool's workers, not to this engine (issue 11 items 2 and 3).
        served_by=(
            documents.POOL_PREFIX + spec.work_pool if spec.work_pool else documents.SERVED_BY_ENGINE
        ),
        polled=polled if spec.work_pool else None,
    )


def foreign_deployment_doc(
    foreign: ForeignDeployment,
    api: DeploymentResponse,
    last_run: RunSummary | None,
    *,
    resume_at: str | None = None,
) -> documents.Deployment:
    """The document of a deployment this engine lists but does not serve."""
    cron, zone = first_cron(api)
    paused = bool(api.paused)
    return documents.Deployment(
        id=foreign.id,
        name=foreign.name,
        flow_name=foreign.flow_name,
        version=api.version or "",
        description=api.description or "",
        cron=cron,
        timezone=zone,
        paused=paused,
        protected=foreign.protected,
        # Someone else's secret marks are in the schema Prefect holds (a deployment this
        # engine registered elsewhere, or any flow with SecretStr-style fields).
        parameters=mask_parameters(
            api.parameters or {}, secret_names_in_schema(api.parameter_openapi_schema or {})
        ),
        next_fire_times=[] if paused or not cron else next_fire_times(cron, zone),
        last_run=last_run,
        updated=utc_now_iso(),
        parameter_schema=foreign.parameter_schema,
        resume_at=resume_at if paused else None,
        served_by=foreign.served_by,
        polled=is_polled(api),
        managed=False,
        records_lineage=False,
    )


def first_cron(api: DeploymentResponse) -> tuple[str, str]:
    """(cron, time zone) of the deployment's first active cron schedule, or ("", "UTC")."""
    for entry in api.schedules or []:
        schedule = entry.schedule
        if entry.active and isinstance(schedule, CronSchedule):
            return schedule.cron, schedule.timezone or "UTC"
    return "", "UTC"


def is_polled(api: DeploymentResponse) -> bool | None:
    """Whether a runner or worker polled the deployment lately, as Prefect's status says."""
    if api.status is None:
        return None
    return api.status == DeploymentStatus.READY


def served_by(api: DeploymentResponse) -> str:
    """`pool:<name>` for a deployment on a work pool, else `serve` (a Runner polls it)."""
    pool = api.work_pool_name
    return f"{documents.POOL_PREFIX}{pool}" if pool else documents.SERVED_BY_SERVE
