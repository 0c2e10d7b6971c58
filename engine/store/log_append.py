"""Many log lines into their streams in one script call, instead of one XADD each.

A pipelined XADD costs redis-py ~30 µs of Python (packing seven arguments, parsing the
reply), which capped the bridge near 20,000 lines a second, GIL shared with the engine's
loop. Here the lines of a batch travel as one argument per stream: each line's values
joined by US, the message last and length-prefixed (it may hold any byte), and a small Lua
script splits them and XADDs each with the same MAXLEN. Values other than the message
never hold US (`_plain` turns one into a space: IDs, levels, timestamps, logger names).
A Redis that refuses scripts gets the pipelined XADDs, as before.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import msgspec

from engine.contract.documents import LogLine
from engine.contract.keys import LOG_LINE_MAX_BYTES, LOG_STREAM_MAXLEN
from engine.store.log_budget import ENTRY_OVERHEAD, capped

LINES_PER_CALL = 5_000
"""Lines per script call: Redis serves other clients between calls (~20 ms each)."""

APPEND_SCRIPT = """
local names = {}
for name in string.gmatch(ARGV[2], '[^\\31]+') do names[#names + 1] = name end
local plain, find, sub = #names - 1, string.find, string.sub
local added = 0
for k = 1, #KEYS do
  local blob = ARGV[2 + k]
  local pos, size = 1, #blob
  while pos <= size do
    local args = {'XADD', KEYS[k], 'MAXLEN', '~', ARGV[1], '*'}
    for f = 1, plain do
      local stop = find(blob, '\\31', pos, true)
      args[#args + 1] = names[f]
      args[#args + 1] = sub(blob, pos, stop - 1)
      pos = stop + 1
    end
    local stop = find(blob, '\\31', pos, true)
    local length = tonumber(sub(blob, pos, stop - 1))
    args[#args + 1] = names[plain + 1]
    args[#args + 1] = sub(blob, stop + 1, stop + length)
    pos = stop + 1 + length
    redis.call(unpack(args))
    added = added + 1
  end
end
return added
"""
"""KEYS: the streams; ARGV[1] MAXLEN; ARGV[2] the field names (US-joined, the message
last); ARGV[2 + k] the lines of KEYS[k] (see the module docstring)."""

SEPARATOR = b"\x1f"
_FIELD_NAMES = tuple(LogLine.__struct_fields__)
_PLAIN_NAMES = tuple(name for name in _FIELD_NAMES if name != "msg")
_NAMES_ARG = "\x1f".join((*_PLAIN_NAMES, "msg"))
_NAMES_BYTES = sum(len(name) for name in _FIELD_NAMES)


@dataclass
class Encoded:
    """One stream's lines as the script's argument."""

    parts: list[bytes]
    lines: int = 0
    size: int = 0
    """Bytes counted for the log budget (as `log_budget.entry_bytes` counts them)."""

    def add(self, line: LogLine) -> None:
        values = [_plain(getattr(line, name)) for name in _PLAIN_NAMES]
        msg = capped(line.msg, LOG_LINE_MAX_BYTES).encode("utf-8", "surrogateescape")
        self.parts.append(SEPARATOR.join((*values, b"%d" % len(msg), msg)))
        self.lines += 1
        self.size += ENTRY_OVERHEAD + _NAMES_BYTES + sum(len(v) for v in values) + len(msg)


def as_log_line(line: LogLine | Mapping[str, str]) -> LogLine | None:
    """`line` as a LogLine, or None when a mapping has fields a LogLine does not (written
    by the pipelined XADDs instead, field for field)."""
    if isinstance(line, LogLine):
        return line
    if set(line) - set(_FIELD_NAMES):
        return None
    return msgspec.convert(dict(line), LogLine)


def encode_lines(lines: Iterable[LogLine]) -> list[Encoded]:
    """The lines in script-call-sized pieces."""
    pieces = [Encoded([])]
    for line in lines:
        if pieces[-1].lines == LINES_PER_CALL:
            pieces.append(Encoded([]))
        pieces[-1].add(line)
    return [piece for piece in pieces if piece.lines]


def queue_append(pipe: Any, script: Any, key: str, piece: Encoded) -> None:
    """Adds one script call appending `piece` to stream `key` to the pipeline."""
    script(keys=[key], args=[LOG_STREAM_MAXLEN, _NAMES_ARG, b"".join(piece.parts)], client=pipe)


def _plain(value: str) -> bytes:
    return value.replace("\x1f", " ").encode("utf-8", "surrogateescape")
