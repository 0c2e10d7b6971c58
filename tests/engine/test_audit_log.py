"""The engine's audit file: appended before Redis, read back for an emptied Redis."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from engine.commands.prefect_budget import prefect_unreachable
from engine.contract.commands import Command, CommandResult
from engine.store import audit_log
from engine.store.audit_log import AuditLog, AuditRecord, result_still_kept
from engine.store.mirror import audit_fields


def test_records_come_back_in_order_and_a_torn_line_is_skipped(tmp_path: Path) -> None:
    log = AuditLog.in_state_dir(tmp_path)
    commands = [Command(action="pause", target=f"d{n}") for n in range(3)]
    for command in commands:
        result = CommandResult(command.id, "ok", f"paused {command.target}")
        log.append(audit_fields(command, result), result)
    with log.path.open("a") as out:
        out.write('{"audit": {"command_id": "torn"')  # the engine died mid-write
    records = log.read_recent()
    assert [r.audit["command_id"] for r in records] == [c.id for c in commands]
    assert CommandResult.from_json(records[0].result).message == "paused d0"
    assert [r.audit["command_id"] for r in log.read_recent(limit=2)] == [
        commands[1].id,
        commands[2].id,
    ]


def test_only_results_within_their_ttl_are_restored() -> None:
    now = datetime.now(timezone.utc)
    recent = AuditRecord({"executed_at": (now - timedelta(hours=1)).isoformat()}, "{}")
    old = AuditRecord({"executed_at": (now - timedelta(days=30)).isoformat()}, "{}")
    assert result_still_kept(recent, now) and not result_still_kept(old, now)
    assert not result_still_kept(AuditRecord({"executed_at": "garbage"}, "{}"), now)


def test_the_prefect_reason_names_the_url_without_its_password() -> None:
    url = "https://ops:s3cret@prefect.example:4200/api/"
    reason = prefect_unreachable(url, None, 8)
    assert reason is not None and "s3cret" not in reason
    assert "Prefect API at https://ops:***@prefect.example:4200/api did not answer" in reason
    assert prefect_unreachable(url, ValueError("no"), 8) is None


def test_the_last_records_of_a_long_file_are_read_from_its_end(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Across block boundaries (a 97-byte block here), with multi-byte characters, blank
    and garbled lines among the records: the same records a read from the start keeps."""
    monkeypatch.setattr(audit_log, "READ_BLOCK", 97)
    log = AuditLog.in_state_dir(tmp_path)
    ids = []
    for n in range(300):
        command = Command(action="pause", target=f"déploiement-日本-{n}")
        result = CommandResult(command.id, "ok", f"paused {command.target} ✓")
        log.append(audit_fields(command, result), result)
        ids.append(command.id)
        if n % 50 == 7:
            with log.path.open("a") as out:
                out.write("not json\n\n")
    for limit in (1, 2, 60, 300, 1_000):
        records = log.read_recent(limit=limit)
        assert [r.audit["command_id"] for r in records] == ids[-limit:]
    assert "日本-299 ✓" in CommandResult.from_json(log.read_recent(limit=1)[0].result).message
