"""The audit trail and command results on disk too: an append-only JSONL file in the state dir.

Redis holds the audit stream and the results the consoles read; a Redis that comes back
empty (a restart without its data, a FLUSHALL) would lose them. So every result is appended
here before it goes to Redis, and `restore` puts the stream and the recent results back.
One line per executed command: {"audit": <audit entry fields>, "result": <result JSON>}.
"""

from __future__ import annotations

import json
import logging
import os
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

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


@dataclass(frozen=True)
class AuditLog:
    path: Path

    @classmethod
    def in_state_dir(cls, state_dir: Path) -> AuditLog:
        return cls(state_dir / AUDIT_FILE)

    def append(self, audit: dict[str, str], result: CommandResult) -> None:
        """Appends and fsyncs one record (commands are rare; losing one is not fine)."""
        line = json.dumps({"audit": audit, "result": result.to_json()}, ensure_ascii=False)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as out:
            out.write(line + "\n")
            out.flush()
            os.fsync(out.fileno())

    def read_recent(self, limit: int = AUDIT_MAXLEN) -> list[AuditRecord]:
        """The last `limit` records, oldest first; a torn or garbled line is skipped."""
        if not self.path.exists():
            return []
        kept: deque[AuditRecord] = deque(maxlen=limit)
        with self.path.open(encoding="utf-8", errors="replace") as lines:
            for number, line in enumerate(lines, 1):
                try:
                    raw = json.loads(line)
                    audit = {str(k): str(v) for k, v in raw["audit"].items()}
                    kept.append(AuditRecord(audit, str(raw["result"])))
                except (ValueError, KeyError, TypeError, AttributeError):
                    logger.warning("%s line %d is not an audit record; skipped", self.path, number)
        return list(kept)


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
