"""Follows one run's log stream for the log screen: the index a page at a time, then new
lines as they come; after a reconnect it goes on from the last indexed entry."""

from __future__ import annotations

from typing import Protocol

from console.data.cancelled import reraise_if_cancelled
from console.data.connection import Link, keep_following
from console.data.store import START_ID, LogEntry, RedisReader
from console.logs.index import LogIndex
from console.logs.source import PAGE, LogSource

TAIL_PAGE = 1000
"""Entries per read of new lines (with their text)."""


class LogTarget(Protocol):
    """What the follower tells (the log screen)."""

    def take_tail(self, entries: list[LogEntry]) -> None:
        """New entries with their fields: indexes and shows them."""

    def show_new(self, start: int) -> None:
        """Shows the lines indexed from position `start` on."""

    def show_busy(self, busy: str) -> None:
        """What the follower is doing (`reading 45%`), or '' when it is done."""

    def show_problem(self, problem: str) -> None:
        """Why Redis cannot be read, or '' once it can again."""

    def show_trimmed(self, note: str) -> None:
        """That the run's older lines are only in Prefect (the engine's memory budget
        dropped them from Redis), or ''."""


class LogFollower:
    """Reads flow run `flow_run_id`'s log stream into `index` for `target`, until cancelled.

    Args:
        reader: its connection (the follower closes it after a failure and at the end).
        copy_key: read this log copy from Prefect (`keys.log_copy`), not the mirror's
            stream; a copy has no trimmed lines to tell of.
    """

    def __init__(
        self,
        reader: RedisReader,
        flow_run_id: str,
        index: LogIndex,
        target: LogTarget,
        copy_key: str = "",
    ) -> None:
        self.reader = reader
        self.flow_run_id = flow_run_id
        self.index = index
        self.target = target
        self.copy = bool(copy_key)
        self.source = LogSource(reader, flow_run_id, key=copy_key)
        """Line and text pages for the view, the search and saving (same connection)."""
        self.indexed = False
        """The first pass over the stream is done (searches need it)."""

    async def follow(self) -> None:
        await keep_following(self._session, self.reader.close, self._report)

    async def _session(self, link: Link) -> None:
        reader, index, target = self.reader, self.index, self.target
        if self.indexed:  # after a reconnect: what came meanwhile, with text
            page = await reader.read_logs(self.source.key, index.last_id or START_ID, TAIL_PAGE)
            link.up()  # Redis answers again: the problem goes before the lines show
            target.take_tail(page)
            while len(page) == TAIL_PAGE:
                after = index.last_id or START_ID
                page = await reader.read_logs(self.source.key, after, TAIL_PAGE)
                target.take_tail(page)
        else:
            total = await self.source.read_length()
            while not self.indexed:  # the index, a page at a time
                start = len(index)
                got = await self.source.read_index_page(index, index.last_id)
                target.show_new(start)
                done = len(index) * 100 // max(total, 1)
                target.show_busy("" if got < PAGE else f"reading {min(done, 99)}%")
                if got < PAGE:
                    self.indexed = True
            link.up()
        while True:
            reraise_if_cancelled()
            # Checked each time the tail returns (at least once per block time).
            await self._show_trim()
            after = index.last_id or START_ID
            target.take_tail(await reader.tail_logs(self.source.key, after, TAIL_PAGE))

    async def _show_trim(self) -> None:
        if self.copy:
            return
        trim = await self.reader.read_log_trim(self.flow_run_id)
        dropped = f"{trim.lines_dropped:,} older lines only in Prefect (p)" if trim else ""
        self.target.show_trimmed(dropped)

    def _report(self, connected: bool, reason: str) -> None:
        self.target.show_problem("" if connected else f"Redis: {reason}; retrying")
