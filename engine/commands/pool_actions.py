"""Pause and resume of a Prefect work pool or one of its queues (`pause_pool`, `resume_pool`)."""

from __future__ import annotations

from prefect.client.orchestration import PrefectClient
from prefect.client.schemas.actions import WorkPoolUpdate
from prefect.exceptions import ObjectNotFound

from engine.commands.validation import CommandRejected
from engine.contract.commands import Command, pool_target


async def set_paused(prefect: PrefectClient, command: Command) -> tuple[str, str]:
    """Pauses (`pause_pool`) or resumes (`resume_pool`) the pool or `pool/queue` it names.

    A paused pool or queue hands no run to its workers; runs already running go on."""
    paused = command.action == "pause_pool"
    pool, queue = pool_target(command.target)
    verb = "paused" if paused else "resumed"
    try:
        if not queue:
            await prefect.update_work_pool(pool, WorkPoolUpdate(is_paused=paused))
            effect = "its workers get no new runs" if paused else "its workers take runs again"
            return f"{verb} work pool {pool}: {effect}", ""
        found = await prefect.read_work_queue_by_name(queue, work_pool_name=pool)
        await prefect.update_work_queue(found.id, is_paused=paused)
    except ObjectNotFound:
        what = f"work queue {queue!r} in pool {pool!r}" if queue else f"work pool {pool!r}"
        raise CommandRejected(f"no {what} in Prefect; see the work pools screen (w)") from None
    effect = "its runs wait" if paused else "its runs go to workers again"
    return f"{verb} work queue {queue} of pool {pool}: {effect}", ""
