"""Ends maintenance windows: resumes paused deployments whose auto-resume time has come.

The windows live in Redis (`engine.contract.pause_window.AutoResumeStore`), not in this process,
so they survive an engine restart and need no console. Each resume is audited like an
operator's command, by the user `engine`, with a message starting `auto-resume:`. Redis is
read and written off the loop, through `EngineStore.call`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone

from prefect.client.orchestration import PrefectClient, get_client

from engine.config.registry import Registry
from engine.contract.commands import Command, CommandResult
from engine.contract.identity import Identity
from engine.contract.pause_window import AutoResumeStore
from engine.store.off_loop import EngineStore

logger = logging.getLogger("aiwf.engine.auto_resume")

CHECK_INTERVAL_SECONDS = 1.0
RETRY_AFTER_SECONDS = 30.0
"""After Prefect refused or was unreachable, wait this long before trying that one again."""


@dataclass
class AutoResumer:
    """Resumes, every CHECK_INTERVAL_SECONDS, the deployments whose window has ended."""

    store: EngineStore
    registry: Registry
    on_deployment_changed: Callable[[str], None]
    identity: Identity = field(default_factory=Identity.engine)
    """Who the audit trail says resumed them."""
    _retry_at: dict[str, float] = field(default_factory=dict)
    windows: AutoResumeStore = field(init=False)
    """The maintenance windows, in `store`'s Redis."""

    def __post_init__(self) -> None:
        self.windows = AutoResumeStore(self.store.client, self.store.keys)

    async def run(self) -> None:
        async with get_client() as prefect:
            while True:
                try:
                    await self.resume_due(prefect)
                except Exception:  # Redis away: the next round tries again
                    logger.exception("auto-resume check failed")
                await asyncio.sleep(CHECK_INTERVAL_SECONDS)

    async def resume_due(
        self, prefect: PrefectClient, now: datetime | None = None
    ) -> list[CommandResult]:
        """Resumes every deployment whose window has ended; the audited results."""
        results = []
        call, windows = self.store.call, self.windows
        for name, when in await call(windows.due, now or datetime.now(timezone.utc)):
            if self._retry_at.get(name, 0.0) > time.monotonic():
                continue
            command = Command(
                action="resume",
                target=name,
                params={"auto_resume": when.isoformat()},
                identity=self.identity,
            )
            window = f"maintenance window ended {when.isoformat(timespec='seconds')}"
            deployment_id = self.registry.id_of(name)
            if not deployment_id:
                result = CommandResult(
                    command.id,
                    "error",
                    f"auto-resume: {name} is not served by this engine any more; "
                    f"window dropped ({window})",
                )
            else:
                try:
                    await prefect.resume_deployment(deployment_id)
                except Exception as exc:
                    logger.warning("auto-resume of %s failed, will retry: %s", name, exc)
                    self._retry_at[name] = time.monotonic() + RETRY_AFTER_SECONDS
                    continue
                result = CommandResult(command.id, "ok", f"auto-resume: resumed {name} ({window})")
            self._retry_at.pop(name, None)
            await call(windows.clear, name)
            await call(self.store.record_result, command, result)
            logger.info("%s", result.message)
            self.on_deployment_changed(name)
            results.append(result)
        return results
