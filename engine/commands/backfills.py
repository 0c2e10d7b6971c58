"""Backfills in the background: each noted in `{p}:backfills` until every run is created,
so an engine that stops halfway (or a new leader) resumes it when it starts."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timezone
from typing import Any

from prefect.client.orchestration import PrefectClient

from engine.commands import validation
from engine.commands.backfill import run_backfill
from engine.commands.validation import CommandRejected
from engine.config.registry import Registry
from engine.contract.commands import Command, decode_command
from engine.contract.fire_times import BackfillPlan
from engine.store.off_loop import EngineStore

logger = logging.getLogger("aiwf.engine.commands")


class Backfills:
    """The backfills this engine runs, by command id (kept referenced so they are not
    collected); `start` one, `resume` those a previous engine left unfinished."""

    def __init__(
        self,
        store: EngineStore,
        registry: Registry,
        on_run_changed: Callable[[PrefectClient, str], Awaitable[Any]],
    ) -> None:
        self.client, self.keys, self.call = store.client, store.keys, store.call
        self.registry = registry
        self.on_run_changed = on_run_changed
        self.tasks: dict[str, asyncio.Task[None]] = {}

    async def start(
        self,
        prefect: PrefectClient,
        command: Command,
        deployment_id: str,
        parameters: dict[str, Any],
        plan: BackfillPlan,
    ) -> None:
        """Runs the backfill in the background, noted in `{p}:backfills` until every run
        is created, so an engine that stops halfway resumes it when it starts again."""
        if command.id in self.tasks:
            return  # a redelivered command, or resumed already
        await self.call(
            self.client.hset, self.keys.backfills, command.id, json.dumps(command.to_fields())
        )

        async def backfill() -> None:
            await run_backfill(
                prefect, command, deployment_id, parameters, plan, self.on_run_changed
            )
            # Reached when every run was created or the backfill failed (logged): either
            # way, nothing to resume. A stopping engine cancels this task before it.
            await self.call(self.client.hdel, self.keys.backfills, command.id)

        task = asyncio.create_task(backfill())
        self.tasks[command.id] = task
        task.add_done_callback(lambda _: self.tasks.pop(command.id, None))

    async def resume(self, prefect: PrefectClient) -> None:
        """Restarts the backfills a previous engine left unfinished. Runs it created
        already are found again by their idempotency keys, never created twice."""
        entries: Any = await self.call(self.client.hgetall, self.keys.backfills)
        for raw_id, raw in entries.items():
            command_id = raw_id.decode(errors="replace")
            try:
                command = decode_command(json.loads(raw), command_id)
                deployment = validation.served(self.registry, command.target)
                plan = validation.backfill_plan(
                    deployment, command.params, datetime.now(timezone.utc)
                )
            except (ValueError, TypeError, AttributeError, RecursionError, CommandRejected) as exc:
                # Garbage in our own key (`[1,2]`, not JSON): skip it, never exit.
                logger.warning(
                    "not resuming backfill %s: %s[%s]: %s",
                    command_id,
                    self.keys.backfills,
                    command_id,
                    exc,
                )
                await self.call(self.client.hdel, self.keys.backfills, raw_id)
                continue
            logger.info("resuming backfill %s of %s", command_id, command.target)
            await self.start(prefect, command, deployment.id, deployment.parameters, plan)
