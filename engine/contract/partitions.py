"""Output partition names and the members of the writers index (`{run id}@{attempt}`)."""

from __future__ import annotations


def partition_name(path: str | None) -> str:
    """`date=2026-11-01` from `.../target/date=2026-11-01` (the last path part), or ''."""
    if not path:
        return ""
    return str(path).rstrip("/\\").replace("\\", "/").rsplit("/", 1)[-1]


def writer_member(flow_run_id: str, attempt: object) -> str:
    """`{run id}@{attempt}`: a writers ZSET member, one per attempt, so a retry that writes
    a partition again adds a write instead of moving the earlier one. Without an attempt
    number (older lineage documents): the run id alone."""
    return f"{flow_run_id}@{attempt}" if isinstance(attempt, int) else flow_run_id


def parse_writer_member(member: str) -> tuple[str, int | None]:
    """(flow run id, attempt or None) of a writers ZSET member."""
    run_id, sep, attempt = member.rpartition("@")
    if sep and attempt.isdigit():
        return run_id, int(attempt)
    return member, None
