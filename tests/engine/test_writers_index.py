"""The who-wrote-what index that RedisMirror.write_lineage keeps next to the lineage doc."""

from __future__ import annotations

import json

import redis

from engine.contract.keys import Keys
from engine.contract.partitions import parse_writer_member, partition_name, writer_member
from engine.store.mirror import RedisMirror


def test_partition_name_is_the_last_path_part() -> None:
    assert partition_name("/data/out/date=2026-11-01") == "date=2026-11-01"
    assert partition_name("/data/out/date=2026-11-01/") == "date=2026-11-01"
    assert partition_name("C:\\out\\date=2026-11-02") == "date=2026-11-02"
    assert partition_name(None) == ""
    assert partition_name("") == ""


def _doc(run_id: str, recorded: str, days: list[str]) -> dict[str, object]:
    return {
        "flow_run_id": run_id,
        "deployment_name": "prod",
        "recorded_at": recorded,
        "outputs": [{"path": f"/out/date={d}", "rows": 1, "bytes": 2} for d in days],
    }


def test_write_lineage_indexes_writers_in_write_order(
    redis_client: redis.Redis, keys: Keys
) -> None:
    mirror = RedisMirror(redis_client, keys)
    mirror.write_lineage(_doc("b", "2026-11-02T00:00:00+00:00", ["2026-11-01", "2026-11-02"]))
    mirror.write_lineage(_doc("a", "2026-11-01T00:00:00+00:00", ["2026-11-01"]))
    mirror.write_lineage(_doc("failed", "2026-11-03T00:00:00+00:00", []))  # wrote nothing

    writers = redis_client.zrange(keys.writers("prod", "date=2026-11-01"), 0, -1)
    assert writers == [b"a", b"b"]
    assert redis_client.smembers(keys.partitions("prod")) == {
        b"date=2026-11-01",
        b"date=2026-11-02",
    }
    # Documents without an attempt number (an older flow) index the run once: its rewrite
    # moves it to the end.
    mirror.write_lineage(_doc("a", "2026-11-04T00:00:00+00:00", ["2026-11-01"]))
    writers = redis_client.zrange(keys.writers("prod", "date=2026-11-01"), 0, -1)
    assert writers == [b"b", b"a"]


def _attempt(run_id: str, attempt: int, recorded: str, days: list[str]) -> dict[str, object]:
    return _doc(run_id, recorded, days) | {"trigger": {"kind": "retry", "attempt": attempt}}


def test_each_attempt_is_a_write_with_its_own_lineage(
    redis_client: redis.Redis, keys: Keys
) -> None:
    mirror = RedisMirror(redis_client, keys)
    mirror.write_lineage(_attempt("a", 1, "2026-11-01T00:00:00+00:00", ["2026-11-01"]))
    mirror.write_lineage(_attempt("b", 1, "2026-11-02T00:00:00+00:00", ["2026-11-01"]))
    mirror.write_lineage(_attempt("a", 2, "2026-11-03T00:00:00+00:00", ["2026-11-01"]))

    key = keys.writers("prod", "date=2026-11-01")
    assert redis_client.zrange(key, 0, -1) == [b"a@1", b"b@1", b"a@2"]
    members: list[bytes] = redis_client.zrange(key, 0, -1)  # type: ignore[assignment]
    assert [parse_writer_member(m.decode()) for m in members] == [
        ("a", 1),
        ("b", 1),
        ("a", 2),
    ]
    attempts = redis_client.hgetall(keys.lineage_attempts("a"))
    assert sorted(attempts) == [b"1", b"2"]
    assert json.loads(attempts[b"1"])["recorded_at"] == "2026-11-01T00:00:00+00:00"
    # The run's lineage key still holds the latest attempt.
    latest = mirror.read_lineage("a")
    assert latest is not None and latest["trigger"]["attempt"] == 2


def test_trimming_a_run_drops_its_attempts_lineage(redis_client: redis.Redis, keys: Keys) -> None:
    mirror = RedisMirror(redis_client, keys)
    for i, run_id in enumerate(("old", "new")):
        mirror.upsert_flow_run(
            {"id": run_id, "start_time": f"2026-11-0{i + 1}T00:00:00+00:00", "updated": None}
        )
        mirror.write_lineage(_attempt(run_id, 1, f"2026-11-0{i + 1}T00:00:00+00:00", []))
    assert mirror.trim_runs(keep=1) == 1
    assert not redis_client.exists(keys.lineage_attempts("old"))
    assert redis_client.exists(keys.lineage_attempts("new"))


def test_writer_members_round_trip() -> None:
    assert writer_member("run-1", 3) == "run-1@3"
    assert writer_member("run-1", None) == "run-1"
    assert parse_writer_member("run-1@3") == ("run-1", 3)
    assert parse_writer_member("run-1") == ("run-1", None)
    assert parse_writer_member("odd@name") == ("odd@name", None)
