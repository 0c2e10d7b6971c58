"""Answers the console's read-only flow-run queries (`{p}:queries`) from the Prefect API.

Every filter, sort, count and page is Prefect's (`read_flow_runs`, `count_flow_runs`), so
the console's totals cover everything Prefect holds, not the runs Redis mirrors. Queries run
side by side (a few at once), each bounded in page size and time, and a page is reused for
QUERY_CACHE_SECONDS. Not audited: a query changes nothing. A query naming `log_copy_of` is
not a page: it copies that run's whole log from Prefect (engine/bridge/log_copy.py); one
naming `run_of` asks for one run and its task runs (engine/bridge/older_run.py).

Read-ahead: a view's first page is asked of Prefect together with the page after it (one
query of twice the rows, the second kept for PREFETCH_SECONDS); once any other full page is
answered, the page after it is asked of Prefect in the background and kept as long, so
the console's next page (asked when the cursor reaches the last loaded row, with the view's
pinned `until`) is answered from memory instead of waiting for another `read_flow_runs`.
A page asked while the same one is being fetched waits for that fetch rather than asking
Prefect twice. A read-ahead waits until no asked page has been with Prefect for
READ_AHEAD_QUIET_SECONDS: Prefect answers one query at a time on SQLite, so a read-ahead
beside an asked page would make the asker wait for it (measured: the next console's page
took 60 ms longer). Someone asking for the page it would fetch starts it at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict
from datetime import datetime, timezone
from typing import Any, Literal
from uuid import UUID

import msgspec
import redis
from prefect.client.orchestration import PrefectClient, get_client
from prefect.client.schemas.filters import (
    FlowRunFilter,
    FlowRunFilterDeploymentId,
    FlowRunFilterExpectedStartTime,
    FlowRunFilterName,
    FlowRunFilterState,
    FlowRunFilterStateType,
)
from prefect.client.schemas.objects import StateType
from prefect.client.schemas.sorting import FlowRunSort

from engine.bridge.log_copy import copy_log
from engine.bridge.older_run import older_run
from engine.bridge.secret_runs import SecretRuns
from engine.config.registry import Registry
from engine.contract.documents import decode_strict, encode
from engine.contract.history import (
    PAGE_FIELD,
    QUERY_CACHE_SECONDS,
    QUERY_FIELD,
    QUERY_PAGE_MAX,
    QUERY_RESULT_TTL_SECONDS,
    QUERY_SECONDS,
    RunPage,
    RunQuery,
)
from engine.contract.keys import ENGINE_GROUP, Keys
from engine.contract.reconnect import reconnect_backoff
from engine.contract.times import parse_iso, utc_now_iso
from engine.store.waiting import within

logger = logging.getLogger("aiwf.engine.queries")

QUERIES_AT_ONCE = 4
"""Queries answered side by side; more wait (Prefect's API is shared with the runs)."""
PREFETCH_SECONDS = 30.0
"""How long a read-ahead page is kept. Its runs' states may be this old when shown; the rows
the mirror's live window also holds are updated on screen as they change."""
PREFETCHES_AT_ONCE = 1
"""Read-aheads asked of Prefect at once, beside (not within) the QUERIES_AT_ONCE slots: a
read-ahead never delays a page someone waits for by more than one Prefect call."""
READ_AHEAD_QUIET_SECONDS = 0.05
"""A read-ahead starts once no asked page has been with Prefect for this long."""
READ_AHEADS_WAITING = 4
"""Read-aheads kept waiting for their turn; a newer one gives the oldest up. A console (or
a benchmark) paging through views faster than Prefect was ever quiet left one per view
queued, and they then ran one after another for seconds, each of a view nobody showed any
more, beside the pages asked then."""
LOG_COPIES_AT_ONCE = 1
"""Log copies made at once (each reads Prefect page after page); more wait their turn."""
CACHE_ENTRIES = 256
READ_BLOCK_MS = 1_000


ReadAheadTurn = Literal["quiet", "asked", "given up"]


class BadQuery(ValueError):
    """A query the engine cannot put to Prefect (bad id, time or state); said in the page."""


def prefect_filter(query: RunQuery) -> FlowRunFilter:
    """The query's filters as Prefect's FlowRunFilter (the same for the page and the count).

    Raises:
        BadQuery: a deployment id, time or state type Prefect would not accept.
    """
    filters: dict[str, Any] = {}
    if query.deployment_id:
        try:
            filters["deployment_id"] = FlowRunFilterDeploymentId(any_=[UUID(query.deployment_id)])
        except ValueError as exc:
            raise BadQuery(f"deployment_id {query.deployment_id!r} is not a UUID") from exc
    if query.state_types:
        try:
            types = [StateType(name) for name in query.state_types]
        except ValueError as exc:
            raise BadQuery(f"state_types: {exc}") from exc
        filters["state"] = FlowRunFilterState(type=FlowRunFilterStateType(any_=types))
    since, until = _time(query.since), _time(query.until)
    if since is not None or until is not None:
        filters["expected_start_time"] = FlowRunFilterExpectedStartTime(
            after_=since,  # type: ignore[arg-type]  # pendulum's DateTime is a datetime
            before_=until,  # type: ignore[arg-type]
        )
    if query.text:
        filters["name"] = FlowRunFilterName(like_=query.text)
    return FlowRunFilter(**filters)


def _time(value: str | None) -> datetime | None:
    try:
        return parse_iso(value)
    except ValueError as exc:
        raise BadQuery(f"since/until must be ISO times, got {value!r}") from exc


async def _count(prefect: PrefectClient, flow_run_filter: FlowRunFilter, wanted: bool) -> int:
    return await prefect.count_flow_runs(flow_run_filter=flow_run_filter) if wanted else -1


async def answer(
    prefect: PrefectClient, registry: Registry, secrets: SecretRuns, query: RunQuery
) -> RunPage:
    """One page and the total, both from Prefect; `ok: false` with the reason otherwise.
    Secret parameters are fingerprints, as in the mirror (`secrets`: whose are secret)."""
    asked = query.normalized()
    try:
        flow_run_filter = prefect_filter(asked)
        runs, total = await within(
            asyncio.gather(
                prefect.read_flow_runs(
                    flow_run_filter=flow_run_filter,
                    sort=FlowRunSort(asked.sort),
                    limit=asked.limit,
                    offset=asked.offset,
                ),
                _count(prefect, flow_run_filter, asked.counted),
            ),
            QUERY_SECONDS,
        )
    except BadQuery as exc:
        return RunPage(query_id=query.id, ok=False, error=f"bad query: {exc}")
    except asyncio.TimeoutError:
        error = f"Prefect did not answer within {QUERY_SECONDS:.0f} s"
        return RunPage(query_id=query.id, ok=False, error=error)
    except Exception as exc:  # Prefect unreachable or refusing: the console falls back
        return RunPage(query_id=query.id, ok=False, error=f"Prefect API error: {exc}")
    docs = []
    for run in runs:
        name = registry.name_of(str(run.deployment_id)) if run.deployment_id else ""
        docs.append(await secrets.doc(prefect, run, name))
    return RunPage(
        query_id=query.id,
        ok=True,
        total=total,
        offset=asked.offset,
        runs=docs,
        answered_at=utc_now_iso(),
    )


class PageCache:
    """Pages by normalized query, for QUERY_CACHE_SECONDS (a scroll or a second console
    asking the same thing costs Prefect nothing)."""

    def __init__(self, seconds: float = QUERY_CACHE_SECONDS) -> None:
        self.seconds = seconds
        self._pages: OrderedDict[bytes, tuple[float, RunPage]] = OrderedDict()
        """Cache key -> (monotonic expiry, page)."""

    def get(self, query: RunQuery) -> RunPage | None:
        hit = self._pages.get(query.cache_key())
        if hit is None or time.monotonic() > hit[0]:
            return None
        return msgspec.structs.replace(hit[1], query_id=query.id, cached=True)

    def holds(self, query: RunQuery) -> bool:
        return self.get(query) is not None

    def put(self, query: RunQuery, page: RunPage, seconds: float | None = None) -> None:
        """Keeps `page` for `seconds` (default: the cache's own)."""
        if not page.ok:
            return  # a failure is asked again, not remembered
        key = query.cache_key()
        keep = self.seconds if seconds is None else seconds
        self._pages[key] = (time.monotonic() + keep, page)
        self._pages.move_to_end(key)
        while len(self._pages) > CACHE_ENTRIES:
            self._pages.popitem(last=False)


class QueryServer:
    """Reads `{p}:queries` (consumer group, NOACK: a lost query is asked again by its
    console, never replayed) and writes each page to its result key."""

    def __init__(self, redis_url: str, keys: Keys, registry: Registry, consumer: str) -> None:
        # Connections of its own: a page never waits behind the mirror's writes.
        self.reader = redis.Redis.from_url(redis_url, socket_timeout=10 + READ_BLOCK_MS / 1000)
        self.writer = redis.Redis.from_url(redis_url, socket_timeout=10)
        self.keys, self.registry, self.consumer = keys, registry, consumer
        self.cache = PageCache()
        self.secrets = SecretRuns(registry)
        self.slots = asyncio.Semaphore(QUERIES_AT_ONCE)
        self.prefetch_slots = asyncio.Semaphore(PREFETCHES_AT_ONCE)
        self.copy_slots = asyncio.Semaphore(LOG_COPIES_AT_ONCE)
        self.tasks: set[asyncio.Task[Any]] = set()
        self.fetching: dict[bytes, asyncio.Task[RunPage]] = {}
        """Cache key -> the Prefect fetch under way for it (asked or read ahead)."""
        self.wanted: dict[bytes, asyncio.Event] = {}
        """Cache key of a read-ahead still waiting its turn -> set when someone asks for it."""
        self.dropped: set[bytes] = set()
        """Read-aheads still waiting that a newer one gave up (READ_AHEADS_WAITING)."""
        self.asked_with_prefect = 0
        """Asked pages (not read-aheads) being fetched from Prefect now."""
        self.asked_done_at = 0.0
        """Loop time the last asked page came back from Prefect."""

    async def run(self) -> None:
        backoff, failures = reconnect_backoff(), 0
        async with get_client() as prefect:
            try:
                while True:
                    try:
                        await asyncio.to_thread(self._ensure_group)
                        await self._serve(prefect)
                    except (redis.RedisError, OSError) as exc:
                        # Waited out: a lost Redis, or one emptied (its group gone: NOGROUP;
                        # UNBLOCKED: emptied while XREADGROUP waited, as after FLUSHALL).
                        gone = "NOGROUP" in str(exc) or "UNBLOCKED" in str(exc)
                        if isinstance(exc, redis.ResponseError) and not gone:
                            raise
                        logger.warning("query stream: %s; retrying", exc)
                    await asyncio.sleep(backoff.compute(failures))
                    failures = min(failures + 1, 10)
            finally:
                for task in self.tasks:
                    task.cancel()
                await asyncio.gather(*self.tasks, return_exceptions=True)
                self.reader.close()
                self.writer.close()

    def _ensure_group(self) -> None:
        try:
            self.reader.xgroup_create(self.keys.queries, ENGINE_GROUP, id="$", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def _serve(self, prefect: PrefectClient) -> None:
        while True:
            reply: Any = await asyncio.to_thread(
                self.reader.xreadgroup,
                ENGINE_GROUP,
                self.consumer,
                {self.keys.queries: ">"},
                count=50,
                block=READ_BLOCK_MS,
                noack=True,
            )
            for _stream, entries in reply or []:
                for entry_id, fields in entries:
                    task = asyncio.create_task(self._handle(prefect, entry_id, fields))
                    self.tasks.add(task)
                    task.add_done_callback(self.tasks.discard)

    async def _handle(self, prefect: PrefectClient, entry_id: bytes, fields: Any) -> None:
        where = f"{self.keys.queries}[{entry_id.decode(errors='replace')}]"
        try:
            query = decode_strict(fields.get(QUERY_FIELD.encode(), b""), RunQuery, where)
        except ValueError as exc:
            logger.warning("%s skipped: %s", where, exc)
            return
        try:
            deadline = parse_iso(query.deadline)
        except ValueError:
            deadline = None  # answered: a bad deadline is no reason to leave a console waiting
        if not query.id or (deadline is not None and deadline < datetime.now(timezone.utc)):
            return  # nobody waits for it any more
        try:
            if query.run_of or query.log_copy_of:
                page = await self._not_a_page(prefect, query)
            else:
                page = await self._page(prefect, query)
                # Before the write: the page after it is being fetched by the time the
                # console can ask for it.
                self._read_ahead(prefect, query, page)
            await asyncio.to_thread(self._write, query.id, page)
        except (redis.RedisError, OSError) as exc:
            logger.warning("query %s: page not written (%s)", query.id, exc)
        except Exception:
            logger.exception("query %s failed unexpectedly", query.id)

    async def _not_a_page(self, prefect: PrefectClient, query: RunQuery) -> RunPage:
        """One run (`run_of`, in a query slot) or a log copy (`log_copy_of`, one at a time):
        never cached, never read ahead."""
        if query.run_of:
            async with self.slots:
                return await older_run(prefect, self.registry, self.secrets, query.id, query.run_of)
        async with self.copy_slots:
            return await copy_log(
                prefect, self.writer, self.keys, self.secrets, query.id, query.log_copy_of
            )

    async def _page(self, prefect: PrefectClient, query: RunQuery) -> RunPage:
        """From the cache, else from the fetch of the same page under way, else Prefect."""
        page = self.cache.get(query)
        if page is not None:
            return page
        key = query.cache_key()
        fetch = self.fetching.get(key)
        joined = fetch is not None  # a read-ahead (or another console) asked it already
        self._want(key)
        if fetch is None:
            fetch = self._fetch(prefect, query, self.slots, QUERY_CACHE_SECONDS)
        # Shielded: one waiter's cancel (the engine stopping) must not end the others' fetch.
        page = await asyncio.shield(fetch)
        return msgspec.structs.replace(page, query_id=query.id, cached=page.cached or joined)

    def _want(self, key: bytes) -> None:
        """A read-ahead of page `key` still waiting its turn starts now: someone waits for
        it (even if a newer read-ahead was giving it up)."""
        if key in self.wanted:
            self.dropped.discard(key)
            self.wanted[key].set()

    def _fetch(
        self,
        prefect: PrefectClient,
        query: RunQuery,
        slots: asyncio.Semaphore,
        keep: float,
        ahead: bool = False,
    ) -> asyncio.Task[RunPage]:
        """The fetch of `query`'s page as a task in `fetching`; `ahead`: a read-ahead, which
        waits its turn first (`_quiet`)."""
        key = query.cache_key()

        async def fetch() -> RunPage:
            try:
                turn = await self._quiet(key) if ahead else "asked"
                if turn == "given up":
                    # Asked pages kept Prefect busy all along: nobody needed this one.
                    return RunPage(query_id=query.id, ok=False, error="read-ahead given up")
                async with slots:
                    return await self._answer(prefect, query, keep, asked=turn == "asked")
            finally:
                self.fetching.pop(key, None)

        task = asyncio.create_task(fetch())
        self.fetching[key] = task
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    async def _answer(
        self, prefect: PrefectClient, query: RunQuery, keep: float, asked: bool
    ) -> RunPage:
        """Prefect's page, kept `keep` seconds; `asked`: someone waits for it (a read-ahead
        waits while such a page is with Prefect)."""
        limit = query.normalized().limit
        # A view's first page brings the next with it (one query; Prefect walks the same
        # rows to find either): End pressed as the first page arrives is answered at once.
        both = asked and query.offset == 0 and 2 * limit <= QUERY_PAGE_MAX
        if asked:
            self.asked_with_prefect += 1
        try:
            wide = msgspec.structs.replace(query, limit=2 * limit) if both else query
            page = await answer(prefect, self.registry, self.secrets, wide)
        finally:
            if asked:
                self.asked_with_prefect -= 1
                self.asked_done_at = asyncio.get_running_loop().time()
        if both:
            page = self._keep_next_page(query, page, limit)
        self.cache.put(query, page, keep)
        return page

    def _keep_next_page(self, query: RunQuery, page: RunPage, limit: int) -> RunPage:
        """`page` (two pages' runs) cut to the first; the rest kept as the page after it."""
        if page.ok and len(page.runs) > limit:
            after = msgspec.structs.replace(query, offset=limit, counted=False)
            rest = msgspec.structs.replace(page, runs=page.runs[limit:], offset=limit, total=-1)
            self.cache.put(after, rest, PREFETCH_SECONDS)
        return msgspec.structs.replace(page, runs=page.runs[:limit])

    def _read_ahead(self, prefect: PrefectClient, query: RunQuery, page: RunPage) -> None:
        """Starts fetching the page after `page` if there is one and it is not at hand."""
        if not page.ok or len(page.runs) < query.normalized().limit:
            return  # a short page is the last one
        offset = page.offset + len(page.runs)
        if 0 <= page.total <= offset:
            return
        after = msgspec.structs.replace(query, offset=offset, counted=False)
        if self.cache.holds(after) or after.cache_key() in self.fetching:
            return
        self._fetch(prefect, after, self.prefetch_slots, PREFETCH_SECONDS, ahead=True)

    async def _quiet(self, key: bytes) -> ReadAheadTurn:
        """A read-ahead's turn: "quiet" once no asked page has been with Prefect for
        READ_AHEAD_QUIET_SECONDS; "asked" at once when someone asks for this page
        (`wanted[key]`); "given up" if Prefect was never quiet for PREFETCH_SECONDS, or
        if READ_AHEADS_WAITING newer read-aheads wait."""
        loop = asyncio.get_running_loop()
        wanted = self.wanted.setdefault(key, asyncio.Event())
        if len(self.wanted) > READ_AHEADS_WAITING:
            oldest = next(iter(self.wanted))
            self.dropped.add(oldest)
            self.wanted[oldest].set()
        since = loop.time()
        try:
            while not wanted.is_set():
                idle_from = max(since, self.asked_done_at)
                left = idle_from + READ_AHEAD_QUIET_SECONDS - loop.time()
                if self.asked_with_prefect == 0 and left <= 0:
                    return "quiet"
                if loop.time() - since > PREFETCH_SECONDS:
                    return "given up"
                with contextlib.suppress(asyncio.TimeoutError):
                    await within(wanted.wait(), max(left, 0.01))
            return "given up" if key in self.dropped else "asked"
        finally:
            self.wanted.pop(key, None)
            self.dropped.discard(key)

    def _write(self, query_id: str, page: RunPage) -> None:
        key = self.keys.query_result(query_id)
        pipe = self.writer.pipeline(transaction=False)
        pipe.xadd(key, {PAGE_FIELD: encode(page)})
        pipe.expire(key, QUERY_RESULT_TTL_SECONDS)
        pipe.execute()
