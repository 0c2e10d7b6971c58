"""Poison-pill commands and garbage in the engine's own keys, against the real engine
(issue 9 item 4): each poison entry gets an error result and an audit entry and is
acknowledged, a good command behind them still runs, and the engine restarted over the same
keys starts and keeps serving instead of exiting (before: it crash-looped on every restart).
"""

from __future__ import annotations

from typing import Any

import pytest
import redis

from engine.contract.command_client import CommandClient
from engine.contract.commands import MAX_FIELD_BYTES
from engine.contract.documents import FlowRun, decode
from engine.contract.keys import ENGINE_GROUP, Keys
from engine.contract.times import parse_iso
from engine.stack.launcher import EmbeddedStack
from engine.store.mirror import RedisMirror
from tests.integration.conftest import send_and_wait, wait_for, wait_run_final

pytestmark = pytest.mark.integration

PROD = "ai-inference-prod"
GOOD = {b"action": b"trigger", b"target": PROD.encode(), b"params": b"{}", b"user": b"mallory"}

POISON: dict[str, dict[bytes, bytes]] = {
    "poison-action": GOOD | {b"action": b"delete"},
    "poison-json": GOOD | {b"params": b"{not json"},
    "poison-deep": GOOD | {b"params": b"[" * 100_000 + b"]" * 100_000},
    "poison-nested": GOOD | {b"params": b'{"a":' + b"[" * 4_000 + b"]" * 4_000 + b"}"},
    "poison-utf8": GOOD | {b"target": b"ai-\xff\xfe-prod"},
    "poison-huge": GOOD | {b"host": b"h" * (MAX_FIELD_BYTES * 2)},
    "poison-target": {k: v for k, v in GOOD.items() if k != b"target"},
}


def audit_of(client: redis.Redis, keys: Keys, command_id: str) -> list[dict[bytes, bytes]]:
    entries: Any = client.xrange(keys.audit)
    return [f for _, f in entries if f[b"command_id"] == command_id.encode()]


def test_poison_commands_are_answered_and_the_engine_survives_restarts(
    stack: EmbeddedStack,
    commands: CommandClient,
    mirror: RedisMirror,
    stack_redis: redis.Redis,
    stack_keys: Keys,
) -> None:
    keys = stack_keys
    first = send_and_wait(commands, "trigger", PROD)
    assert first.ok, first.message
    wait_run_final(mirror, first.flow_run_id)

    assert stack.engine is not None
    stack.engine.stop()
    log_start = stack.engine.log_path.stat().st_size
    # Garbage in the engine's own keys, as found after a bad write or a hand edit.
    stored: Any = stack_redis.hget(keys.flow_runs, first.flow_run_id)
    stack_redis.hset(
        keys.flow_runs, first.flow_run_id, stored.replace(b'"updated":"', b'"updated":"garbage')
    )
    stack_redis.hset(keys.backfills, "junk-backfill", "[1,2]")
    stack_redis.hset(keys.cancel_watches, "junk-watch", b"\xff garbage")
    # Poison entries, raw, while no engine reads: the next one meets them first.
    for command_id, fields in POISON.items():
        stack_redis.xadd(keys.commands, fields | {b"id": command_id.encode()})  # type: ignore[arg-type]
    no_id: Any = stack_redis.xadd(keys.commands, {b"action": b"cancel", b"target": b"x"})

    assert stack.engine.start()
    good = send_and_wait(commands, "retry", first.flow_run_id)
    assert good.ok, good.message

    for command_id in [*POISON, f"entry-{no_id.decode()}"]:
        result = commands.wait(command_id, 30)
        assert result is not None and result.status == "error", (command_id, result)
        assert result.message.startswith("malformed command: "), result.message
        [audited] = audit_of(stack_redis, keys, command_id)
        assert audited[b"status"] == b"error" and audited[b"message"] == result.message.encode()
    assert stack_redis.xpending(keys.commands, ENGINE_GROUP)["pending"] == 0

    # The run's document was replaced by Prefect's (the retry wrote it), not left garbage.
    def readable_again() -> FlowRun | None:
        run = decode(stack_redis.hget(keys.flow_runs, first.flow_run_id), FlowRun, "run")
        return run if run is not None and "garbage" not in (run.updated or "") else None

    assert parse_iso(wait_for(readable_again, 30, "the run doc rewritten").updated)
    assert not stack_redis.hexists(keys.backfills, "junk-backfill")
    assert not stack_redis.hexists(keys.cancel_watches, "junk-watch")
    log = stack.engine.log_path.read_bytes()[log_start:].decode(errors="replace")
    assert f"{keys.backfills}[junk-backfill]" in log
    assert f"{keys.cancel_watches}[junk-watch]" in log
    assert f"{keys.flow_runs}[{first.flow_run_id}]" in log

    # The retried run ends before the next stop: one the stop interrupts is run again, but
    # only after up to ~110 s when it was being submitted (test_interrupted_runs.py).
    wait_run_final(mirror, good.flow_run_id)

    # Restarted over the same stream and keys: up, and serving.
    stack.engine.stop()
    assert stack.engine.start()
    again = send_and_wait(commands, "trigger", PROD)
    assert again.ok, again.message
    assert stack.engine.proc is not None and stack.engine.proc.poll() is None
    wait_run_final(mirror, again.flow_run_id)
