"""The mirror's memory budget: log lines counted as written, oldest runs' logs dropped first.

Only the mirror (engine/store/mirror.py) calls this; it is the mirror's log bookkeeping,
kept apart so mirror.py stays small. Sizes are tracked in `{p}:log_bytes` (one HINCRBY per
append, in the same pipeline as the XADDs), not measured with MEMORY USAGE, which walks a
whole stream. The per-entry estimate is above what Redis really uses for an entry (the
tests check this against MEMORY USAGE), so staying within the tracked budget keeps the real
memory within it too.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import msgspec
import redis

from engine.contract.documents import LogLine, LogTrim, decode
from engine.contract.keys import LOG_LINE_MAX_BYTES, TRUNCATED_MARK, Keys
from engine.contract.times import utc_now_iso
from engine.store.log_chunks import LogChunker

BUDGET_ENV = "AIWF_REDIS_BUDGET_MB"
"""Environment variable: the mirror's budget in MiB (default `DEFAULT_BUDGET_MB`)."""
DEFAULT_BUDGET_MB = 512
LOG_SHARE = 0.8
"""Of the budget, what log streams may hold; the rest is for the other mirror keys
(documents, task runs, the updates stream), which are bounded by count and entry size."""
TRIM_TO = 0.9
"""Trimming goes down to this share of the log budget, so it does not run on every append."""
ENTRY_OVERHEAD = 48
"""Bytes counted per stream entry beyond its field names and values (ID, listpack headers,
radix-tree nodes); measured: Redis 7 uses less than this per entry of a log stream."""


class BudgetError(ValueError):
    """`AIWF_REDIS_BUDGET_MB` is not a positive number."""


def budget_bytes(environ: Mapping[str, str] | None = None, name: str = BUDGET_ENV) -> int:
    """The mirror's budget from `AIWF_REDIS_BUDGET_MB`, in bytes.

    Raises:
        BudgetError: the value is not a positive number (names the variable).
    """
    raw = (environ if environ is not None else os.environ).get(BUDGET_ENV, "").strip()
    if not raw:
        return DEFAULT_BUDGET_MB * 1024 * 1024
    try:
        megabytes = float(raw)
    except ValueError:
        megabytes = 0.0
    if not megabytes > 0:
        raise BudgetError(f"{name}={raw!r}: give it as a positive number of MiB")
    return int(megabytes * 1024 * 1024)


def capped(text: str, limit: int) -> str:
    """`text` if its UTF-8 form fits in `limit` bytes, else its start with `TRUNCATED_MARK`."""
    data = text.encode("utf-8", "surrogateescape")
    if len(data) <= limit:
        return text
    return data[:limit].decode("utf-8", "ignore") + TRUNCATED_MARK.format(size=len(data))


def log_stream_fields(line: LogLine | Mapping[str, str]) -> dict[str, str]:
    """A log line as a `{p}:logs:*` entry's fields, its message capped at LOG_LINE_MAX_BYTES
    with a marker (the mirror's streams and the log copies alike)."""
    fields = msgspec.structs.asdict(line) if isinstance(line, LogLine) else dict(line)
    fields["msg"] = capped(str(fields.get("msg", "")), LOG_LINE_MAX_BYTES)
    return fields


def entry_bytes(fields: Mapping[str, str]) -> int:
    """What one stream entry is counted as."""
    data = sum(len(k) + len(v.encode("utf-8", "surrogateescape")) for k, v in fields.items())
    return ENTRY_OVERHEAD + data


@dataclass
class LogBudget:
    """Keeps the log streams of every run within `limit` bytes, oldest runs' logs first."""

    client: redis.Redis
    keys: Keys
    limit: int
    chunker: LogChunker

    def tracked(self) -> dict[str, int]:
        raw: Any = self.client.hgetall(self.keys.log_bytes)
        return {_text(k): int(v) for k, v in raw.items()}

    def enforce(self, total: int) -> int:
        """Drops the oldest runs' lines while the tracked `total` is above the limit.

        Runs go oldest first by `{p}:flow_runs:index` (logs of runs it no longer holds go
        before any); a run dropped whole loses its stream, one dropped in part keeps its
        newest lines. Each is marked in `{p}:log_trimmed`. Returns the lines dropped.
        """
        if total <= self.limit:
            return 0
        sizes = {run: size for run, size in self.tracked().items() if size > 0}
        total = sum(sizes.values())
        target = int(self.limit * TRIM_TO)
        members: Any = self.client.zrange(self.keys.flow_runs_index, 0, -1)
        indexed = [_text(m) for m in members]
        known = set(indexed)
        order = [r for r in sizes if r not in known] + [r for r in indexed if r in sizes]
        dropped = 0
        for run_id in order:
            if total <= target:
                break
            size = sizes[run_id]
            dropped += self._drop(run_id, size, total - target)
            total -= min(size, total - target)
        return dropped

    def _drop(self, run_id: str, size: int, excess: int) -> int:
        key = self.keys.logs(run_id)
        length = int(self.client.xlen(key))
        if size <= excess or length <= 1:
            keep, kept_bytes = 0, 0
        else:
            keep = max(1, length * (size - excess) // size)
            kept_bytes = size * keep // length
        stored: Any = self.client.hget(self.keys.log_trimmed, run_id)
        before = decode(stored, LogTrim, f"{self.keys.log_trimmed}[{run_id}]")
        lines = length - keep
        mark = LogTrim(
            lines_dropped=(before.lines_dropped if before else 0) + lines,
            trimmed_at=utc_now_iso(),
        )
        pipe = self.client.pipeline(transaction=True)
        # The chunks held the dropped lines' text too; the kept lines are chunked again.
        self.chunker.forget(pipe, run_id, pending=keep)
        if keep:
            pipe.xtrim(key, maxlen=keep, approximate=False)
            pipe.hset(self.keys.log_bytes, run_id, kept_bytes)
        else:
            pipe.delete(key)
            pipe.hdel(self.keys.log_bytes, run_id)
        pipe.hset(self.keys.log_trimmed, run_id, msgspec.json.encode(mark))
        pipe.execute()
        return lines


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
