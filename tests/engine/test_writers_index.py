"""The who-wrote-what index that RedisMirror.write_lineage keeps next to the lineage doc."""

from __future__ import annotations

import redis

from engine.mirror import RedisMirror
from engine.protocol import Keys, partition_name


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
    # A later attempt of `a` rewrites the partition: it moves to the end, once.
    mirror.write_lineage(_doc("a", "2026-11-04T00:00:00+00:00", ["2026-11-01"]))
    writers = redis_client.zrange(keys.writers("prod", "date=2026-11-01"), 0, -1)
    assert writers == [b"b", b"a"]
