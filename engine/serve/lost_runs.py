"""Runs lost with their worker host: marked Crashed, then retried on another worker.

A process worker whose host dies takes its flow run's process with it, and Prefect keeps the
run Running for good (nothing reports its end). When Prefect marks the worker OFFLINE (it
missed its heartbeats), the leader finds the pool's Pending/Running runs that worker
submitted (the `prefect.worker.name` label the worker gives a run once its Pending state is
accepted), sets each Crashed ("worker NAME went offline"), and, for a deployment this engine
registered on the pool, puts it back as AwaitingRetry, which any online worker of the pool
picks up. Task results persisted on shared storage are reused by the retry.
"""

from __future__ import annotations

import logging

from prefect.client.orchestration import PrefectClient
from prefect.client.schemas.filters import (
    FlowRunFilter,
    FlowRunFilterState,
    FlowRunFilterStateType,
    WorkPoolFilter,
    WorkPoolFilterName,
)
from prefect.client.schemas.objects import FlowRun, StateType

from engine.bridge.pools import every
from engine.config.registry import Registry
from engine.serve.engine_retry import AuditRetry, crash_and_retry

logger = logging.getLogger("aiwf.engine.lost_runs")

LOST_RUNS_SECONDS = 3.0


WORKER_LABEL = "prefect.worker.name"


def submitting_worker(run: FlowRun) -> str:
    """The name of the worker that last submitted `run`; "" if none did (yet).

    From the label the worker sets after the server accepted its Pending state, not from the
    run's log: two workers polling at once both log `Worker 'NAME' submitting flow run`, and
    the one whose Pending was refused ("Aborted submission") logged last as often as not. A
    run taken from its live process for a worker that never ran it would run twice.
    """
    return str((run.labels or {}).get(WORKER_LABEL, ""))


async def recover_lost_runs(
    prefect: PrefectClient, registry: Registry, audit: AuditRetry | None = None
) -> list[str]:
    """Crashes (and retries, for our pool deployments) the runs of offline workers; returns
    their ids."""
    recovered: list[str] = []
    for pool in await prefect.read_work_pools():
        workers = await prefect.read_workers_for_work_pool(pool.name)
        offline = {w.name for w in workers if w.status and w.status.value == "OFFLINE"}
        if not offline:
            continue
        runs = await prefect.read_flow_runs(
            flow_run_filter=FlowRunFilter(
                state=FlowRunFilterState(
                    type=FlowRunFilterStateType(any_=[StateType.PENDING, StateType.RUNNING])
                )
            ),
            work_pool_filter=WorkPoolFilter(name=WorkPoolFilterName(any_=[pool.name])),
        )
        for run in runs:
            worker = submitting_worker(run)
            if worker not in offline:
                continue
            message = f"worker {worker} of pool {pool.name} went offline (its host was lost)"
            ours = bool(run.deployment_id and registry.name_of(str(run.deployment_id)))
            retried = f"{message}; retried on another worker" if ours else None
            await crash_and_retry(prefect, run, message, retried, audit)
            logger.warning("run %s: %s; %s", run.name, message, "retried" if ours else "Crashed")
            recovered.append(str(run.id))
    return recovered


async def watch_lost_runs(
    registry: Registry, audit: AuditRetry | None = None, interval: float = LOST_RUNS_SECONDS
) -> None:
    """The leader's loop over `recover_lost_runs`."""

    async def step(prefect: PrefectClient) -> None:
        await recover_lost_runs(prefect, registry, audit)

    await every(interval, step, "check for runs of offline workers")
