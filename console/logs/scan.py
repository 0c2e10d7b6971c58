"""Whole-log passes of the log screen: a regex over every message, and saving a view.

Both read the stream in pages (`LogSource`) and report progress after each page, so the
screen can show it; neither keeps more than a page of text in memory.
"""

from __future__ import annotations

import re
from array import array
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from pathlib import Path

from console.logs.chunk_search import chunk_safe, matching_lines
from console.logs.index import LogIndex, split_id
from console.logs.lines import plain_line
from console.logs.source import LogSource
from engine.contract.documents import LogLine
from engine.contract.paths import state_dir

SAVE_PAGE = 2_000
"""Lines fetched per XRANGE pipeline while saving a short view."""
SAVE_BY_ID = 20_000
"""Views up to this many lines are saved by fetching their lines by ID."""
TRIMMED = "(line trimmed from Redis)"


def compile_pattern(text: str) -> tuple[re.Pattern[str] | None, str]:
    """The regex, ignoring case unless it has a capital (as `less -i`), or (None, why)."""
    flags = 0 if any(c.isupper() for c in text) else re.IGNORECASE
    try:
        return re.compile(text, flags), ""
    except re.error as exc:
        return None, str(exc)


async def scan_text(
    source: LogSource,
    index: LogIndex,
    pattern: re.Pattern[str],
    progress: Callable[[int], None],
) -> array[int]:
    """Positions of the indexed lines whose message `pattern` finds, in stream order.

    The lines the mirror's text chunks hold are searched there (a few MB of compressed
    text, see engine/contract/log_chunks.py), the others read from the stream a page at a
    time. Lines indexed while the scan runs (the live tail) are scanned too, so that none
    falls between the scan and the screen testing new lines itself once the scan is done.
    """
    scan = _Scan(source, index, pattern, progress)
    if chunk_safe(pattern):
        await scan.chunks()
    await scan.stream(until=None)
    return scan.found


@dataclass
class _Scan:
    """One search's progress through the index: `position` is the next line to test,
    `after` the stream ID the stream reading goes on from."""

    source: LogSource
    index: LogIndex
    pattern: re.Pattern[str]
    progress: Callable[[int], None]
    found: array[int] = field(default_factory=lambda: array("q"))
    position: int = 0
    after: str | None = None

    async def chunks(self) -> None:
        """Searches every chunk of indexed lines; the lines between chunks (a chunk gone,
        unreadable, or dropped with the stream's oldest lines) from the stream.

        A chunk reaching past the index (lines not indexed yet) is left to the stream
        reading, which keeps to what is indexed.
        """
        index = self.index
        last_indexed = index.last_id
        for number in await self.source.read_chunk_numbers():
            chunk = await self.source.read_chunk(number)
            if chunk is None:
                continue
            ids = chunk.ids()
            if last_indexed is None or split_id(ids[-1]) > split_id(last_indexed):
                return
            first = index.first_from(ids[0])
            if first < self.position:
                continue  # lines already searched (never from the mirror's own chunks)
            await self.stream(until=first)
            for line in matching_lines(chunk, self.pattern):
                at = self._position_of(first + line, ids[line])
                if at is not None:
                    self.found.append(at)
            self.after = ids[-1]
            self.position = index.first_from(self.after)
            if self.position < len(index) and index.entry_id(self.position) == self.after:
                self.position += 1
            self.progress(self.position)

    def _position_of(self, guess: int, entry_id: str) -> int | None:
        """Where the chunk's line `entry_id` is in the index: at `guess` unless lines
        trimmed since indexing left holes."""
        ms, seq = split_id(entry_id)
        index = self.index
        if guess < len(index) and index.ms[guess] == ms and index.seq[guess] == seq:
            return guess
        return index.position_of(entry_id)

    async def stream(self, until: int | None) -> None:
        """Tests the indexed lines from `position` up to `until` (None: all, the ones
        indexed meanwhile too), read from the stream in pages."""
        index = self.index
        ms_of, seq_of = index.ms, index.seq

        def end() -> int:
            return len(index) if until is None else min(until, len(index))

        while self.position < end():
            page = await self.source.read_text_page(self.after)
            if not page.ids:
                break
            stop = end()  # the index grows only while this awaits
            for entry_id, msg in zip(page.ids, page.messages, strict=True):
                ms, seq = split_id(entry_id)
                # Lines trimmed from the stream since indexing are skipped over.
                position = self.position
                while position < stop and (ms_of[position], seq_of[position]) < (ms, seq):
                    position += 1
                self.position = position
                if position >= stop:
                    break  # past what is indexed: the screen tests those lines as they come
                if ms_of[position] == ms and seq_of[position] == seq:
                    if self.pattern.search(msg):
                        self.found.append(position)
                    self.position = position + 1
                self.after = entry_id
            self.progress(self.position)


async def save_view(
    source: LogSource,
    index: LogIndex,
    positions: Sequence[int],
    path: Path,
    tag: Callable[[int], str],
    zone: tzinfo | None,
    timestamps: bool,
    progress: Callable[[int], None],
) -> int:
    """Writes the lines at `positions` (sorted) to `path` as shown, without styles; how many.

    A short view is fetched by ID; a long one by reading the stream's pages from its first
    line on (one Lua call per PAGE entries), which beats one XRANGE per scattered line.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as out:

        def write(position: int, line: LogLine | None) -> None:
            if line is None:
                out.write(TRIMMED + "\n")
            else:
                out.write(plain_line(line, tag(position), zone, timestamps) + "\n")

        if len(positions) <= SAVE_BY_ID:
            for start in range(0, len(positions), SAVE_PAGE):
                chunk = positions[start : start + SAVE_PAGE]
                lines = await source.read_lines(index, chunk)
                for position in chunk:
                    write(position, lines.get(position))
                progress(start + len(chunk))
            return len(positions)
        done = 0
        first = positions[0] if positions else 0
        after = index.entry_id(first - 1) if first > 0 else None
        ms_of, seq_of = index.ms, index.seq
        while done < len(positions):
            page = await source.read_fields_page(after)
            if not page:
                break
            for entry in page:
                ms, seq = split_id(entry.entry_id)
                while done < len(positions) and (
                    ms_of[positions[done]],
                    seq_of[positions[done]],
                ) < (ms, seq):
                    write(positions[done], None)  # trimmed since it was indexed
                    done += 1
                if done == len(positions):
                    break
                wanted = positions[done]
                if ms_of[wanted] == ms and seq_of[wanted] == seq:
                    write(wanted, entry.line)
                    done += 1
            after = page[-1].entry_id
            progress(done)
        for position in positions[done:]:
            write(position, None)
    return len(positions)


def default_save_path(run_name: str, scope: str, now: datetime) -> Path:
    """`<state dir>/saved-logs/<run>-<task or all>-<YYYYmmdd-HHMMSS>.log`, file-name safe."""
    name = re.sub(r"[^\w.-]+", "_", f"{run_name}-{scope}-{now.strftime('%Y%m%d-%H%M%S')}")
    return state_dir() / "saved-logs" / f"{name}.log"
