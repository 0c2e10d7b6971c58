"""Many log lines into their streams in one script call, instead of one XADD each.

A pipelined XADD costs redis-py ~30 µs of Python (packing seven arguments, parsing the
reply), which capped the bridge near 20,000 lines a second, GIL shared with the engine's
loop. Here the lines of a batch travel as one argument per stream, a MessagePack array of
rows (each row the line's values in `LogLine`'s field order), and a small Lua script
unpacks it with Redis's own `cmsgpack` and XADDs each row with the same MAXLEN. The values
travel exactly, whatever bytes a message holds.

The rows were once joined by a separator and split in Lua with `string.find`: that spent
~9 µs of Redis per line, which held the bridge under 50,000 lines a second. `cmsgpack` (C)
takes ~4 µs, and msgspec packs the rows in C on the engine's side.

A Redis that refuses scripts gets the pipelined XADDs, as before.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any

import msgspec

from engine.contract.documents import LogLine
from engine.contract.keys import LOG_LINE_MAX_BYTES, LOG_STREAM_MAXLEN
from engine.store.log_budget import ENTRY_OVERHEAD, capped

LINES_PER_CALL = 5_000
"""Lines per script call: Redis serves other clients between calls (~20 ms each)."""

_FIELD_NAMES: tuple[str, ...] = tuple(LogLine.__struct_fields__)
_MSG_AT = _FIELD_NAMES.index("msg")
_NAMES_BYTES = sum(len(name) for name in _FIELD_NAMES)
_values_of = attrgetter(*_FIELD_NAMES)
_packer = msgspec.msgpack.Encoder()

_XADD_ARGS = ", ".join(f"'{name}', r[{n}]" for n, name in enumerate(_FIELD_NAMES, start=1))
APPEND_SCRIPT = f"""
local key, maxlen, rows = KEYS[1], ARGV[1], cmsgpack.unpack(ARGV[2])
local ids = {{}}
for i = 1, #rows do
  local r = rows[i]
  ids[i] = redis.call('XADD', key, 'MAXLEN', '~', maxlen, '*', {_XADD_ARGS})
end
return table.concat(ids, '\\n')
"""
"""KEYS[1]: the stream; ARGV[1] MAXLEN; ARGV[2] the rows, MessagePack. Answers the IDs it
gave, joined by newlines (one string: redis-py parses a reply of 5,000 at Python's pace)."""


@dataclass
class Encoded:
    """One stream's lines as the script's argument."""

    rows: list[tuple[str, ...]] = field(default_factory=list)
    lines: int = 0
    size: int = 0
    """Bytes counted for the log budget (as `log_budget.entry_bytes` counts them)."""

    def add(self, line: LogLine) -> None:
        row: tuple[str, ...] = _values_of(line)
        msg = row[_MSG_AT]
        if len(msg) * 4 > LOG_LINE_MAX_BYTES:  # may be over the cap (4 bytes a character)
            row = (*row[:_MSG_AT], capped(msg, LOG_LINE_MAX_BYTES), *row[_MSG_AT + 1 :])
        self.rows.append(row)
        self.lines += 1
        self.size += ENTRY_OVERHEAD + _NAMES_BYTES + sum(map(_utf8_size, row))

    def messages(self) -> list[str]:
        """The messages as the stream holds them (capped)."""
        return [row[_MSG_AT] for row in self.rows]

    def packed(self) -> bytes:
        try:
            return _packer.encode(self.rows)
        except UnicodeEncodeError:  # a lone surrogate (undecodable bytes of a message)
            return _packed_raw(self.rows)


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
    pieces = [Encoded()]
    for line in lines:
        if pieces[-1].lines == LINES_PER_CALL:
            pieces.append(Encoded())
        pieces[-1].add(line)
    return [piece for piece in pieces if piece.lines]


def queue_append(pipe: Any, script: Any, key: str, piece: Encoded) -> None:
    """Adds one script call appending `piece` to stream `key` to the pipeline (its answer:
    `appended_ids`)."""
    script(keys=[key], args=[LOG_STREAM_MAXLEN, piece.packed()], client=pipe)


def appended_ids(answer: bytes | str) -> list[str]:
    """The IDs a script call of `queue_append` gave its lines, in order."""
    text = answer.decode() if isinstance(answer, bytes) else answer
    return text.split("\n") if text else []


def _utf8(value: str) -> bytes:
    """The bytes Redis stores for `value`, as `log_budget.entry_bytes` counts them (a lone
    surrogate that is no escaped byte, which no codec can write, as the codec's own)."""
    try:
        return value.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return value.encode("utf-8", "surrogatepass")


def _utf8_size(value: str) -> int:
    return len(value) if value.isascii() else len(_utf8(value))


def _packed_raw(rows: list[tuple[str, ...]]) -> bytes:
    """MessagePack of `rows` with each value's bytes as `_utf8` gives them, as msgpack's raw
    strings (what Redis's `cmsgpack` reads: it has no bin type)."""
    out = [_array_header(len(rows))]
    for row in rows:
        out.append(_array_header(len(row)))
        for value in row:
            data = _utf8(value)
            size = len(data)
            if size < 32:
                out.append(bytes((0xA0 | size,)))
            elif size < 0x100:
                out.append(struct.pack(">BB", 0xD9, size))
            elif size < 0x10000:
                out.append(struct.pack(">BH", 0xDA, size))
            else:
                out.append(struct.pack(">BI", 0xDB, size))
            out.append(data)
    return b"".join(out)


def _array_header(size: int) -> bytes:
    if size < 16:
        return bytes((0x90 | size,))
    if size < 0x10000:
        return struct.pack(">BH", 0xDC, size)
    return struct.pack(">BI", 0xDD, size)
