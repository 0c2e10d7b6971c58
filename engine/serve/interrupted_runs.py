"""Runs of the deployments this engine serves that an engine stop or a dead process
interrupted: put back as AwaitingRetry, so a runner (the next engine's, or a standby's) runs
them again instead of leaving them Cancelled or Running for good.

Two ways a served run is interrupted:

- **The engine stops mid-run** (a restart, an upgrade). Prefect's runner cancels the runs it
  holds as it stops (`Cancelled`, "Runner is shutting down."): no operator asked for that,
  and the audit trail would show no one who did. `hand_back_stopped_runs` retries them.
- **A run's process is gone without a word**: the engine was stopped while the run was
  being submitted (its process started, said Running, and died with the stop), the process
  was killed, or the host went. Prefect keeps such a run Pending or Running for good, and no
  runner asks for it again: runners ask for Scheduled runs. Every run a runner starts sends a
  heartbeat event every `HEARTBEAT_SECONDS` (Prefect's minimum); the leader's
  `watch_silent_runs` finds served runs Pending or Running longer than `silent_seconds` with
  no heartbeat in that time, sets each Crashed, then AwaitingRetry. A run left Cancelling
  (an operator's cancel that no runner was left to carry out: the engine stopped or died
  first) is set Cancelled instead, as asked; not run again.

Task results persisted on storage are reused by the retry (engine/pipeline/tasks.py). Each
retry is audited as the user `engine` (engine/serve/engine_retry.py).
Deployments on work pools are not here: their workers' heartbeats say when a host is lost
(engine/serve/lost_runs.py).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from datetime import datetime, timedelta, timezone
from uuid import UUID

from prefect.client.orchestration import PrefectClient
from prefect.client.schemas.filters import (
    FlowRunFilter,
    FlowRunFilterDeploymentId,
    FlowRunFilterEndTime,
    FlowRunFilterState,
    FlowRunFilterStateType,
)
from prefect.client.schemas.objects import FlowRun, StateType
from prefect.events.filters import (
    EventFilter,
    EventNameFilter,
    EventOccurredFilter,
    EventResourceFilter,
)
from prefect.states import Cancelled

from engine.bridge.pools import every
from engine.bridge.prefect_to_redis import HEARTBEAT_EVENT
from engine.config.registry import Registry
from engine.serve.engine_retry import AuditRetry, crash_and_retry, retry

logger = logging.getLogger("aiwf.engine.interrupted_runs")

HEARTBEAT_SECONDS = 30
"""How often a served run's process says it is alive (Prefect does not go below 30 s)."""
SILENT_SECONDS_ENV = "AIWF_SILENT_RUN_SECONDS"
SILENT_SECONDS = 100.0
"""A served run Pending or Running this long with no heartbeat is taken as lost: three
missed heartbeats and the seconds the server takes to store an event. Sooner would retry
a run whose process is alive but slow to report; later leaves a lost run shown Running."""
SILENT_CHECK_SECONDS = 10.0
RUNNER_SHUTDOWN_MESSAGE = "Runner is shutting down."
"""The message Prefect's runner gives the runs it cancels as it stops (`cancel_all`)."""
INTERRUPTED = (StateType.PENDING, StateType.RUNNING)
SILENT_STATES = (*INTERRUPTED, StateType.CANCELLING)


def silent_seconds() -> float:
    """`SILENT_SECONDS`, or the operator's `AIWF_SILENT_RUN_SECONDS` if it is a number of
    seconds above `HEARTBEAT_SECONDS` (less would take live runs between two heartbeats
    as lost)."""
    configured = os.environ.get(SILENT_SECONDS_ENV, "")
    if not configured:
        return SILENT_SECONDS
    try:
        seconds = float(configured)
    except ValueError:
        seconds = 0.0
    if seconds > HEARTBEAT_SECONDS:
        return seconds
    logger.warning(
        "%s=%r is not a number of seconds above %d (a run's heartbeat interval); using %.0f",
        SILENT_SECONDS_ENV,
        configured,
        HEARTBEAT_SECONDS,
        SILENT_SECONDS,
    )
    return SILENT_SECONDS


def served_ids(registry: Registry) -> list[UUID]:
    """The deployments this installation's runners execute (not those on a work pool)."""
    return [UUID(d.id) for d in registry.by_name.values() if not d.spec.work_pool]


