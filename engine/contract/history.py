"""Read-only queries over the whole flow-run history in Prefect, asked through Redis.

The console never talks to Prefect: it puts a `RunQuery` on `{p}:queries` and blocks (XREAD,
allowed to a read-only ACL user, unlike BLPOP) on the one-entry stream `{p}:query_results:<id>`
that the engine answers with a `RunPage`. Stdlib + redis + msgspec only, like command_client.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

import msgspec
import redis

from engine.contract.commands import deadline_after
from engine.contract.documents import FlowRun, Lineage, TaskRun, decode, encode
from engine.contract.keys import Keys

QUERIES_MAXLEN = 2_000
"""Entries `{p}:queries` keeps; an unanswered query older than its deadline is dropped anyway."""
QUERY_RESULT_TTL_SECONDS = 60
"""A page stays readable this long after the engine writes it."""
QUERY_PAGE_MAX = 200
"""Runs per page at most; a larger `limit` is cut to this (docs/redis-keys.md)."""
QUERY_PAGE_DEFAULT = 50
"""Runs per page unless asked otherwise: a screen's worth (the runs table shows ~20-40 rows)
with room to scroll. Prefect's cost of a page grows with its rows (~0.6 ms a run on SQLite,
serialized twice), so 50 answers in about half the time of 100 (docs/benchmarks.md)."""
QUERY_SECONDS = 5.0
"""The engine gives up on Prefect after this long and answers `ok: false`."""
QUERY_CACHE_SECONDS = 2.0
"""A page for the same normalized query (filters, sort, offset, limit) is reused this long."""
QUERY_SORTS = ("START_TIME_DESC", "START_TIME_ASC", "NAME_ASC", "NAME_DESC")
"""Prefect FlowRunSort names a query may ask for (start = start time, else expected start)."""
LOG_COPY_TTL_SECONDS = 900
"""A log copy stays readable this long after it was made."""
LOG_COPIES_KEPT = 4
"""Log copies in Redis at once (each up to LOG_COPY_MAX_BYTES); older ones are deleted."""
LOG_COPY_MAX_BYTES = 32 * 2**20
"""A copy stops here (lines' bytes as the mirror counts them): copies are outside the
mirror's log budget, so they are bounded on their own (LOG_COPIES_KEPT x this)."""
LOG_COPY_SECONDS = 120.0
"""A copy stops after this long; the console waits a little longer for its answer."""
QUERY_FIELD = "query"
"""The one field of a `{p}:queries` entry (and `page` of a result entry)."""
PAGE_FIELD = "page"


class RunQuery(msgspec.Struct, frozen=True, kw_only=True):
    """`{p}:queries` entry: which flow runs, in which order, which slice."""

    id: str = ""
    """Names the result key; a fresh one per ask."""
    deployment_id: str = ""
    """Only this deployment's runs ("" = every run)."""
    state_types: list[str] = []
    """Only runs in one of these Prefect state types (`FAILED`, `CRASHED`; [] = any)."""
    since: str | None = None
    """Only runs expected to start at or after this ISO time (the console's time range)."""
    until: str | None = None
    """Only runs expected to start at or before this ISO time: pinned at the first page, so
    runs created while paging do not shift the offsets of the next pages. It bounds the
    total too: runs scheduled ahead are not counted (the console shows them as a
    deployment's next run), and the console's refresh of a total moves `until` to now."""
    text: str = ""
    """Only runs whose name contains this (case-insensitive, Prefect's `like_`)."""
    sort: str = "START_TIME_DESC"
    offset: int = 0
    limit: int = QUERY_PAGE_DEFAULT
    counted: bool = True
    """False for the pages after the first: the asker has the total; no count is made."""
    deadline: str = ""
    """ISO time; the engine drops the query unanswered after it (the asker has gone)."""
    run_of: str = ""
    """Not a page: this one flow run and its task runs, as Prefect reports them now (a run
    screen opened on a run older than the mirror keeps). Filters are ignored."""
    log_copy_of: str = ""
    """Not a page: copy this flow run's whole log from Prefect into `keys.log_copy(id)`
    (this query's id; lines appear as they are read; the filters above are ignored).
    Answered once the copy is done, with `total` = lines copied."""

    def normalized(self) -> RunQuery:
        """The query as the engine answers it: limit bounded, lists sorted, no id/deadline."""
        return msgspec.structs.replace(
            self,
            id="",
            deadline="",
            state_types=sorted({s.upper() for s in self.state_types}),
            limit=max(1, min(self.limit, QUERY_PAGE_MAX)),
            offset=max(0, self.offset),
            sort=self.sort if self.sort in QUERY_SORTS else "START_TIME_DESC",
        )

    def cache_key(self) -> bytes:
        return encode(self.normalized())


class RunPage(msgspec.Struct, frozen=True, kw_only=True):
    """`{p}:query_results:<id>` entry: one page of runs and the total the filters match."""

    query_id: str
    ok: bool
    error: str = ""
    """Why there is no page (Prefect unreachable, timed out, bad query), for the operator."""
    total: int = 0
    """`count_flow_runs` with the same filters: every run Prefect holds, not the mirror's;
    -1 when the query asked for no count (`counted: false`)."""
    offset: int = 0
    runs: list[FlowRun] = []
    """Built as the bridge builds the mirror's documents (engine/bridge/documents.py)."""
    answered_at: str = ""
    task_runs: list[TaskRun] = []
    """For `run_of`: the run's task runs (`runs` holds the run itself)."""
    lineage: Lineage | None = None
    """For `run_of`: its latest attempt's lineage from the engine's lineage table (Redis
    drops it with the run), None if the table has none."""
    complete: bool = True
    """For a log copy: False when it stopped at LOG_COPY_MAX_BYTES or LOG_COPY_SECONDS
    (`error` says which); the copy holds the oldest lines up to there."""
    cached: bool = False
    """True when this query cost Prefect no call of its own: a page answered less than
    QUERY_CACHE_SECONDS ago, or one the engine read ahead (kept PREFETCH_SECONDS) or was
    already fetching."""


def new_query(**fields: Any) -> RunQuery:
    """A query with a fresh id and a deadline QUERY_SECONDS + 1 s away."""
    return RunQuery(id=uuid.uuid4().hex, deadline=deadline_after(QUERY_SECONDS + 1.0), **fields)


class HistoryClient:
    """`ask` sends a query and blocks until its page or `timeout` (for a thread)."""

    def __init__(self, client: redis.Redis, keys: Keys) -> None:
        self.client = client
        self.keys = keys

    def send(self, query: RunQuery) -> None:
        self.client.xadd(
            self.keys.queries,
            {QUERY_FIELD: encode(query)},
            maxlen=QUERIES_MAXLEN,
            approximate=True,
        )

    def wait(
        self, query_id: str, timeout: float, gone: Callable[[], bool] = lambda: False
    ) -> RunPage | None:
        """The page, or None if none arrived within `timeout` seconds or once `gone()` (the
        asker stopped waiting; checked every second)."""
        key = self.keys.query_result(query_id)
        deadline = time.monotonic() + timeout
        while True:
            left_ms = int((deadline - time.monotonic()) * 1000)
            if left_ms <= 0 or gone():
                return None
            # XREAD BLOCK on a key that does not exist yet wakes when the engine writes it.
            reply: Any = self.client.xread({key: "0-0"}, count=1, block=min(left_ms, 1_000))
            for _stream, entries in reply or []:
                for _entry_id, fields in entries:
                    raw = fields.get(PAGE_FIELD.encode()) or fields.get(PAGE_FIELD)
                    return decode(raw, RunPage, key)

    def ask(
        self,
        query: RunQuery,
        timeout: float = QUERY_SECONDS + 1.0,
        gone: Callable[[], bool] = lambda: False,
    ) -> RunPage | None:
        self.send(query)
        return self.wait(query.id, timeout, gone)
