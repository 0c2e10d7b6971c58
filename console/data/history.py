"""The runs table's window into the whole history in Prefect, asked of the engine.

The console stays Redis-only: a `RunQuery` goes on `{p}:queries` and the engine answers it
from Prefect (engine/bridge/history.py). `HistoryView` is what one view of the table (its
filters and sort) has learned so far: the true total and the pages loaded, oldest last.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

import msgspec
import redis
from textual.message import Message

from console.data.connection import describe_error, sync_client
from engine.contract.commands import deadline_after
from engine.contract.documents import FlowRun
from engine.contract.history import (
    LOG_COPY_SECONDS,
    QUERY_PAGE_DEFAULT,
    QUERY_SECONDS,
    HistoryClient,
    RunPage,
    RunQuery,
)
from engine.contract.keys import Keys
from engine.contract.times import parse_iso

HISTORY_PAGE = QUERY_PAGE_DEFAULT
"""Runs asked per page (the engine allows up to QUERY_PAGE_MAX)."""
ANSWER_TIMEOUT = QUERY_SECONDS + 1.0
"""Seconds the console waits for a page before saying the engine did not answer."""

COPY_ANSWER_TIMEOUT = LOG_COPY_SECONDS + 15.0
"""Seconds the console waits for a log copy to be done: the engine stops one after
LOG_COPY_SECONDS (a copy asked while another is made waits for it, and is answered later;
its lines still show as they come)."""

TOTAL_REFRESH_SECONDS = 10.0
"""How often a shown total is counted again (runs keep arriving while the view is open)."""

TOTAL_BEHIND_SECONDS = 1.0
"""How soon it is counted again while the table shows more of the view's runs than it says
(a run just triggered: `1 in Prefect; 2 shown` stood for up to 10 s)."""

HistoryStatus = Literal["loading", "ok", "failed"]


@dataclass
class HistoryView:
    """Pages of one view (`key`: its filters and sort) and Prefect's total for it.

    Attributes:
        base: the view's query at offset 0, its `until` pinned when the view was set, so
            later pages are slices of the same list even as new runs arrive.
    """

    key: tuple[object, ...]
    base: RunQuery
    runs: dict[str, FlowRun] = field(default_factory=dict)
    """Flow run id -> document as Prefect reported it, in page order."""
    total: int | None = None
    status: HistoryStatus = "loading"
    error: str = ""
    loading: bool = True
    """A page is on its way: no second ask for the next one meanwhile."""
    exhausted: bool = False
    """Every run the total counts is loaded."""
    counted_at: float = 0.0
    """`time.monotonic()` of the last count asked (first page or refresh)."""
    shown_at_count: int = 0
    """The view's rows on screen when that count was asked."""

    @property
    def next_offset(self) -> int:
        return len(self.runs)

    def wants_more(self) -> bool:
        """The next page may be asked: the last answer was a page (or an older page failed:
        the cursor reaching the last row again asks again)."""
        answered = self.status == "ok" or (self.status == "failed" and bool(self.runs))
        return answered and not self.loading and not self.exhausted

    def count_due(self, now: float, shown: int = 0) -> bool:
        """The total is to be counted again: every TOTAL_REFRESH_SECONDS, or after
        TOTAL_BEHIND_SECONDS once `shown` (the view's rows on screen) exceeds it and has
        grown since the last count (rows the total never counts, such as a run due in the
        next minutes, bring no count each second)."""
        if self.status != "ok":
            return False
        behind = self.total is not None and shown > max(self.total, self.shown_at_count)
        return now - self.counted_at >= (TOTAL_BEHIND_SECONDS if behind else TOTAL_REFRESH_SECONDS)

    def note_count_asked(self, now: float, shown: int) -> None:
        self.counted_at, self.shown_at_count = now, shown

    def retry_due(self, now: float) -> bool:
        """A first page that failed (no engine, Prefect away) is asked again this often (an
        older page that failed is asked again by the cursor reaching the last row)."""
        failed_first = self.status == "failed" and not self.runs
        return failed_first and now - self.counted_at >= TOTAL_REFRESH_SECONDS

    def count_query(self, now: datetime) -> RunQuery:
        """The view's count up to `now` (runs created since the view was set count, those
        scheduled ahead do not), one run, no page. The time range slides with it: `last 7d`
        counted an hour after it was set is the last 7 days, not 7 days and an hour (the
        title said 8,064 while Prefect counted 8,063 two minutes on)."""
        since, pinned = parse_iso(self.base.since), parse_iso(self.base.until)
        if since is not None and pinned is not None:
            since += now - pinned
        return msgspec.structs.replace(
            self.base,
            since=since.isoformat() if since is not None else None,
            until=now.isoformat(),
            limit=1,
            offset=0,
        )

    def apply_count(self, page: RunPage | None) -> None:
        """A refreshed total; a failed count keeps the last one (the next tick asks again)."""
        if page is not None and page.ok and page.total >= 0:
            self.total = page.total
            self.exhausted = len(self.runs) >= page.total

    def apply(self, page: RunPage | None, reason: str) -> None:
        """Takes one page in; None (no answer) or a failed page keeps what was loaded."""
        self.loading = False
        if page is None or not page.ok:
            self.status = "failed"
            self.error = page.error if page is not None else reason
            return
        for doc in page.runs:
            self.runs.setdefault(doc.id, doc)
        if page.total >= 0:  # a next page is asked without a count (`counted: false`)
            self.total = page.total
        self.status, self.error = "ok", ""
        self.exhausted = not page.runs or len(self.runs) >= (self.total or 0)


