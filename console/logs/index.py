"""A compact in-memory index of one run's log stream, and the views filtered from it.

A run can have a million log lines; keeping a `Text` (or even the field dict) per line would
cost gigabytes. The index keeps, per stream entry, only what filtering and layout need, in
typed arrays (about 33 bytes a line): the stream ID (to fetch the line again by ID),
level, task, attempt, time and the message's length. Lines themselves are fetched from Redis
in pages when they become visible (`console.logs.source`). Pure logic: no Redis, no Textual.

Attempts: Prefect writes no attempt number on log lines, but before each retry of a task it
logs `Task run failed with ...: ... - Retry N/M will start ...` on that task. A task's lines
after its `Retry N/...` line belong to attempt N+1. Stream order is arrival order, which for
one task is the order Prefect wrote them (one process, one websocket, backfill appends only
newer lines), so this rule holds without trusting clocks.
"""

from __future__ import annotations

import re
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from dataclasses import dataclass

from engine.contract.documents import LogLine
from engine.contract.times import parse_iso

RETRY_MESSAGE = re.compile(r" - Retry (\d+)/\d+ will start")
"""Prefect 3's task engine log line before a retry (prefect/task_engine.py)."""

LEVELS: tuple[tuple[int, str], ...] = (
    (0, "ALL"),
    (10, "DEBUG"),
    (20, "INFO"),
    (30, "WARNING"),
    (40, "ERROR"),
)
"""Minimum levels the `m` key cycles through."""

WINDOWS: tuple[tuple[float, str], ...] = (
    (0, "all"),
    (60, "last 1m"),
    (300, "last 5m"),
    (900, "last 15m"),
    (3600, "last 1h"),
)
"""Time windows the `R` key cycles through, in seconds (0: the whole log)."""


def parse_level(value: str | None) -> int:
    try:
        return max(0, min(255, int(value or 0)))
    except ValueError:
        return 0


def parse_ts(value: str | None) -> float:
    """Epoch seconds of an ISO time; 0.0 if missing or unreadable (such lines sort first)."""
    try:
        moment = parse_iso(value)
    except ValueError:
        return 0.0
    return moment.timestamp() if moment is not None else 0.0


def split_id(entry_id: str) -> tuple[int, int]:
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)


def line_lengths(msg: str) -> tuple[int, ...]:
    """Characters of each line of a message (most messages have one line)."""
    return tuple(len(part) for part in msg.split("\n"))


@dataclass(frozen=True)
class LogFilter:
    """Which indexed lines a view shows.

    Attributes:
        task: task run id, or None for every task (and flow-level lines).
        attempt: 1-based attempt of `task`, or 0 for every attempt.
        min_level: Python level number; lines below it are hidden.
        since: epoch seconds; lines logged earlier are hidden (0: no window).
    """

    task: str | None = None
    attempt: int = 0
    min_level: int = 0
    since: float = 0.0


