"""Backfill: one flow run of a deployment per fire time of a past window, never more than
`max_concurrent` of them unfinished at once.

The `backfill` command (engine/commands/executor.py) checks the window with
`engine.contract.fire_times.plan_backfill`, answers at once, and leaves the runs to `run_backfill`,
which creates the next run only when one of its earlier runs has finished. Each run is
tagged `backfill:<fire time>` (the lineage trigger reads it) and `triggered-by:<user>`, and
computes that fire time: its `logical_date` parameter resolves the deployment's `{date:FMT}`
templates and names the partition it writes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID

from prefect.client.orchestration import PrefectClient
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

from engine.contract.commands import Command
from engine.contract.documents import FINAL_STATE_TYPES
from engine.contract.fire_times import BACKFILL_TAG_PREFIX, BackfillPlan
from engine.contract.identity import triggered_by_tag
from engine.contract.logical_date import LOGICAL_DATE_PARAM

logger = logging.getLogger("aiwf.engine.backfill")

POLL_SECONDS = 1.0
"""How often the states of a full batch of backfill runs are read while it waits."""

T = TypeVar("T")


async def run_limited(
    items: Sequence[T],
    limit: int,
    create: Callable[[T], Awaitable[str]],
    unfinished: Callable[[list[str]], Awaitable[list[str]]],
    poll_seconds: float = POLL_SECONDS,
) -> list[str]:
    """Calls `create` for each item in order, with at most `limit` created ids unfinished.

    `unfinished(ids)` returns those of `ids` that have not finished. Returns every created
    id, in item order.
    """
    created: list[str] = []
    active: list[str] = []
    for item in items:
        while len(active) >= limit:
            active = await unfinished(active)
            if len(active) >= limit:
                await asyncio.sleep(poll_seconds)
        run_id = await create(item)
        created.append(run_id)
        active.append(run_id)
    return created


async def run_backfill(
    prefect: PrefectClient,
    command: Command,
    deployment_id: str,
    parameters: dict[str, Any],
    plan: BackfillPlan,
    on_run_changed: Callable[[PrefectClient, str], Awaitable[Any]],
) -> list[str]:
    """Creates the plan's runs under its concurrency limit; returns their ids.

    Errors are logged, not raised: the command's result was sent already.
    """

    async def create(fire: datetime) -> str:
        run = await prefect.create_flow_run_from_deployment(
            UUID(deployment_id),
            # The run computes its fire time's date (engine/pipeline/run_date.py).
            parameters=parameters | {LOGICAL_DATE_PARAM: fire.isoformat()},
            # Redelivered commands, or a retried create, must not start a fire time twice.
            idempotency_key=f"aiwf-backfill-{command.id}-{fire.isoformat()}",
            tags=[
                triggered_by_tag(command.identity),
                f"{BACKFILL_TAG_PREFIX}{fire.isoformat()}",
            ],
        )
        await on_run_changed(prefect, str(run.id))
        logger.info("backfill %s: run %s for fire time %s", command.id, run.name, fire.isoformat())
        return str(run.id)

    async def unfinished(ids: list[str]) -> list[str]:
        runs = await prefect.read_flow_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[UUID(i) for i in ids]))
        )
        final = {str(r.id) for r in runs if r.state and r.state.type.value in FINAL_STATE_TYPES}
        return [i for i in ids if i not in final]

    try:
        created = await run_limited(plan.fires, plan.max_concurrent, create, unfinished)
    except Exception:
        logger.exception("backfill %s of %s stopped", command.id, command.target)
        return []
    logger.info("backfill %s of %s: all %d runs created", command.id, command.target, len(created))
    return created