class HistoryAnswered(Message):
    """A page (or why there is none) for the view `key` at `offset`."""

    def __init__(
        self,
        key: tuple[object, ...],
        offset: int,
        page: RunPage | None,
        reason: str,
        count_only: bool = False,
    ) -> None:
        super().__init__()
        self.key, self.offset, self.page, self.reason = key, offset, page, reason
        self.count_only = count_only
        """The answer to a total's refresh, not a page."""


class HistoryAsker:
    """Asks one query and waits for its page: blocking, for a thread worker."""

    def __init__(self, redis_url: str, keys: Keys) -> None:
        self.redis_url, self.keys = redis_url, keys
        self._client: redis.Redis | None = None

    def ask(self, query: RunQuery) -> tuple[RunPage | None, str]:
        """The page, or None and why (Redis refused or unreachable, no answer in time)."""
        # A fresh id (its result key) and deadline per ask: a page asked again is a new query.
        query = msgspec.structs.replace(
            query, id=uuid.uuid4().hex, deadline=deadline_after(ANSWER_TIMEOUT)
        )
        return self._ask(query, ANSWER_TIMEOUT)

    def copy_log(
        self, copy_id: str, flow_run_id: str, gone: Callable[[], bool]
    ) -> tuple[RunPage | None, str]:
        """Asks the engine to copy the run's whole log from Prefect into
        `keys.log_copy(copy_id)` (the lines appear as it reads them); waits for it to be done,
        a second at a time, until `gone()` (the screen closed) says nobody waits any more."""
        query = RunQuery(
            id=copy_id, log_copy_of=flow_run_id, deadline=deadline_after(ANSWER_TIMEOUT)
        )
        return self._ask(query, COPY_ANSWER_TIMEOUT, gone)

    def older_run(self, flow_run_id: str) -> tuple[RunPage | None, str]:
        """One run and its task runs from Prefect (`RunQuery.run_of`): for a run screen
        opened on a run the mirror no longer holds."""
        query = RunQuery(
            id=uuid.uuid4().hex, run_of=flow_run_id, deadline=deadline_after(ANSWER_TIMEOUT)
        )
        return self._ask(query, ANSWER_TIMEOUT)

    def _ask(
        self, query: RunQuery, timeout: float, gone: Callable[[], bool] = lambda: False
    ) -> tuple[RunPage | None, str]:
        try:
            if self._client is None:
                self._client = sync_client(self.redis_url)
            page = HistoryClient(self._client, self.keys).ask(query, timeout, gone)
        except redis.RedisError as exc:
            return None, f"query not sent ({describe_error(exc)})"
        if page is None:
            return None, f"the engine did not answer within {timeout:.0f} s"
        return page, ""

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
