"""Log lines go into their streams by one script call per few thousand lines
(engine/store/log_append.py): every field comes back exactly as given, whatever bytes a
message holds, and a Redis user that may not run scripts still gets every line."""

from __future__ import annotations

import uuid
from typing import Any

import redis

from engine.contract.documents import LogLine
from engine.contract.keys import LOG_LINE_MAX_BYTES, TRUNCATED_MARK, Keys
from engine.store.log_append import LINES_PER_CALL
from engine.store.log_budget import entry_bytes, log_stream_fields
from engine.store.mirror import RedisMirror

AWKWARD = [
    "plain",
    "",
    "two\nlines",
    "unit\x1fseparator and record\x1eseparator",
    "ünïcödé ✓ 日本語",
    "\x1f",
    "ends with a separator\x1f",
    "12\x1f34",
]


def lines(count: int) -> list[LogLine]:
    return [
        LogLine(
            ts=f"2026-12-03T09:00:{n % 60:02d}+00:00",
            level="20",
            level_name="INFO",
            task_run_id=str(uuid.UUID(int=n)) if n % 2 else "",
            logger="prefect.task_runs",
            msg=f"{AWKWARD[n % len(AWKWARD)]} #{n}",
            log_id=str(uuid.UUID(int=n + 1)),
        )
        for n in range(count)
    ]


def stored(client: redis.Redis, key: str) -> list[dict[str, str]]:
    entries: Any = client.xrange(key)
    return [{k.decode(): v.decode() for k, v in fields.items()} for _, fields in entries]


def test_every_field_comes_back_as_given(redis_client: redis.Redis, keys: Keys) -> None:
    mirror = RedisMirror(redis_client, keys)
    given = [*lines(LINES_PER_CALL + 7), LogLine(msg="x" * (LOG_LINE_MAX_BYTES + 10))]
    assert mirror.append_logs("run", given) == len(given)
    assert mirror._scripted_appends
    back = stored(redis_client, keys.logs("run"))
    assert back[:-1] == [log_stream_fields(line) for line in given[:-1]]
    assert back[-1]["msg"].endswith(TRUNCATED_MARK.format(size=LOG_LINE_MAX_BYTES + 10))
    # The budget counts each line as entry_bytes does, script or not.
    counted = int(redis_client.hget(keys.log_bytes, "run") or 0)
    assert counted == sum(entry_bytes(log_stream_fields(line)) for line in given)


def test_without_scripts_the_lines_go_in_one_xadd_each(
    redis_url: str, redis_client: redis.Redis, keys: Keys
) -> None:
    user = f"{keys.prefix}-noscript"
    redis_client.execute_command("ACL", "SETUSER", user, "on", ">pw", "~*", "+@all", "-@scripting")
    client = redis.Redis.from_url(redis_url, username=user, password="pw")
    try:
        mirror = RedisMirror(client, keys)
        given = lines(50)
        assert mirror.append_logs("run", given) == 50
        assert mirror._scripted_appends is False
        assert stored(redis_client, keys.logs("run")) == [log_stream_fields(x) for x in given]
        # A mapping with fields of its own goes field for field too.
        assert mirror.append_logs("other", [{"msg": "hi", "extra": "kept"}]) == 1
        assert stored(redis_client, keys.logs("other")) == [{"msg": "hi", "extra": "kept"}]
    finally:
        client.close()
        redis_client.execute_command("ACL", "DELUSER", user)


def test_a_mapping_of_log_fields_goes_by_script(redis_client: redis.Redis, keys: Keys) -> None:
    mirror = RedisMirror(redis_client, keys)
    assert mirror.append_logs("run", [{"ts": "t", "msg": "m\x1fn"}]) == 1
    assert stored(redis_client, keys.logs("run"))[0]["msg"] == "m\x1fn"
    assert mirror.append_logs("odd", [{"msg": "hi", "extra": "kept"}]) == 1
    assert stored(redis_client, keys.logs("odd")) == [{"msg": "hi", "extra": "kept"}]
