"""An engine started while its Prefect API does not answer waits for it, saying why.

Before this, the first registration's connection error ended `aiwf-engine run`: the console
said only "engine not running" (systemd restarting it every few seconds), never that
Prefect was the reason. Now the engine checks Prefect's `/health` before registering; while
it fails, the engine writes a heartbeat with `prefect_error` (only while no other engine
leads: a standby must not hide a live leader's) and asks again with the reconnect backoff,
until Prefect answers or the engine is told to stop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from prefect.client.orchestration import get_client

from engine.contract.reconnect import reconnect_backoff
from engine.serve.prefect_health import prefect_problem
from engine.store.waiting import within

logger = logging.getLogger("aiwf.engine")


async def prefect_answers(
    api_url: str,
    stopping: asyncio.Event,
    while_down: Callable[[str], Awaitable[None]],
) -> bool:
    """True once the API answers its health check; False if `stopping` came first.

    Args:
        api_url: the API's URL as shown (redacted), for the messages.
        stopping: set when the engine is told to stop.
        while_down: told each failed check's reason (the heartbeat goes there).
    """
    backoff, failures = reconnect_backoff(), 0
    while not stopping.is_set():
        async with get_client() as prefect:
            problem = await prefect_problem(prefect, api_url)
        if not problem:
            if failures:
                logger.info("Prefect API answers after %d failed check(s); starting", failures)
            return True
        if failures == 0:
            logger.error("Prefect API unreachable at start: %s; waiting for it", problem)
        await while_down(problem)
        failures += 1
        with contextlib.suppress(asyncio.TimeoutError):
            await within(stopping.wait(), backoff.compute(failures))
    return False
