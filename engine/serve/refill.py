"""Refills a Redis that came back empty: deployments, recent runs, task runs, logs, audit.

The marker is `{p}:engine:info`, which the engine writes at start and nothing else
removes: if it is missing while the engine runs, Redis lost its data (a restart without its
AOF, a FLUSHALL). The mirror is then written again from Prefect (the bridge's reconcile with
logs) and the audit stream and recent results from the engine's audit file.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import redis
from prefect.client.orchestration import PrefectClient, get_client

from engine.bridge.prefect_to_redis import Bridge
from engine.store.off_loop import EngineStore

logger = logging.getLogger("aiwf.engine.refill")

CHECK_SECONDS = 2.0
"""How often the engine looks for its marker key."""


@dataclass
class Refiller:
    store: EngineStore
    bridge: Bridge
    engine_info: dict[str, str]
    """What `{p}:engine:info` holds; written last, so a refill cut short is tried again."""
    write_deployments: Callable[[PrefectClient], Awaitable[None]]

    async def mark(self) -> None:
        await self.store.call(
            self.store.client.set, self.store.keys.engine_info, json.dumps(self.engine_info)
        )

    async def emptied(self) -> bool:
        return not await self.store.call(self.store.client.exists, self.store.keys.engine_info)

    async def refill(self, prefect: PrefectClient) -> None:
        logger.warning(
            "Redis has no %s: it is new or came back empty; refilling it",
            self.store.keys.engine_info,
        )
        self.bridge.forget_mirrored()
        await self.write_deployments(prefect)
        count = await self.bridge.reconcile(prefect, with_logs=True, everything=True)
        restored = 0
        if self.store.audit_log is not None:
            records = await asyncio.to_thread(self.store.audit_log.read_recent)
            restored = await self.store.call(self.store.mirror.restore_audit, records)
        await self.mark()
        logger.info(
            "refilled Redis: %d flow runs from Prefect, %d audit entries from %s",
            count,
            restored,
            self.store.audit_log.path if self.store.audit_log else "nowhere",
        )

    async def run(self) -> None:
        async with get_client() as prefect:
            while True:
                await asyncio.sleep(CHECK_SECONDS)
                try:
                    if await self.emptied():
                        await self.refill(prefect)
                except (redis.RedisError, OSError) as exc:
                    logger.warning("refill check: Redis unreachable (%s)", exc)
                except Exception:
                    logger.exception("refilling Redis failed; will try again")
