"""Every engine's audit file holds the whole trail: what the leader wrote reaches a
standby's file (another state dir: another host), and that file alone brings the trail and
its results back into an emptied Redis. Real Redis."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import redis

from engine.contract.command_client import CommandClient
from engine.contract.commands import Command, CommandResult
from engine.contract.keys import Keys
from engine.store.audit_copy import AuditCopier
from engine.store.audit_log import AuditLog
from engine.store.mirror import RedisMirror
from engine.store.off_loop import EngineStore


def executed(store: EngineStore, action: str, target: str) -> Command:
    command = Command(action=action, target=target)
    store.record_result(command, CommandResult(command.id, "ok", f"done: {action} {target}"))
    return command


def audit_ids(client: redis.Redis, keys: Keys) -> list[str]:
    entries: Any = client.xrange(keys.audit)
    return [fields[b"command_id"].decode() for _id, fields in entries]


def test_a_standby_s_file_gets_the_leader_s_entries_once_and_refills_an_empty_redis(
    redis_client: redis.Redis, keys: Keys, tmp_path: Path
) -> None:
    leader_log = AuditLog.in_state_dir(tmp_path / "host-a")
    standby_log = AuditLog.in_state_dir(tmp_path / "host-b")
    leader = EngineStore.over(redis_client, keys, leader_log)
    standby_copy = AuditCopier(redis_client, keys, standby_log)
    leader_copy = AuditCopier(redis_client, keys, leader_log)

    first = [executed(leader, "pause", "prod"), executed(leader, "resume", "prod")]
    assert standby_copy.copy_new() == 2
    assert leader_copy.copy_new() == 0  # its own entries are in its file already
    later = executed(leader, "trigger", "canary")
    assert standby_copy.copy_new() == 1
    assert standby_copy.copy_new() == 0  # nothing new: the read waited and found none
    assert leader_log.read_recent() == standby_log.read_recent()

    # A copier started later (an engine restarted) reads from the stream's start and
    # appends only what its file lacks.
    assert AuditCopier(redis_client, keys, standby_log).copy_new() == 0
    assert (
        AuditLog(standby_log.path).append_copy({"command_id": later.id, "action": "trigger"}, "")
        is False
    )  # a fresh AuditLog over the file knows its records too

    # Redis loses the data; the standby leads and refills from its own file.
    redis_client.delete(keys.audit, *(keys.result(c.id) for c in [*first, later]))
    RedisMirror(redis_client, keys).restore_audit(standby_log.read_recent())
    assert audit_ids(redis_client, keys) == [c.id for c in [*first, later]]
    kept = CommandClient(redis_client, keys).latest(later.id)
    assert kept is not None and kept.message == "done: trigger canary"
    # The refilled entries are not copied again by anyone.
    assert AuditCopier(redis_client, keys, standby_log).copy_new() == 0
    assert leader_copy.copy_new() == 0
    assert len(standby_log.read_recent()) == 3


def test_an_entry_whose_result_expired_is_copied_without_one_and_restored_without_one(
    redis_client: redis.Redis, keys: Keys, tmp_path: Path
) -> None:
    leader = EngineStore.over(redis_client, keys, AuditLog.in_state_dir(tmp_path / "a"))
    command = executed(leader, "pause", "prod")
    redis_client.delete(keys.result(command.id))  # its TTL ran out
    standby_log = AuditLog.in_state_dir(tmp_path / "b")
    assert AuditCopier(redis_client, keys, standby_log).copy_new() == 1
    assert [r.result for r in standby_log.read_recent()] == [""]

    redis_client.delete(keys.audit)
    RedisMirror(redis_client, keys).restore_audit(standby_log.read_recent())
    assert audit_ids(redis_client, keys) == [command.id]
    assert not redis_client.exists(keys.result(command.id))  # no empty result pushed