def _served_runs_filter(
    registry: Registry, states: Iterable[StateType], ended_after: datetime | None = None
) -> FlowRunFilter | None:
    ids = served_ids(registry)
    if not ids:
        return None
    return FlowRunFilter(
        deployment_id=FlowRunFilterDeploymentId(any_=ids),
        state=FlowRunFilterState(type=FlowRunFilterStateType(any_=list(states))),
        end_time=(
            FlowRunFilterEndTime(after_=ended_after)  # type: ignore[arg-type]  # a datetime
            if ended_after
            else None
        ),
    )


async def hand_back_stopped_runs(
    prefect: PrefectClient,
    registry: Registry,
    stop_began: datetime,
    engine: str,
    audit: AuditRetry | None = None,
) -> list[str]:
    """Retries the served runs the runner cancelled as this engine stopped; their ids."""
    run_filter = _served_runs_filter(registry, [StateType.CANCELLED], ended_after=stop_began)
    if run_filter is None:
        return []
    handed: list[str] = []
    for run in await prefect.read_flow_runs(flow_run_filter=run_filter):
        if run.state is None or run.state.message != RUNNER_SHUTDOWN_MESSAGE:
            continue  # an operator's cancel, not the stop's
        message = f"engine {engine} stopped while it ran; run again by the next engine"
        await retry(prefect, run, message, audit)
        logger.warning("run %s: %s", run.name, message)
        handed.append(str(run.id))
    return handed


async def recover_silent_runs(
    prefect: PrefectClient, registry: Registry, silent_for: float, audit: AuditRetry | None = None
) -> list[str]:
    """Crashes and retries served runs Pending or Running with no heartbeat for
    `silent_for` seconds, and sets those left Cancelling Cancelled; their ids."""
    run_filter = _served_runs_filter(registry, SILENT_STATES)
    if run_filter is None:
        return []
    since = datetime.now(timezone.utc) - timedelta(seconds=silent_for)
    recovered: list[str] = []
    for run in await prefect.read_flow_runs(flow_run_filter=run_filter):
        if not _in_state_since_before(run, since) or await _heard_from(prefect, run, since):
            continue
        state = run.state.name if run.state else "?"
        if run.state is not None and run.state.type == StateType.CANCELLING:
            await _finish_cancel(prefect, run, silent_for)
            recovered.append(str(run.id))
            continue
        message = (
            f"no heartbeat from its process for {silent_for:.0f} s while {state} "
            "(it ended with an engine stop, was killed, or its host was lost)"
        )
        await crash_and_retry(prefect, run, message, f"{message}; run again", audit)
        logger.warning("run %s: %s; run again", run.name, message)
        recovered.append(str(run.id))
    return recovered


async def _finish_cancel(prefect: PrefectClient, run: FlowRun, silent_for: float) -> None:
    """Sets a run its process left Cancelling Cancelled: nothing runs it any more, and the
    cancel was asked for (audited when it was); the screen would say Cancelling for good."""
    message = (
        f"cancelled: no heartbeat from its process for {silent_for:.0f} s while Cancelling "
        "(it ended with an engine stop, was killed, or its host was lost)"
    )
    await prefect.set_flow_run_state(run.id, Cancelled(message=message), force=True)
    logger.warning("run %s: %s", run.name, message)


def _in_state_since_before(run: FlowRun, since: datetime) -> bool:
    return run.state is not None and run.state.timestamp < since


async def _heard_from(prefect: PrefectClient, run: FlowRun, since: datetime) -> bool:
    page = await prefect.read_events(
        filter=EventFilter(
            occurred=EventOccurredFilter(since=since),  # type: ignore[arg-type]  # a datetime
            event=EventNameFilter(name=[HEARTBEAT_EVENT]),
            resource=EventResourceFilter(id=[f"prefect.flow-run.{run.id}"]),
        ),
        limit=1,
    )
    return bool(page.events)


async def watch_silent_runs(
    registry: Registry, silent_for: float, audit: AuditRetry | None = None
) -> None:
    """The leader's loop over `recover_silent_runs`."""

    async def step(prefect: PrefectClient) -> None:
        await recover_silent_runs(prefect, registry, silent_for, audit)

    await every(SILENT_CHECK_SECONDS, step, "check served runs for lost processes")
