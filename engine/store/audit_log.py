"""The audit trail and command results on disk too: an append-only JSONL file in the state dir.

Redis holds the audit stream and the results the consoles read; a Redis that comes back
empty (a restart without its data, a FLUSHALL) would lose them. So every result is appended
here before it goes to Redis, and the refill puts the stream and the recent results back.
Every engine, leader or standby, also copies the entries other engines wrote
(engine/store/audit_copy.py): whichever engine leads after Redis lost its data, on whatever
host, its file holds the whole trail.
One line per command: {"audit": <audit entry fields>, "result": <result JSON, or "">}.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import BinaryIO

from engine.contract.commands import CommandResult
from engine.contract.keys import AUDIT_MAXLEN, RESULT_TTL_SECONDS

logger = logging.getLogger("aiwf.engine.audit_log")

AUDIT_FILE = "audit.jsonl"


@dataclass(frozen=True)
class AuditRecord:
    """One executed command as the file keeps it."""

    audit: dict[str, str]
    result: str
    """The result document, JSON, as stored under `{p}:result:<id>`."""


def record_identity(audit: Mapping[str, str]) -> str:
    """What tells two copies of one entry apart from two entries: its command id (an entry
    without one, from a command too garbled to have an id, by all its fields)."""
    return audit.get("command_id") or json.dumps(dict(audit), sort_keys=True)


@dataclass
class AuditLog:
    path: Path
    _known: set[str] | None = field(default=None, repr=False, compare=False)
    """Identities of the records in the file (read from it on first use)."""
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)
    """The store's thread appends results, the copier's thread copies: one at a time."""

    @classmethod
    def in_state_dir(cls, state_dir: Path) -> AuditLog:
        return cls(state_dir / AUDIT_FILE)

    def append(self, audit: dict[str, str], result: CommandResult) -> None:
        """Appends and fsyncs one record (commands are rare; losing one is not fine)."""
        with self._lock:
            self._write(audit, result.to_json())

    def append_copy(self, audit: dict[str, str], result: str) -> bool:
        """Appends another engine's record unless the file has it already (this engine
        wrote it, or copied it before); returns whether it was appended."""
        with self._lock:
            if record_identity(audit) in self._known_identities():
                return False
            self._write(audit, result)
            return True

    def _write(self, audit: dict[str, str], result: str) -> None:
        line = json.dumps({"audit": audit, "result": result}, ensure_ascii=False)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as out:
            out.write(line + "\n")
            out.flush()
            os.fsync(out.fileno())
        self._known_identities().add(record_identity(audit))

    def _known_identities(self) -> set[str]:
        if self._known is None:
            # The stream holds about AUDIT_MAXLEN entries: every one a copier can still see
            # is among the file's last few times that many.
            recent = self.read_recent(limit=2 * AUDIT_MAXLEN)
            self._known = {record_identity(record.audit) for record in recent}
        return self._known

    def read_recent(self, limit: int = AUDIT_MAXLEN) -> list[AuditRecord]:
        """The last `limit` records, oldest first; a torn or garbled line is skipped. Read
        from the file's end: the trail only grows, and the engine reads it at each start
        and refill."""
        if not self.path.exists():
            return []
        kept: list[AuditRecord] = []
        with self.path.open("rb") as data:
            for from_end, line in enumerate(_last_lines(data, limit), 1):
                try:
                    raw = json.loads(line.decode("utf-8", errors="replace"))
                    audit = {str(k): str(v) for k, v in raw["audit"].items()}
                    kept.append(AuditRecord(audit, str(raw["result"])))
                except (ValueError, KeyError, TypeError, AttributeError):
                    logger.warning(
                        "%s: line %d from its end is not an audit record; skipped",
                        self.path,
                        from_end,
                    )
                if len(kept) == limit:
                    break
        kept.reverse()
        return kept


READ_BLOCK = 64 * 1024


def _last_lines(data: BinaryIO, limit: int) -> Iterator[bytes]:
    """The file's non-empty lines, newest first, read backwards a block at a time; the
    caller stops taking them after `limit` good ones (a garbled line does not count)."""
    position = data.seek(0, os.SEEK_END)
    rest = b""
    while position > 0:
        step = min(READ_BLOCK, position)
        position -= step
        data.seek(position)
        lines = (data.read(step) + rest).split(b"\n")
        rest = lines.pop(0)  # may continue in the block before this one
        for line in reversed(lines):
            if line.strip():
                yield line
    if rest.strip():
        yield rest


def result_still_kept(record: AuditRecord, now: datetime | None = None) -> bool:
    """Whether Redis would still hold this result (its TTL counted from its execution)."""
    now = now or datetime.now(timezone.utc)
    try:
        executed = datetime.fromisoformat(record.audit.get("executed_at", ""))
    except ValueError:
        return False
    if executed.tzinfo is None:
        executed = executed.replace(tzinfo=timezone.utc)
    return now - executed < timedelta(seconds=RESULT_TTL_SECONDS)
