"""Compressed text chunks kept beside a run's log stream, so a search reads a few MB.

Searching a million-line stream entry by entry moves a million entries through Redis's
reply path and Python (~10 s here), where `grep -E` over the same text takes ~10 ms. So the
engine's mirror also keeps, per run, the messages of every `CHUNK_LINES` consecutive lines
as one zlib blob (their stream IDs, their lengths, the messages joined by newlines) in the
hash `{p}:log_chunks:<run>`. A search decompresses each blob and runs its regex over the
whole text at once; only the lines after the last chunk are read from the stream.

The hash: `pending` (lines appended since the last chunk), `last_id` (the last chunked
stream ID), `chunks` (how many), `oldest` (the first still kept), and per chunk N its blob
`cN` and its last line's ID `eN`. The mirror writes it; the console only reads it. A
stream without chunks (written before they existed, a log copy from Prefect) is still read
entry by entry: same answer, slower.

Messages arrive here as `LOG_FIELDS_SCRIPT` returns them: its separators (US, RS) inside a
message read as spaces, which is how the entry-by-entry search has always seen them.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from itertools import accumulate

CHUNK_LINES = 10_000
"""Lines per chunk: about 100 chunks for a million lines."""
CHUNK_MAX_TEXT = 4 * 1024 * 1024
"""A chunk closes early at this many characters of text (long messages: a bounded blob)."""

CHUNK_PENDING = "pending"
"""Hash field: lines appended since the last chunk closed."""
CHUNK_LAST_ID = "last_id"
"""Hash field: the stream ID of the last line in a chunk."""
CHUNK_COUNT = "chunks"
"""Hash field: chunks closed so far."""
CHUNK_OLDEST = "oldest"
"""Hash field: the oldest chunk kept: older ones went once the stream's own cap (MAXLEN)
had dropped all their lines."""

FIELD = "\x1f"
RECORD = "\x1e"

LOG_FIELDS_SCRIPT = """
local start = ARGV[1]
if start ~= '-' then start = '(' .. start end
local entries = redis.call('XRANGE', KEYS[1], start, '+', 'COUNT', tonumber(ARGV[2]))
local out = {}
for i, e in ipairs(entries) do
  local f = e[2]
  local values = {}
  for j = 1, #f, 2 do values[f[j]] = f[j + 1] end
  local record = {e[1]}
  for k = 3, #ARGV do
    record[k - 1] = (string.gsub(values[ARGV[k]] or '', '[\\30\\31]', ' '))
  end
  out[i] = table.concat(record, '\\31')
end
return table.concat(out, '\\30')
"""
"""A page of stream entries as one string: records (ID, then the fields named in ARGV[3:])
joined by RS, fields by US. KEYS[1] the stream; ARGV[1] the ID to start after (`-`: the
start), ARGV[2] the count. One string instead of ~7 reply elements per entry: redis-py
parses those in Python at ~30 s per million."""


def chunk_field(number: int) -> str:
    """The hash field of chunk `number` (0 is the oldest)."""
    return f"c{number}"


def chunk_end_field(number: int) -> str:
    """The hash field holding the stream ID of chunk `number`'s last line."""
    return f"e{number}"


def id_order(entry_id: str) -> tuple[int, int]:
    """A stream ID as what orders it (milliseconds, sequence)."""
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)


def encode_chunk(ids: list[str], messages: list[str]) -> bytes:
    """One chunk's blob: IDs, message lengths (only if a message has a newline), text."""
    lengths = ",".join(str(len(m)) for m in messages) if any("\n" in m for m in messages) else ""
    raw = "\n".join(ids) + RECORD + lengths + RECORD + "\n".join(messages)
    # Level 1: most of zlib's gain on repetitive log text for a fraction of its time.
    return zlib.compress(raw.encode("utf-8", "surrogateescape"), 1)


@dataclass(frozen=True)
class LogChunk:
    """A decoded chunk: the text to search and how to map a match back to its line."""

    text: str
    """The messages joined by newlines."""
    ids_text: str
    """The stream IDs joined by newlines (split only when a line is asked for)."""
    lengths_text: str
    """Comma-joined message lengths, or "" when no message has a newline (then every
    newline of `text` ends a message)."""

    @property
    def multiline(self) -> bool:
        """Some message has a newline of its own (a traceback)."""
        return bool(self.lengths_text)

    def starts(self) -> list[int]:
        """Where each message starts in `text` (only for a multiline chunk; else the
        newlines say it)."""
        lengths = [int(n) + 1 for n in self.lengths_text.split(",")] if self.multiline else []
        return [0, *accumulate(lengths[:-1])]

    def ids(self) -> list[str]:
        return self.ids_text.split("\n") if self.ids_text else []


def decode_chunk(blob: bytes) -> LogChunk:
    """A blob written by `encode_chunk`.

    Raises:
        ValueError: the blob is not one (zlib's own error comes as a ValueError too).
    """
    try:
        raw = zlib.decompress(blob).decode("utf-8", "surrogateescape")
    except zlib.error as exc:
        raise ValueError(f"not a log chunk: {exc}") from exc
    parts = raw.split(RECORD, 2)
    if len(parts) != 3:
        raise ValueError("not a log chunk: it lacks its IDs, lengths and text parts")
    ids_text, lengths_text, text = parts
    return LogChunk(text=text, ids_text=ids_text, lengths_text=lengths_text)
