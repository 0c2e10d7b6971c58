"""The mirror keeps its memory budget in the real embedded Redis: oldest runs' logs first,
trimmed runs marked, long entries truncated, commands and audit untouched (issue 9 item 7)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
import redis

from engine.contract.commands import Command, CommandResult
from engine.contract.documents import FlowRun, LogLine, LogTrim, decode
from engine.contract.identity import Identity
from engine.contract.keys import AUDIT_FIELD_MAX_BYTES, LOG_LINE_MAX_BYTES, Keys
from engine.store.log_budget import BudgetError, budget_bytes
from engine.store.mirror import RedisMirror

BUDGET = 2 * 1024 * 1024
RUNS = 40
LINES_PER_RUN = 2_000
START = datetime(2026, 11, 1, tzinfo=timezone.utc)


def run_id(n: int) -> str:
    return f"run-{n:03d}"


def lines(n: int, count: int) -> list[LogLine]:
    return [
        LogLine(
            ts=(START + timedelta(seconds=i)).isoformat(),
            level="20",
            level_name="INFO",
            task_run_id="",
            logger="prefect.flow_runs",
            msg=f"run {n} line {i}: " + "x" * 180,
            log_id=f"{n}-{i}",
        )
        for i in range(count)
    ]


def mirror_memory(client: redis.Redis, keys: Keys) -> int:
    """What Redis says the mirror's keys use (every key under the prefix but commands,
    results and audit), exactly (SAMPLES 0)."""
    total = 0
    skip = {keys.commands, keys.audit}
    for key in client.scan_iter(match=f"{keys.prefix}:*", count=1000):
        name = key.decode()
        if name in skip or name.startswith(f"{keys.prefix}:results:"):
            continue
        total += int(client.memory_usage(name, samples=0) or 0)
    return total


def command(n: int) -> Command:
    return Command(
        id=f"cmd-{n}",
        action="trigger",
        target="demo",
        params={"n": n},
        identity=Identity(user="ana", host="ops-1"),
        sent_at=START.isoformat(),
    )


def record(mirror: RedisMirror, n: int) -> None:
    mirror.client.xadd(mirror.keys.commands, command(n).to_fields())  # type: ignore[arg-type]
    result = CommandResult(
        command_id=f"cmd-{n}", status="ok", message="done", finished_at=START.isoformat()
    )
    mirror.record_result(command(n), result)


def test_logs_far_beyond_the_budget_keep_redis_within_it_oldest_runs_first(
    redis_client: redis.Redis, keys: Keys
) -> None:
    mirror = RedisMirror(redis_client, keys, budget=BUDGET)
    for n in range(RUNS):
        start = (START + timedelta(minutes=n)).isoformat()
        mirror.upsert_flow_run(
            FlowRun(id=run_id(n), name=f"r{n}", deployment_name="demo", start_time=start)
        )
        record(mirror, n)
        for batch in range(0, LINES_PER_RUN, 500):
            mirror.append_logs(run_id(n), lines(n, LINES_PER_RUN)[batch : batch + 500])
    written = RUNS * LINES_PER_RUN * 250
    assert written > 8 * BUDGET  # far beyond it

    used = mirror_memory(redis_client, keys)
    assert used <= BUDGET, f"mirror keys use {used:,} bytes, budget {BUDGET:,}"

    lengths = [int(redis_client.xlen(keys.logs(run_id(n)))) for n in range(RUNS)]
    assert lengths[0] == 0, "the oldest run's logs go first"
    assert lengths[-1] == LINES_PER_RUN, "the newest run's logs are intact"
    kept = [n for n in range(RUNS) if lengths[n]]
    assert kept == list(range(kept[0], RUNS)), f"only the newest runs keep lines: {lengths}"
    newest: Any = redis_client.xrange(keys.logs(run_id(RUNS - 1)), count=1)
    assert newest[0][1][b"msg"].startswith(f"run {RUNS - 1} line 0:".encode())

    marks: Any = redis_client.hgetall(keys.log_trimmed)
    trimmed = {k.decode(): decode(v, LogTrim, "test") for k, v in marks.items()}
    assert run_id(0) in trimmed and trimmed[run_id(0)] is not None
    assert trimmed[run_id(0)].lines_dropped == LINES_PER_RUN  # type: ignore[union-attr]
    assert run_id(RUNS - 1) not in trimmed
    for n in range(RUNS):
        if lengths[n] < LINES_PER_RUN:
            assert run_id(n) in trimmed, f"{run_id(n)} lost lines but is not marked"

    assert redis_client.xlen(keys.commands) == RUNS
    assert redis_client.xlen(keys.audit) == RUNS
    assert all(redis_client.exists(keys.result(f"cmd-{n}")) for n in range(RUNS))


def test_a_100kb_log_line_is_kept_truncated_with_a_marker(
    redis_client: redis.Redis, keys: Keys
) -> None:
    mirror = RedisMirror(redis_client, keys, budget=BUDGET)
    huge = "start " + "y" * 100_000 + " end"
    mirror.append_logs("run-big", [LogLine(ts=START.isoformat(), msg=huge, log_id="1")])
    stored: Any = redis_client.xrange(keys.logs("run-big"))
    (entry,) = stored
    msg = entry[1][b"msg"].decode()
    assert msg.startswith("start yyy")
    assert msg.endswith("[truncated: 100,010 bytes; the full text is in Prefect]")
    assert len(msg.encode()) < LOG_LINE_MAX_BYTES + 100


def test_an_audit_entry_is_capped(redis_client: redis.Redis, keys: Keys) -> None:
    mirror = RedisMirror(redis_client, keys, budget=BUDGET)
    big = Command(
        id="cmd-big",
        action="trigger",
        target="demo",
        params={"blob": "z" * 1_000_000},
        identity=Identity(user="ana", host="ops-1"),
        sent_at=START.isoformat(),
    )
    result = CommandResult(command_id="cmd-big", status="error", message="m" * 50_000)
    mirror.record_result(big, result)
    audit: Any = redis_client.xrange(keys.audit)
    ((_id, fields),) = audit
    assert all(len(v) < AUDIT_FIELD_MAX_BYTES + 100 for v in fields.values())
    assert fields[b"params"].endswith(b"the full text is in Prefect]")
    assert fields[b"command_id"] == b"cmd-big"


def test_the_embedded_redis_has_maxmemory_and_never_evicts(redis_client: redis.Redis) -> None:
    config: Any = redis_client.config_get("maxmemory*")
    assert int(config["maxmemory"]) >= budget_bytes()
    assert config["maxmemory-policy"] == "noeviction"


@pytest.mark.parametrize("raw", ["0", "-5", "lots", "nan"])
def test_a_bad_budget_is_refused_naming_the_variable(raw: str) -> None:
    with pytest.raises(BudgetError, match="AIWF_REDIS_BUDGET_MB"):
        budget_bytes({"AIWF_REDIS_BUDGET_MB": raw})
