"""Follows one run's log stream for the log screen: its newest page first (shown at once),
then the older lines a page at a time into a second index, put in front when all are read,
and new lines as they come, meanwhile too; after a reconnect it goes on where it was."""

from __future__ import annotations

from typing import Protocol

from console.data.cancelled import reraise_if_cancelled
from console.data.connection import Link, keep_following
from console.data.store import START_ID, LogEntry, RedisReader
from console.logs.index import LogIndex
from console.logs.source import PAGE, LogSource

TAIL_PAGE = 1000
"""Entries per read of new lines (with their text)."""
OLDER_PAGE = 2_000
"""Entries per read of the lines before the newest page: a read keeps Redis busy about
20 ms, so the visible lines fetched meanwhile (a key's PageUp) do not wait long behind it."""


class LogTarget(Protocol):
    """What the follower tells (the log screen)."""

    def take_tail(self, entries: list[LogEntry]) -> None:
        """New entries with their fields: indexes and shows them."""

    def show_new(self, start: int) -> None:
        """Shows the lines indexed from position `start` on."""

    def show_older(self, offset: int) -> None:
        """The older lines were put in front: every position moved by `offset`."""

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
        self._older: LogIndex | None = None
        """The lines before the newest page, while they are being read."""
        self._total = 0
        """The stream's length when it was opened (for the progress shown)."""

    async def follow(self) -> None:
        await keep_following(self._session, self.reader.close, self._report)

    async def _session(self, link: Link) -> None:
        reader, index, target = self.reader, self.index, self.target
        if not self.indexed and self._older is None and not len(index):
            self._total = await self.source.read_length()
            got = await self.source.read_tail_page(index)
            target.show_new(0)
            if got < PAGE:
                self.indexed = True  # the whole stream was one page
            else:
                self._older = LogIndex()
                target.show_busy("reading 0%")
        link.up()  # Redis answers again: the problem goes before the lines show
        while self._older is not None:  # the older lines, with new ones between pages
            await self._read_older(self._older)
            await self._take_new(index.last_id or START_ID)
        await self._take_new(index.last_id or START_ID)  # what came meanwhile
        while True:
            reraise_if_cancelled()
            # Checked each time the tail returns (at least once per block time).
            await self._show_trim()
            after = index.last_id or START_ID
            target.take_tail(await reader.tail_logs(self.source.key, after, TAIL_PAGE))

    async def _read_older(self, older: LogIndex) -> None:
        """One page of the lines before the newest page; once all are read, they go in
        front of the index."""
        before = self.index.entry_id(0)
        got = await self.source.read_index_page(older, older.last_id, before, OLDER_PAGE)
        done = len(older) * 100 // max(self._total - PAGE, 1)
        self.target.show_busy("" if got < OLDER_PAGE else f"reading {min(done, 99)}%")
        if got < OLDER_PAGE:
            self._older = None
            self.indexed = True
            self.target.show_older(self.index.prepend(older))

    async def _take_new(self, after: str) -> None:
        """The lines after `after`, with text, without waiting for more."""
        page = await self.reader.read_logs(self.source.key, after, TAIL_PAGE)
        self.target.take_tail(page)
        while len(page) == TAIL_PAGE:
            after = self.index.last_id or after
            page = await self.reader.read_logs(self.source.key, after, TAIL_PAGE)
            self.target.take_tail(page)

    async def _show_trim(self) -> None:
        if self.copy:
            return
        trim = await self.reader.read_log_trim(self.flow_run_id)
        dropped = f"{trim.lines_dropped:,} older lines only in Prefect (p)" if trim else ""
        self.target.show_trimmed(dropped)

    def _report(self, connected: bool, reason: str) -> None:
        self.target.show_problem("" if connected else f"Redis: {reason}; retrying")
