"""Reads a run's log stream for the log screen: the index in pages, lines by ID, text scans.

Scanning a million entries with XRANGE costs about 7 million reply elements, which redis-py
decodes in Python at roughly 30 s per million lines. So the full scans (building the index;
searching, hiding and saving a long view) run one of two small read-only Lua scripts that
return each page as one string: one record per entry, only the fields needed. A page is
`PAGE` entries, so Redis is never busy for long and other clients are served between pages.
Visible lines are fetched with ordinary XRANGE calls by stream ID, pipelined. Where scripts
are not allowed (an ACL without EVALSHA), the same pages are read with plain XRANGE: slower,
same result.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import msgspec
from redis.exceptions import NoPermissionError, NoScriptError, ResponseError

from console.data.store import LogEntry, RedisReader, log_entry
from console.logs.index import LogIndex, parse_ts
from engine.contract.documents import LogLine
from engine.contract.log_chunks import (
    CHUNK_COUNT,
    CHUNK_OLDEST,
    FIELD,
    LOG_FIELDS_SCRIPT,
    RECORD,
    LogChunk,
    chunk_field,
    decode_chunk,
)

TAIL = "tail"
"""`_INDEX_SCRIPT`'s first argument for the stream's newest page."""
YIELD_AFTER_S = 0.002
"""Taking in an index page gives the event loop a turn this often, so a key pressed while
a million lines are indexed is handled at once, not after the page."""

PAGE = 10_000
"""Entries per index or text page (one Lua call each: about 50 ms of Redis, then as much
of the console's event loop to take it in, so neither stalls noticeably)."""

LINE_FIELDS = ("ts", "level", "level_name", "task_run_id", "msg")
"""What drawing or saving a line needs."""

_INDEX_SCRIPT = """
-- ARGV: after an ID ('-': from the start; 'tail': the newest entries), count, before an ID
-- ('+': to the end). Records come oldest first either way.
local tail = ARGV[1] == 'tail'
local entries
if tail then
  entries = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', tonumber(ARGV[2]))
else
  local start, stop = ARGV[1], ARGV[3]
  if start ~= '-' then start = '(' .. start end
  if stop ~= '+' then stop = '(' .. stop end
  entries = redis.call('XRANGE', KEYS[1], start, stop, 'COUNT', tonumber(ARGV[2]))
end
local find, match, gsub, gmatch = string.find, string.match, string.gsub, string.gmatch
local function chars(line)
  -- characters, not bytes: count the bytes that start a UTF-8 sequence
  if find(line, '[\\128-\\255]') then
    local _, starts = gsub(line, '[^\\128-\\191]', '')
    return starts
  end
  return #line
end
local out = {}
local count = #entries
for i = 1, count do
  local e = entries[tail and count - i + 1 or i]
  local f = e[2]
  local level, task, ts, msg = '0', '', '', ''
  for j = 1, #f, 2 do
    local k = f[j]
    if k == 'level' then level = f[j + 1]
    elseif k == 'task_run_id' then task = f[j + 1]
    elseif k == 'ts' then ts = f[j + 1]
    elseif k == 'msg' then msg = f[j + 1] end
  end
  local retry = '0'
  if find(msg, 'Retry', 1, true) then
    retry = match(msg, ' %- Retry (%d+)/%d+ will start') or '0'
  end
  local lens
  if find(msg, '\\n', 1, true) then
    local parts = {}
    for line in gmatch(msg .. '\\n', '([^\\n]*)\\n') do parts[#parts + 1] = chars(line) end
    lens = table.concat(parts, ',')
  else
    lens = chars(msg)
  end
  out[i] = e[1] .. '\\31' .. level .. '\\31' .. task .. '\\31' .. ts .. '\\31' .. retry
    .. '\\31' .. lens
end
return table.concat(out, '\\30')
"""


@dataclass(frozen=True)
class TextPage:
    """Messages of up to PAGE entries, in stream order."""

    ids: list[str]
    messages: list[str]

    @property
    def last_id(self) -> str | None:
        return self.ids[-1] if self.ids else None


class LogSource:
    """The log stream of one flow run, read through `reader`'s connection: the mirror's, or
    (`key`) another stream of the same entries, such as the run's log copy from Prefect."""

    def __init__(
        self, reader: RedisReader, flow_run_id: str, use_lua: bool = True, key: str = ""
    ) -> None:
        self.reader = reader
        self.flow_run_id = flow_run_id
        self.key = key or reader.keys.logs(flow_run_id)
        self.chunks_key = reader.keys.log_chunks(flow_run_id)
        self.use_lua = use_lua
        """False once Redis refused a script (then plain XRANGE pages are read)."""
        self._index_script: Any = None
        self._fields_script: Any = None

    async def read_length(self) -> int:
        return int(await self.reader.client.xlen(self.key))

    async def read_chunk_numbers(self) -> range:
        """The numbers of the text chunks the mirror keeps for this stream, oldest first
        (none for a stream that is not the mirror's, such as a log copy)."""
        if self.key != self.reader.keys.logs(self.flow_run_id):
            return range(0)
        oldest, count = await self.reader.client.hmget(self.chunks_key, [CHUNK_OLDEST, CHUNK_COUNT])
        return range(int(oldest or 0), int(count or 0))

    async def read_chunk(self, number: int) -> LogChunk | None:
        """Chunk `number`, or None if it is gone (beyond the stream's cap) or unreadable."""
        blob = await self.reader.client.execute_command(
            "HGET", self.chunks_key, chunk_field(number), NEVER_DECODE=True
        )
        if blob is None:
            return None
        try:
            return decode_chunk(blob)
        except ValueError:
            return None  # the search reads those lines from the stream instead

    async def read_index_page(
        self,
        index: LogIndex,
        after_id: str | None,
        before_id: str | None = None,
        count: int = 0,
    ) -> int:
        """Indexes up to `count` (0: PAGE) entries after `after_id` (None: from the start)
        and before `before_id` (None: to the end); how many."""
        return await self._index_page(index, after_id or "-", before_id or "+", count or PAGE)

    async def read_tail_page(self, index: LogIndex) -> int:
        """Indexes the stream's newest PAGE entries, oldest first; how many."""
        return await self._index_page(index, TAIL, "+", PAGE)

    async def _index_page(self, index: LogIndex, after: str, before: str, count: int) -> int:
        if self._index_script is None:
            self._index_script = self.reader.client.register_script(_INDEX_SCRIPT)
        blob = await self._run(self._index_script, [after, count, before])
        if blob is None:
            entries = await self._xrange_page(after, before, count)
            for entry in entries:
                index.add_line(entry.entry_id, entry.line)
            return len(entries)
        if not blob:
            return 0
        records = blob.split(RECORD)
        add = index.add
        clock = time.perf_counter
        since_yield = clock()
        for number, record in enumerate(records):
            if number % 200 == 0 and clock() - since_yield > YIELD_AFTER_S:
                await asyncio.sleep(0)  # keys and redraws go first
                since_yield = clock()
            entry_id, level, task, ts, retry, lens = record.split(FIELD)
            add(
                entry_id,
                min(255, int(level)) if level.isdigit() else 0,
                task,
                parse_ts(ts),
                tuple(int(n) for n in lens.split(",")),
                int(retry),
            )
        return len(records)

    async def read_text_page(self, after_id: str | None) -> TextPage:
        """The messages of up to PAGE entries after `after_id` (None: from the start)."""
        blob = await self._fields_blob(after_id, ("msg",))
        if blob is None:
            entries = await self._xrange_page(after_id)
            return TextPage([e.entry_id for e in entries], [e.line.msg for e in entries])
        ids, messages = [], []
        if blob:
            for record in blob.split(RECORD):
                entry_id, msg = record.split(FIELD)
                ids.append(entry_id)
                messages.append(msg)
        return TextPage(ids, messages)

    async def read_fields_page(
        self, after_id: str | None, names: Sequence[str] = LINE_FIELDS
    ) -> list[LogEntry]:
        """Up to PAGE entries after `after_id` (None: from the start), only fields `names`
        (the others keep LogLine's defaults)."""
        blob = await self._fields_blob(after_id, names)
        if blob is None:
            return await self._xrange_page(after_id)
        if not blob:
            return []
        ids: list[str] = []
        fields: list[dict[str, str]] = []
        for record in blob.split(RECORD):
            entry_id, *values = record.split(FIELD)
            ids.append(entry_id)
            fields.append(dict(zip(names, values, strict=True)))
        # One conversion per page (the script's values are always strings, so it cannot
        # fail): about as fast as the dicts themselves.
        lines = msgspec.convert(fields, list[LogLine])
        return [LogEntry(i, line) for i, line in zip(ids, lines, strict=True)]

    async def _fields_blob(self, after_id: str | None, names: Sequence[str]) -> str | None:
        if self._fields_script is None:
            self._fields_script = self.reader.client.register_script(LOG_FIELDS_SCRIPT)
        return await self._run(self._fields_script, [after_id or "-", PAGE, *names])

    async def _run(self, script: Any, args: list[Any]) -> str | None:
        """The script's page, or None if Redis does not allow scripts here."""
        if not self.use_lua:
            return None
        try:
            return _text(await self._evalsha(script, args))
        except NoPermissionError:
            self.use_lua = False
        except ResponseError as exc:
            if "unknown command" not in str(exc).lower():  # scripting disabled
                raise
            self.use_lua = False
        return None

    async def _evalsha(self, script: Any, args: list[Any]) -> Any:
        """The script's reply as bytes (loading it first if Redis lost it): one entry that
        is not UTF-8 must not fail the decoding of its whole page."""
        client = self.reader.client
        try:
            return await client.execute_command(
                "EVALSHA", script.sha, 1, self.key, *args, NEVER_DECODE=True
            )
        except NoScriptError:
            await client.script_load(script.script)
            return await client.execute_command(
                "EVALSHA", script.sha, 1, self.key, *args, NEVER_DECODE=True
            )

    async def _xrange_page(
        self, after: str | None, before: str = "+", count: int = 0
    ) -> list[LogEntry]:
        """Without Lua: the page `_INDEX_SCRIPT` reads (`after` TAIL: the newest)."""
        client, count = self.reader.client, count or PAGE
        if after == TAIL:
            newest: Any = await client.execute_command(
                "XREVRANGE", self.key, "+", "-", "COUNT", count, NEVER_DECODE=True
            )
            entries: Any = newest[::-1]
        else:
            start = "-" if after in (None, "-") else f"({after}"
            stop = before if before == "+" else f"({before}"
            entries = await client.execute_command(
                "XRANGE", self.key, start, stop, "COUNT", count, NEVER_DECODE=True
            )
        return [log_entry(self.key, entry_id, fields) for entry_id, fields in entries]

    async def read_lines(self, index: LogIndex, positions: Sequence[int]) -> dict[int, LogLine]:
        """The fields of the lines at `positions` (sorted), one XRANGE per consecutive run.

        Lines trimmed from Redis since they were indexed are missing from the answer.
        """
        runs: list[tuple[int, int]] = []
        for position in positions:
            if runs and runs[-1][1] == position - 1:
                runs[-1] = (runs[-1][0], position)
            else:
                runs.append((position, position))
        if not runs:
            return {}
        # The IDs now: the index can move (older lines put in front) while this awaits.
        ids = {p: index.entry_id(p) for first, last in runs for p in range(first, last + 1)}
        pipe = self.reader.client.pipeline(transaction=False)
        for first, last in runs:
            # Bytes, decoded per entry: a bad one is counted and stands in, not a failed read.
            pipe.execute_command(
                "XRANGE",
                self.key,
                ids[first],
                ids[last],
                "COUNT",
                last - first + 1,
                NEVER_DECODE=True,
            )
        answers: list[Any] = await pipe.execute()
        lines: dict[int, LogLine] = {}
        for (first, last), entries in zip(runs, answers, strict=True):
            position = first
            for raw_id, fields in entries:
                entry = log_entry(self.key, raw_id, fields)
                # Walk forward to the entry's position: a trimmed entry leaves a hole.
                while position <= last and ids[position] != entry.entry_id:
                    position += 1
                if position > last:
                    break
                lines[position] = entry.line
                position += 1
        return lines


def _text(blob: bytes | str) -> str:
    """A script's page as text; bytes that are not UTF-8 (a bad entry) read as U+FFFD."""
    return blob.decode(errors="replace") if isinstance(blob, bytes) else str(blob)
