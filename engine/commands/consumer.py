"""Reads the command stream for the executor: reconnects after Redis failures, runs entries
side by side (engine/commands/target_queue.py), and never ends the engine over a lost Redis."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

import redis
from prefect.client.orchestration import PrefectClient, get_client

from engine.commands.claims import CLAIM_MIN_IDLE_MS, claim_pending
from engine.commands.target_queue import TargetQueue
from engine.contract.command_client import ensure_group
from engine.contract.keys import ENGINE_GROUP
from engine.contract.reconnect import reconnect_backoff
from engine.store.off_loop import EngineStore

logger = logging.getLogger("aiwf.engine.commands")

READ_BLOCK_MS = 2_000
READ_COUNT = 50
"""Entries read at once; no more are read while this many are queued or running."""

EntryHandler = Callable[
    [PrefectClient, bytes, Mapping[bytes | str, bytes | str], str | None], Awaitable[None]
]
"""Executes one stream entry and acknowledges it (CommandExecutor.handle)."""


class StreamConsumer:
    def __init__(
        self,
        store: EngineStore,
        reader: redis.Redis,
        consumer: str,
        streams: Sequence[str],
        handle: EntryHandler,
        on_start: Callable[[PrefectClient], Awaitable[None]],
    ) -> None:
        self.store, self.reader, self.consumer = store, reader, consumer
        self.streams = list(streams)
        """The shared command stream first, then each operator's own."""
        self.handle = handle
        self.on_start = on_start
        """Run once, before the first entry (resumes what a previous engine left)."""
        self.queue = TargetQueue()
        """Commands being carried out, at most a few at once, in order per target."""
        self.in_flight: set[tuple[str, bytes]] = set()
        """Stream entry ids queued or running (not yet acknowledged)."""
        self.read_pending_again = False
        """Set when a command was left pending: the pending entries are claimed again (the
        claim after a reconnect may have come before it failed)."""

    async def run(self) -> None:
        """Serves the stream until cancelled; a lost Redis is waited out with backoff (a
        Redis that came back empty gets the consumer group again), never the engine's end."""
        backoff = reconnect_backoff()
        failures = 0
        started = False
        try:
            # One Prefect client for the whole life: commands still running when Redis
            # fails keep using it while the reads reconnect.
            async with get_client() as prefect:
                while True:
                    try:
                        await self._ensure_groups()
                        if not started:
                            await self.on_start(prefect)
                            started = True
                        await self._serve(prefect)
                    except (redis.ConnectionError, redis.TimeoutError, OSError) as exc:
                        logger.warning("command stream: Redis unreachable (%s); retrying", exc)
                    except redis.ResponseError as exc:
                        # NOGROUP: the stream or group is gone. UNBLOCKED: it went while
                        # XREADGROUP was blocked on it (a FLUSHALL, Redis 7). Both: emptied.
                        if "NOGROUP" not in str(exc) and "UNBLOCKED" not in str(exc):
                            raise
                        logger.warning("command stream has no consumer group (Redis emptied?)")
                    await asyncio.sleep(backoff.compute(failures))
                    failures = min(failures + 1, 10)
        finally:
            await self.queue.cancel_all()

    async def _ensure_groups(self) -> None:
        client, keys = self.store.client, self.store.keys
        await self.store.call(ensure_group, client, keys)
        for stream in self.streams[1:]:  # each operator's own stream
            await self.store.call(ensure_group, client, keys, stream)

    async def _serve(self, prefect: PrefectClient) -> None:
        # Entries delivered but never acknowledged, to any consumer: a previous leader
        # stopped mid-command (before its lease ran out), or Redis went away mid-command.
        # Every one is claimed and handled before new ones.
        self.read_pending_again = False
        await self._claim(prefect, min_idle_ms=0)
        while True:
            if self.read_pending_again:  # a command's result write failed after that claim
                self.read_pending_again = False
                await self._claim(prefect, min_idle_ms=0)
            await self._claim(prefect, CLAIM_MIN_IDLE_MS)
            await self._drain(prefect)

    async def _claim(self, prefect: PrefectClient, min_idle_ms: int) -> None:
        """Takes over (XAUTOCLAIM) the entries pending for `min_idle_ms`, page by page, and
        runs those not already running here."""

        async def dispatch(entry_id: bytes, raw: Any, stream: str) -> None:
            if (stream, entry_id) not in self.in_flight:
                await self.queue.wait_below(READ_COUNT)
                self._dispatch(prefect, stream, entry_id, raw)

        await claim_pending(
            self.store.call, self.store.client, self.streams, self.consumer, min_idle_ms, dispatch
        )

    async def _drain(self, prefect: PrefectClient) -> None:
        """Reads the entries no consumer has seen yet and runs them."""
        await self.queue.wait_below(READ_COUNT)
        reply: Any = await asyncio.to_thread(
            self.reader.xreadgroup,
            ENGINE_GROUP,
            self.consumer,
            dict.fromkeys(self.streams, ">"),
            count=READ_COUNT,
            block=READ_BLOCK_MS,
        )
        for raw_stream, entries in reply or []:
            stream = raw_stream.decode()
            for entry_id, raw in entries:
                self._dispatch(prefect, stream, entry_id, raw)

    def _dispatch(
        self,
        prefect: PrefectClient,
        stream: str,
        entry_id: bytes,
        raw: Mapping[bytes | str, bytes | str],
    ) -> None:
        """Runs the entry beside the others, after the earlier ones for the same target
        (a malformed entry's target may be anything: it is only refused, never run)."""
        self.in_flight.add((stream, entry_id))
        target = raw.get(b"target", b"")
        if isinstance(target, bytes):
            target = target.decode(errors="replace")

        async def job() -> None:
            try:
                await self.handle(prefect, entry_id, raw, stream)
            except (redis.RedisError, OSError) as exc:
                # Not acknowledged: the claim after the reconnect delivers it again, and
                # a result written before the failure keeps it from running twice.
                logger.warning("command %s left pending: Redis failed (%s)", entry_id, exc)
                self.read_pending_again = True
            except Exception:
                logger.exception("command %s failed unexpectedly; left pending", entry_id)
            finally:
                self.in_flight.discard((stream, entry_id))

        self.queue.submit(target, job)
