"""Mirrors Prefect's state and logs into Redis.

Three loops feed one `RedisMirror`:
- events: Prefect's event websocket. Task-run events carry the whole task run and are
  written as they are; flow-run and deployment events mark the object for a re-read from
  the API (the server writes those before it emits the event).
- logs: Prefect's log websocket, appended to each run's log stream.
- reconcile: reads recent flow runs from the API on a timer. On start it is the backfill;
  while a websocket is down it runs every couple of seconds and also polls logs, so the
  console stays live on servers whose websockets are blocked by a proxy.
Every Redis call runs off the loop, in order, through `EngineStore.call`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime, timedelta, timezone
from typing import Any
from uuid import UUID

import redis
from msgspec.structs import replace
from prefect.client.orchestration import PrefectClient, get_client
from prefect.client.schemas.filters import (
    FlowRunFilter,
    FlowRunFilterExpectedStartTime,
    FlowRunFilterId,
    LogFilter,
    LogFilterFlowRunId,
    LogFilterTimestamp,
)
from prefect.client.schemas.objects import Log
from prefect.client.schemas.sorting import FlowRunSort, LogSort
from prefect.events.clients import get_events_subscriber
from prefect.events.filters import EventFilter, EventNameFilter
from prefect.logging.clients import get_logs_subscriber

from engine.bridge.documents import (
    SCHEDULED_HORIZON,
    iso,
    latest_attempt_start,
    log_fields,
    task_run_doc,
    task_run_doc_from_event,
    worth_mirroring,
)
from engine.bridge.lineage_refill import refill_lineage
from engine.bridge.secret_runs import SecretRuns
from engine.bridge.write_queue import WriteQueue
from engine.config.registry import Registry
from engine.contract.documents import (
    ACTIVE_STATE_TYPES,
    FINAL_STATE_TYPES,
    FlowRun,
    LogLine,
    TaskRun,
)
from engine.contract.secrets import scrub
from engine.contract.times import parse_iso
from engine.store.off_loop import EngineStore
from engine.store.waiting import within

logger = logging.getLogger("aiwf.engine.bridge")

BACKFILL_RUNS = 200
RECONCILE_SECONDS_HEALTHY = 30.0
RECONCILE_SECONDS_POLLING = 2.0
WEBSOCKET_RETRY_SECONDS = 10.0
REDIS_RETRY_SECONDS = 1.0
"""Wait before writing a run again after Redis failed (a restart)."""
RECENT_LOG_IDS = 20_000
LATE_LOGS_WINDOW = timedelta(minutes=1)
DRAIN_SECONDS = 5.0
"""How long a stopping bridge waits for its queued writes."""
HEARTBEAT_EVENT = "prefect.flow-run.heartbeat"


class Bridge:
    """Keeps Redis's state keys (through the mirror) in step with Prefect."""

    def __init__(
        self,
        store: EngineStore,
        registry: Registry,
        on_deployment_changed: Callable[[str], None],
        on_estate_changed: Callable[[], None] = lambda: None,
    ) -> None:
        self.store = store
        self.mirror, self.call = store.mirror, store.call
        self.writes = WriteQueue(store.call, store.mirror)
        """What the websockets deliver, written in batches (engine/bridge/write_queue.py)."""
        self.registry = registry
        self.on_deployment_changed = on_deployment_changed
        self.on_estate_changed = on_estate_changed
        """A deployment the registry does not know appeared (events, or one of its runs)."""
        self._healthy = {"events": False, "logs": False}
        self._dirty_runs: set[str] = set()
        self._dirty_event = asyncio.Event()
        # Backfill and the log websocket can both deliver a line; remember recent ids.
        self._recent_log_ids: OrderedDict[str, None] = OrderedDict()
        self.secrets = SecretRuns(registry)
        self._api: PrefectClient | None = None
        """The reconcile loop's client, for the websocket handlers (None until it runs)."""
        """Which runs have secret parameters, and their values (scrubbed from logs)."""

    async def append_logs(
        self, run_id: str, logs: Iterable[Log], client: PrefectClient | None = None
    ) -> int:
        """Appends the lines not appended yet, now (the websocket's queued lines first)."""
        fresh = await self._fresh_lines(run_id, logs, client)
        await self.writes.drained()
        return await self.call(self.mirror.append_logs, run_id, fresh)

    async def _fresh_lines(
        self, run_id: str, logs: Iterable[Log], client: PrefectClient | None = None
    ) -> list[LogLine]:
        """The lines of `logs` not seen before, secret values scrubbed."""
        fresh = []
        for log in logs:
            log_id = str(log.id) if log.id else ""
            if log_id:
                if log_id in self._recent_log_ids:
                    continue
                self._recent_log_ids[log_id] = None
                if len(self._recent_log_ids) > RECENT_LOG_IDS:
                    self._recent_log_ids.popitem(last=False)
            fresh.append(log_fields(log, log_id))
        hidden = await self.secrets.hidden(run_id, client or self._api) if fresh else []
        if hidden:
            fresh = [replace(line, msg=scrub(line.msg, hidden)) for line in fresh]
        return fresh

    def forget_mirrored(self) -> None:
        """Redis came back empty: the log lines seen so far must be written again."""
        self._recent_log_ids.clear()

    @property
    def websockets_healthy(self) -> bool:
        return all(self._healthy.values())

    @property
    def mode(self) -> str:
        return "websocket" if self.websockets_healthy else "polling"

    async def run(self) -> None:
        # Each loop handles its own errors; gather only ends on cancellation.
        try:
            await asyncio.gather(
                self._events_loop(), self._logs_loop(), self._refresh_loop(), self._reconcile_loop()
            )
        finally:
            # What the websockets delivered last is written before the engine stops.
            with contextlib.suppress(asyncio.TimeoutError):
                await within(self.writes.drained(), DRAIN_SECONDS)

    # -- flow runs -------------------------------------------------------------------------

    async def write_flow_run(
        self, client: PrefectClient, run_id: str, with_tasks: bool = False
    ) -> FlowRun | None:
        try:
            run = await client.read_flow_run(UUID(run_id))
        except Exception as exc:  # a run deleted in Prefect, or a transient API error
            logger.debug("could not read flow run %s: %s", run_id, exc)
            return None
        if run.deployment_id is None:
            return None  # ad-hoc runs outside any deployment are not ours to show
        deployment_id = doc_id(run.deployment_id)
        if deployment_id in self.registry.hidden_ids:
            return None  # config/estate.yaml hides its deployment
        name = self.registry.name_of(deployment_id)
        if not name:
            self.on_estate_changed()  # new to the engine: its document names the run soon
        doc = await self.secrets.doc(client, run, name)
        if not worth_mirroring(doc):
            return None
        doc = await self._fill_attempt_start(client, doc)
        await self.call(self.mirror.upsert_flow_run, doc)
        if self.registry.note_run(doc):
            self.on_deployment_changed(doc.deployment_name)
        if doc.state_type in FINAL_STATE_TYPES:
            # A finished run is read once whole. Its task runs: their websocket events may
            # have been lost with a batch that a lost leader term could not write (Redis
            # restarting), and a reconcile skips a finished run whose state Redis has.
            # Its logs: servers with log streaming off send nothing on the log websocket.
            await self.write_task_runs(client, run_id)
            await self.backfill_logs(client, run_id)
        elif with_tasks:
            await self.write_task_runs(client, run_id)
        return doc

    async def _fill_attempt_start(self, client: PrefectClient, doc: FlowRun) -> FlowRun:
        """`doc` with a retried run's `attempt_start_time` from its state history when
        neither the run (not RUNNING now) nor Redis (no RUNNING read of this attempt) has it."""
        if doc.attempt_start_time or doc.run_count <= 1:
            return doc
        current = await self.call(self.mirror.flow_run, doc.id)
        if (
            current is not None
            and current.run_count == doc.run_count
            and current.attempt_start_time
        ):
            return doc  # upsert_flow_run keeps it
        try:
            states = await client.read_flow_run_states(UUID(doc.id))
        except Exception as exc:  # the duration falls back to the total; not worth failing
            logger.debug("could not read the states of flow run %s: %s", doc.id, exc)
            return doc
        return replace(doc, attempt_start_time=iso(latest_attempt_start(states)))

    async def write_task_runs(self, client: PrefectClient, run_id: str) -> None:
        runs = await client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[UUID(run_id)])),
        )
        docs = [await self._scrubbed(task_run_doc(task_run), client) for task_run in runs]
        await self.call(self.mirror.upsert_task_runs, docs)

    async def _scrubbed(self, doc: TaskRun, client: PrefectClient | None = None) -> TaskRun:
        hidden = await self.secrets.hidden(doc.flow_run_id, client or self._api)
        return replace(doc, state_message=scrub(doc.state_message, hidden)) if hidden else doc

    async def backfill_logs(self, client: PrefectClient, run_id: str) -> int:
        """Appends the run's logs newer than the last one Redis holds."""
        last: Any = await self.call(
            self.mirror.client.xrevrange, self.mirror.keys.logs(run_id), count=1
        )
        since: datetime | None = None
        if last:
            since = parse_iso(last[0][1].get(b"ts", b"").decode() or None)
        written = 0
        while True:
            log_filter = LogFilter(flow_run_id=LogFilterFlowRunId(any_=[UUID(run_id)]))
            if since is not None:
                log_filter.timestamp = LogFilterTimestamp(
                    after_=since + timedelta(microseconds=1)  # type: ignore[arg-type]
                )
            logs = await client.read_logs(
                log_filter=log_filter, limit=200, sort=LogSort.TIMESTAMP_ASC
            )
            if not logs:
                return written
            written += await self.append_logs(run_id, logs, client)
            since = logs[-1].timestamp

    async def reconcile(
        self, client: PrefectClient, with_logs: bool, everything: bool = False
    ) -> int:
        """Re-reads recent flow runs; writes those whose state changed. Returns the count.

        `everything` writes every run with its task runs and logs, changed or not: the
        refill of an emptied Redis, where a run the event loops wrote meanwhile may still
        lack its task runs."""
        horizon = datetime.now(timezone.utc) + SCHEDULED_HORIZON
        runs = await client.read_flow_runs(
            flow_run_filter=FlowRunFilter(
                expected_start_time=FlowRunFilterExpectedStartTime(
                    before_=horizon  # type: ignore[arg-type]
                )
            ),
            sort=FlowRunSort.EXPECTED_START_TIME_DESC,
            limit=BACKFILL_RUNS,
        )
        changed = 0
        back: list[str] = []  # finished runs Redis lacked: their lineage may be lost with them
        for run in runs:
            name = self.registry.name_of(doc_id(run.deployment_id))
            if not name:
                continue
            doc = await self.secrets.doc(client, run, name)
            current = await self.call(self.mirror.flow_run, doc.id)
            stale = (
                everything
                or current is None
                or current.state_name != doc.state_name
                or (current.end_time != doc.end_time)
                or current.deployment_name != doc.deployment_name  # found in the estate since
            )
            if stale:
                doc = await self._fill_attempt_start(client, doc)
            if stale and await self.call(self.mirror.upsert_flow_run, doc):
                changed += 1
                if (everything or current is None) and doc.state_type in FINAL_STATE_TYPES:
                    back.append(doc.id)
            if self.registry.note_run(doc):
                self.on_deployment_changed(name)
            active = doc.state_type in ACTIVE_STATE_TYPES
            if stale or active:
                await self.write_task_runs(client, doc.id)
            # A run Redis lacked (events missed while a websocket reconnected) comes back
            # with its log stream, whichever mode the websockets are in.
            if (with_logs and (stale or active)) or current is None or _just_finished(doc):
                await self.backfill_logs(client, doc.id)
        await refill_lineage(self.store, back)
        await self.call(self.mirror.trim_runs)
        return changed

    # -- loops -----------------------------------------------------------------------------

    async def _reconcile_loop(self) -> None:
        first = True
        async with get_client() as client:
            self._api = client
            while True:
                try:
                    count = await self.reconcile(
                        client, with_logs=first or not self._healthy["logs"]
                    )
                    if first:
                        logger.info("backfilled %d flow runs from the Prefect API", count)
                    first = False
                except Exception:
                    logger.exception("reconcile with the Prefect API failed; will retry")
                polling = not self.websockets_healthy
                await asyncio.sleep(
                    RECONCILE_SECONDS_POLLING if polling else RECONCILE_SECONDS_HEALTHY
                )

    async def _refresh_loop(self) -> None:
        """Re-reads flow runs named by events, coalescing bursts."""
        async with get_client() as client:
            while True:
                await self._dirty_event.wait()
                self._dirty_event.clear()
                batch, self._dirty_runs = self._dirty_runs, set()
                for run_id in batch:
                    try:
                        await self.write_flow_run(client, run_id)
                    except (redis.RedisError, OSError) as exc:
                        # Redis away (a restart): keep the run dirty and try again soon.
                        logger.warning("could not mirror run %s: Redis failed (%s)", run_id, exc)
                        self.mark_run_dirty(run_id)
                        await asyncio.sleep(REDIS_RETRY_SECONDS)

    def mark_run_dirty(self, run_id: str) -> None:
        self._dirty_runs.add(run_id)
        self._dirty_event.set()

    async def _events_loop(self) -> None:
        event_filter = EventFilter(
            event=EventNameFilter(
                prefix=["prefect.flow-run.", "prefect.task-run.", "prefect.deployment."],
                # A run's process says it is alive every 30 s; nothing about the run changed.
                exclude_name=[HEARTBEAT_EVENT],
            )
        )
        await self._follow(
            "events",
            lambda: get_events_subscriber(filter=event_filter, reconnect_on_clean_close=True),
            self._on_event,
        )

    async def _logs_loop(self) -> None:
        await self._follow(
            "logs", lambda: get_logs_subscriber(reconnect_on_clean_close=True), self._on_log
        )

    async def _follow(
        self, stream: str, subscribe: Callable[[], Any], handle: Callable[[Any], Awaitable[None]]
    ) -> None:
        """Feeds a Prefect websocket into `handle` forever; marks the stream unhealthy (so
        the reconcile loop polls instead) while it is down, and reconnects."""
        while True:
            try:
                async with subscribe() as items:
                    self._healthy[stream] = True
                    logger.info("subscribed to Prefect %s", stream)
                    async for item in items:
                        await handle(item)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                logger.warning("%s websocket failed (%s); polling until it is back", stream, exc)
            self._healthy[stream] = False
            await asyncio.sleep(WEBSOCKET_RETRY_SECONDS)

    async def _on_event(self, event: Any) -> None:
        name: str = event.event
        resource_id: str = event.resource.id
        if name.startswith("prefect.task-run."):
            doc = task_run_doc_from_event(event)
            if doc is not None:
                self.writes.add_task_run(await self._scrubbed(doc))
                if self.writes.waits:
                    await self.writes.make_room()
        elif name.startswith("prefect.flow-run."):
            self.mark_run_dirty(resource_id.rsplit(".", 1)[-1])
        elif name.startswith("prefect.deployment."):
            deployment_name = self.registry.name_of(resource_id.rsplit(".", 1)[-1])
            if deployment_name and name != "prefect.deployment.deleted":
                self.on_deployment_changed(deployment_name)
            else:  # created, deleted, or changed so that the estate filter may differ
                self.on_estate_changed()

    async def _on_log(self, log: Log) -> None:
        if log.flow_run_id is not None:
            run_id = str(log.flow_run_id)
            self.writes.add_logs(run_id, await self._fresh_lines(run_id, [log]))
            if self.writes.waits:
                await self.writes.make_room()


def _just_finished(doc: FlowRun) -> bool:
    """A run's last log batch reaches the API after its final state; read it once more."""
    end = parse_iso(doc.end_time)
    return end is not None and datetime.now(timezone.utc) - end < LATE_LOGS_WINDOW


def doc_id(value: UUID | None) -> str:
    return str(value) if value else ""
