"""Mirrors Prefect's work pools, queues, workers and concurrency limits into `{p}:pools`."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from prefect.client.orchestration import PrefectClient, get_client
from prefect.client.schemas import objects
from prefect.client.schemas.filters import (
    FlowRunFilter,
    FlowRunFilterState,
    FlowRunFilterStateName,
    FlowRunFilterStateType,
    WorkPoolFilter,
    WorkPoolFilterName,
    WorkQueueFilter,
    WorkQueueFilterName,
)
from prefect.client.schemas.objects import StateType

from engine.contract import documents as docs
from engine.contract.times import utc_now_iso
from engine.store.off_loop import EngineStore

logger = logging.getLogger("aiwf.engine.pools")

POOLS_READ_SECONDS = 3.0
"""How often the pools view is re-read: a worker's status and a queue's late runs change
without an event the bridge follows, and a poll of a few small lists is cheap."""

_LATE = FlowRunFilter(state=FlowRunFilterState(name=FlowRunFilterStateName(any_=["Late"])))
_BUSY = FlowRunFilter(
    state=FlowRunFilterState(
        type=FlowRunFilterStateType(any_=[StateType.PENDING, StateType.RUNNING])
    )
)


def worker_doc(worker: objects.Worker) -> docs.Worker:
    beat = worker.last_heartbeat_time
    host, sep, _ = worker.name.partition(":")
    return docs.Worker(
        name=worker.name,
        status=str(worker.status.value if worker.status else ""),
        last_heartbeat=beat.isoformat() if beat else None,
        host=host if sep else "",
    )


async def _count(
    prefect: PrefectClient, runs: FlowRunFilter, pool: str, queue: str | None = None
) -> int:
    return await prefect.count_flow_runs(
        flow_run_filter=runs,
        work_pool_filter=WorkPoolFilter(name=WorkPoolFilterName(any_=[pool])),
        work_queue_filter=(
            WorkQueueFilter(name=WorkQueueFilterName(any_=[queue])) if queue else None
        ),
    )


async def queue_doc(prefect: PrefectClient, pool: str, queue: objects.WorkQueue) -> docs.WorkQueue:
    return docs.WorkQueue(
        name=queue.name,
        paused=queue.is_paused,
        concurrency_limit=queue.concurrency_limit,
        status=str(queue.status.value if queue.status else ""),
        late_runs=await _count(prefect, _LATE, pool, queue.name),
    )


async def pool_doc(prefect: PrefectClient, pool: objects.WorkPool) -> docs.WorkPool:
    queues = await prefect.read_work_queues(work_pool_name=pool.name)
    workers = await prefect.read_workers_for_work_pool(pool.name)
    return docs.WorkPool(
        name=pool.name,
        type=pool.type,
        paused=pool.is_paused,
        status=str(pool.status.value if pool.status else ""),
        concurrency_limit=pool.concurrency_limit,
        running=await _count(prefect, _BUSY, pool.name),
        late_runs=await _count(prefect, _LATE, pool.name),
        queues=[await queue_doc(prefect, pool.name, q) for q in queues],
        workers=sorted((worker_doc(w) for w in workers), key=lambda w: w.name),
    )


async def read_pools(prefect: PrefectClient) -> docs.Pools:
    """Every work pool with its queues and workers, and every concurrency limit."""
    pools = [await pool_doc(prefect, p) for p in await prefect.read_work_pools()]
    limits = [
        docs.ConcurrencyLimit(
            name=limit.name,
            kind="global",
            limit=limit.limit,
            occupied=limit.active_slots,
            active=limit.active,
        )
        for limit in await prefect.read_global_concurrency_limits(limit=200)
    ]
    limits += [
        docs.ConcurrencyLimit(
            name=limit.tag,
            kind="tag",
            limit=limit.concurrency_limit,
            occupied=len(limit.active_slots),
        )
        for limit in await prefect.read_concurrency_limits(limit=200, offset=0)
    ]
    return docs.Pools(
        pools=sorted(pools, key=lambda p: p.name),
        limits=sorted(limits, key=lambda c: (c.kind, c.name)),
        read_at=utc_now_iso(),
    )


async def every(
    interval: float, step: Callable[[PrefectClient], Awaitable[object]], what: str
) -> None:
    """Runs `step` every `interval` seconds until cancelled; a failure (Prefect away) is
    logged as not being able to `what`, and tried again next time."""
    async with get_client() as prefect:
        while True:
            try:
                await step(prefect)
            except Exception as exc:
                logger.warning("could not %s: %s", what, exc)
            await asyncio.sleep(interval)


async def mirror_pools(store: EngineStore, interval: float = POOLS_READ_SECONDS) -> None:
    """The leader's loop that keeps `{p}:pools` a few seconds behind Prefect."""

    async def step(prefect: PrefectClient) -> None:
        pools = await read_pools(prefect)
        await store.call(store.mirror.write_pools, pools)

    await every(interval, step, "read the work pools from Prefect")