class LogIndex:
    """What filtering and layout need about every line of a log stream, in stream order."""

    def __init__(self) -> None:
        self.ms = array("Q")
        """Stream ID milliseconds part, per line."""
        self.seq = array("Q")
        """Stream ID sequence part, per line."""
        self.level = array("B")
        self.task = array("H")
        """Index into `task_ids` (0 is the flow itself: an empty task_run_id)."""
        self.attempt = array("B")
        self.ts = array("d")
        self.length = array("I")
        """Characters of the message (of its longest line if it has several)."""
        self.multiline: dict[int, tuple[int, ...]] = {}
        """Line lengths of the few messages with newlines (tracebacks), by position."""
        self.task_ids: list[str] = [""]
        self._task_numbers: dict[str, int] = {"": 0}
        self._attempts: list[int] = [1]
        """The current attempt of each task, as the retry lines seen so far say."""
        self.hidden = bytearray()
        """1 for lines the hide pattern matched (the inverse filter), per line."""
        self.longest = 0
        self._retries: dict[int, int] = {}
        """N of each `Retry N/M will start` line, by position (`prepend` replays them)."""

    def hide_only(self, positions: Iterable[int] = ()) -> None:
        """Hides exactly the lines at `positions` (none given: every line shows again)."""
        self.hidden[:] = bytes(len(self))
        for position in positions:
            self.hidden[position] = 1

    def __len__(self) -> int:
        return len(self.ms)

    @property
    def last_id(self) -> str | None:
        if not self.ms:
            return None
        return f"{self.ms[-1]}-{self.seq[-1]}"

    def entry_id(self, position: int) -> str:
        return f"{self.ms[position]}-{self.seq[position]}"

    def position_of(self, entry_id: str) -> int | None:
        """The position of a stream ID (binary search: IDs only grow)."""
        at = self.first_from(entry_id)
        ms, seq = split_id(entry_id)
        if at < len(self.ms) and self.ms[at] == ms and self.seq[at] == seq:
            return at
        return None

    def first_from(self, entry_id: str) -> int:
        """The position of the first line whose ID is `entry_id` or later (len: none)."""
        ms, seq = split_id(entry_id)
        lo, hi = 0, len(self.ms)
        while lo < hi:
            mid = (lo + hi) // 2
            if (self.ms[mid], self.seq[mid]) < (ms, seq):
                lo = mid + 1
            else:
                hi = mid
        return lo

    def task_number(self, task_run_id: str) -> int:
        number = self._task_numbers.get(task_run_id)
        if number is None:
            number = len(self.task_ids)
            self.task_ids.append(task_run_id)
            self._task_numbers[task_run_id] = number
            self._attempts.append(1)
        return number

    def attempts_of(self, task_run_id: str) -> int:
        """How many attempts of the task the log shows (1 if it never retried)."""
        number = self._task_numbers.get(task_run_id)
        return 1 if number is None else self._attempts[number]

    def add(
        self,
        entry_id: str,
        level: int,
        task_run_id: str,
        ts: float,
        lengths: tuple[int, ...],
        retry: int = 0,
    ) -> int:
        """Indexes one line; `retry` is N of a `Retry N/M will start` line, else 0."""
        ms, seq = split_id(entry_id)
        task = self.task_number(task_run_id)
        position = len(self.ms)
        self.ms.append(ms)
        self.seq.append(seq)
        self.level.append(level)
        self.task.append(task)
        self.attempt.append(min(self._attempts[task], 255))
        self.ts.append(ts)
        longest = max(lengths) if lengths else 0
        self.length.append(longest)
        if len(lengths) > 1:
            self.multiline[position] = lengths
        self.hidden.append(0)
        self.longest = max(self.longest, longest)
        if retry and task:
            # The retry line closes attempt N; the task's next lines are attempt N+1.
            self._attempts[task] = max(self._attempts[task], retry + 1)
            self._retries[position] = retry
        return position

    def prepend(self, older: LogIndex) -> int:
        """Puts `older` (the stream's lines before this index's first) in front of these
        lines, in place; how far every position moved (len(older)).

        The log screen indexes a stream's newest page first, to show it at once, and the
        lines before it in a second index. This index's attempts were counted without the
        older lines' retries, so they are counted again, continuing from older's.
        """
        offset = len(older)
        if not offset:
            return 0
        remap = [older.task_number(task_id) for task_id in self.task_ids]
        task = array("H", (remap[number] for number in self.task))
        attempts = older._attempts
        attempt = array("B")
        for position, number in enumerate(task):
            attempt.append(min(attempts[number], 255))
            retry = self._retries.get(position)
            if retry and number:
                attempts[number] = max(attempts[number], retry + 1)
        self.ms = older.ms + self.ms
        self.seq = older.seq + self.seq
        self.level = older.level + self.level
        self.task = older.task + task
        self.attempt = older.attempt + attempt
        self.ts = older.ts + self.ts
        self.length = older.length + self.length
        self.hidden = older.hidden + self.hidden
        self.multiline = older.multiline | {p + offset: v for p, v in self.multiline.items()}
        self._retries = older._retries | {p + offset: r for p, r in self._retries.items()}
        self.task_ids = older.task_ids
        self._task_numbers = older._task_numbers
        self._attempts = attempts
        self.longest = max(self.longest, older.longest)
        return offset

    def add_line(self, entry_id: str, line: LogLine) -> int:
        """Indexes one decoded line (live lines from XREAD, pages read without Lua)."""
        msg = line.msg
        found = RETRY_MESSAGE.search(msg)
        return self.add(
            entry_id,
            parse_level(line.level),
            line.task_run_id,
            parse_ts(line.ts),
            line_lengths(msg),
            int(found.group(1)) if found else 0,
        )

    def lengths(self, position: int) -> tuple[int, ...]:
        return self.multiline.get(position) or (self.length[position],)

    def newest_ts(self) -> float:
        return max(self.ts[-1000:], default=0.0)

    def matches(self, position: int, flt: LogFilter, task: int | None) -> bool:
        """Whether the line at `position` passes `flt`; `task` is `flt.task`'s number."""
        if task is not None and self.task[position] != task:
            return False
        if flt.attempt and self.attempt[position] != flt.attempt:
            return False
        if self.level[position] < flt.min_level:
            return False
        if flt.since and self.ts[position] < flt.since:
            return False
        return not self.hidden[position]

    def view(self, flt: LogFilter, start: int = 0) -> array[int]:
        """Positions from `start` on that `flt` lets through, in stream order."""
        task = None if flt.task is None else self._task_numbers.get(flt.task, -1)
        if task == -1:
            return array("q")
        end = len(self.ms)
        unfiltered = task is None and not (flt.attempt or flt.min_level or flt.since)
        if unfiltered and not any(self.hidden[start:end]):
            return array("q", range(start, end))
        matches = self.matches
        return array("q", (p for p in range(start, end) if matches(p, flt, task)))


def row_of(view: array[int], position: int) -> int | None:
    """The row of `position` in a view, if the view shows it."""
    row = bisect_left(view, position)
    if row < len(view) and view[row] == position:
        return row
    return None


def visible_matches(view: array[int], matches: array[int]) -> array[int]:
    """The positions of `matches` the view shows, sorted (both inputs are sorted)."""
    shown = array("q")
    row = 0
    for position in matches:
        row = bisect_left(view, position, row)
        if row >= len(view):
            break
        if view[row] == position:
            shown.append(position)
    return shown


def step_match(shown: array[int], current: int | None, top: int, forward: bool) -> int:
    """The match `n` (forward) or `N` goes to; `shown` is sorted and not empty.

    From the current match, or from the top line if there is none; a current match that a
    filter now hides still counts as a place, so the nearest shown match each way is next.
    Past either end it wraps around, as in less.
    """
    if current is None:
        nth = bisect_left(shown, top) if forward else bisect_right(shown, top) - 1
    elif forward:
        nth = bisect_right(shown, current)
    else:
        nth = bisect_left(shown, current) - 1
    return shown[nth % len(shown)]
