"""One engine at a time, exactly once: two real `aiwf-engine run` processes on the session's
Redis and Prefect; the leader is killed with SIGKILL in the middle of 300 commands and the
standby takes over, finishing every command exactly once."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from secrets import token_hex
from typing import Any

import pytest
import redis
from prefect.states import Scheduled

from engine.contract.command_client import CommandClient
from engine.contract.commands import Command
from engine.contract.keys import Keys
from engine.stack.launcher import EmbeddedStack
from engine.stack.services import prefect_env, stop_process
from engine.store.audit_log import AuditLog
from tests.integration.conftest import never_due_config, wait_for

pytestmark = pytest.mark.integration

DEPLOYMENT = "leader-failover"
FLOW = "ai-inference-pipeline"
CANCELS = 30
PAUSES = 270
"""Cancels of runs scheduled hours ahead and pauses/resumes: cheap, and each leaves a trace
in Prefect (the run's state history, the deployment's paused flag)."""
TAKEOVER_SECONDS = 10.0


def failover_config(root: Path) -> Path:
    """One deployment of its own, never due, so nothing but the commands touches it."""
    return never_due_config(root, DEPLOYMENT)


def spawn_engine(stack: EmbeddedStack, root: Path, config: Path, prefix: str, name: str) -> Any:
    state = root / name
    state.mkdir()
    env = prefect_env(state / "prefect") | {
        "AIWF_REDIS_URL": stack.redis_url,
        "AIWF_REDIS_PREFIX": prefix,
        "AIWF_STATE_DIR": str(state),
        "PREFECT_API_URL": stack.api_url,
        "PYTHONPATH": os.environ.get("PYTHONPATH", ""),
        # Not a test of the Prefect budget (test_prefect_down is): on a loaded host Prefect
        # answered some of the 300 commands later than the default 8 s, which failed them.
        "AIWF_PREFECT_COMMAND_SECONDS": "60",
    }
    log = (root / f"{name}.log").open("ab")
    return subprocess.Popen(
        [sys.executable, "-m", "engine", "run", "--config", str(config)],
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
        start_new_session=True,
    )


def heartbeat(client: redis.Redis, keys: Keys) -> dict[str, Any]:
    raw: Any = client.get(keys.heartbeat)
    return json.loads(raw) if raw else {}


def led_with_a_standby(client: redis.Redis, keys: Keys) -> dict[str, Any] | None:
    beat = heartbeat(client, keys)
    return beat if beat and len(beat["standbys"]) == 1 else None


@pytest.fixture
def engines(
    stack: EmbeddedStack, tmp_path: Path
) -> Iterator[tuple[Keys, list[subprocess.Popen[bytes]]]]:
    keys = Keys(f"aiwf-failover-{token_hex(3)}")
    config = failover_config(tmp_path)
    procs = [spawn_engine(stack, tmp_path, config, keys.prefix, n) for n in ("a", "b")]
    try:
        yield keys, procs
    finally:
        for proc in procs:
            stop_process(proc, grace=20)
        for name in ("a", "b"):
            print(f"--- engine {name} ---")
            print("\n".join((tmp_path / f"{name}.log").read_text().splitlines()[-25:]))


async def test_kill_9_of_the_leader_mid_burst_loses_and_doubles_nothing(
    stack: EmbeddedStack,
    stack_redis: redis.Redis,
    prefect_client: Any,
    engines: tuple[Keys, list[subprocess.Popen[bytes]]],
) -> None:
    keys, procs = engines
    started = time.monotonic()
    by_pid = {proc.pid: proc for proc in procs}
    # Both up: one leads (the heartbeat names it), the other is listed as its standby.
    beat = wait_for(lambda: led_with_a_standby(stack_redis, keys), 90, "a leader with one standby")
    leader, standby = by_pid[beat["pid"]], next(p for p in procs if p.pid != beat["pid"])
    assert stack_redis.get(keys.leader) == beat["name"].encode()
    assert beat["standbys"][0].split(":")[1] == str(standby.pid)

    print(f"engines up after {time.monotonic() - started:.1f}s")
    deployment = await prefect_client.read_deployment_by_name(f"{FLOW}/{DEPLOYMENT}")
    later = datetime.now(timezone.utc) + timedelta(hours=6)
    runs = await asyncio.gather(
        *(
            prefect_client.create_flow_run_from_deployment(
                deployment.id, state=Scheduled(scheduled_time=later)
            )
            for _ in range(CANCELS)
        )
    )
    sender = CommandClient(stack_redis, keys)
    sent: list[Command] = []
    pause_resume = iter(["pause", "resume"] * (PAUSES // 2))
    for run in runs:  # a cancel, then nine pauses or resumes, and again
        sent.append(sender.send("cancel", str(run.id)))
        sent.extend(sender.send(next(pause_resume), DEPLOYMENT) for _ in range(9))
    assert len(sent) == CANCELS + PAUSES == 300

    def answered() -> int:
        pipe = stack_redis.pipeline(transaction=False)
        for command in sent:
            pipe.exists(keys.result(command.id))
        return sum(pipe.execute())

    print(f"300 sent after {time.monotonic() - started:.1f}s")
    wait_for(lambda: answered() >= 30, 60, "the leader to answer 30 commands")
    leader.send_signal(signal.SIGKILL)
    killed_at = time.monotonic()
    leader.wait(10)
    assert answered() < len(sent), "the burst was over before the kill"

    wait_for(
        lambda: heartbeat(stack_redis, keys).get("pid") == standby.pid, 30, "the standby to lead"
    )
    took_over = time.monotonic() - killed_at
    assert took_over <= TAKEOVER_SECONDS, f"the standby took {took_over:.1f}s to take over"
    wait_for(lambda: answered() == len(sent), 120, "every command to be answered")

    print(f"all answered after {time.monotonic() - started:.1f}s (takeover {took_over:.1f}s)")
    # Exactly one result and one audit entry per command.
    pipe = stack_redis.pipeline(transaction=False)
    for command in sent:
        pipe.lrange(keys.result(command.id), 0, -1)
    results = [[json.loads(raw) for raw in listed] for listed in pipe.execute()]
    assert [len(r) for r in results] == [1] * len(sent)
    audit: Any = stack_redis.xrange(keys.audit)
    audited = Counter(fields[b"command_id"].decode() for _, fields in audit)
    assert {command.id: audited[command.id] for command in sent} == {c.id: 1 for c in sent}
    # Every command ok, also those the leader was executing when it died (up to its
    # concurrency): they took effect, and the standby, running them again, finds their
    # runs already cancelled, which is what was asked.
    not_ok = [r[0]["message"] for r in results if r[0]["status"] != "ok"]
    assert not_ok == [], not_ok

    # One effect each in Prefect: every run cancelled once; the deployment ends resumed.
    for run in runs:
        states = await prefect_client.read_flow_run_states(run.id)
        assert [s.type.value for s in states].count("CANCELLED") == 1, (run.id, states)
        assert states[-1].type.value == "CANCELLED"
    final = await prefect_client.read_deployment(deployment.id)
    assert final.paused is False
    assert stack_redis.xpending(keys.commands, "engine")["pending"] == 0


async def test_a_frozen_leader_is_replaced_and_stands_by_when_it_wakes(
    stack: EmbeddedStack,
    stack_redis: redis.Redis,
    prefect_client: Any,
    engines: tuple[Keys, list[subprocess.Popen[bytes]]],
) -> None:
    """SIGSTOP: the leader cannot renew its lease (as if cut off from Redis); the standby
    takes over; woken up, the old leader finds its lease gone and becomes a standby."""
    keys, procs = engines
    beat = wait_for(lambda: led_with_a_standby(stack_redis, keys), 90, "a leader with one standby")
    old = next(p for p in procs if p.pid == beat["pid"])
    new = next(p for p in procs if p.pid != beat["pid"])
    old.send_signal(signal.SIGSTOP)
    frozen_at = time.monotonic()
    try:
        wait_for(lambda: heartbeat(stack_redis, keys).get("pid") == new.pid, 30, "a new leader")
        took_over = time.monotonic() - frozen_at
        assert took_over <= TAKEOVER_SECONDS, f"the standby took {took_over:.1f}s"
        sender = CommandClient(stack_redis, keys)
        paused = sender.wait_final(sender.send("pause", DEPLOYMENT).id, 60)
        assert paused is not None and paused.ok, paused
    finally:
        old.send_signal(signal.SIGCONT)
    # Awake, it stops leading at once and waits as the new leader's standby.
    wait_for(
        lambda: beat["name"] in heartbeat(stack_redis, keys).get("standbys", []),
        30,
        "the old leader to stand by",
    )
    assert heartbeat(stack_redis, keys)["pid"] == new.pid
    resumed = sender.send("resume", DEPLOYMENT)
    result = sender.wait_final(resumed.id, 60)
    assert result is not None and result.ok, result
    assert stack_redis.llen(keys.result(resumed.id)) == 1
    deployment = await prefect_client.read_deployment_by_name(f"{FLOW}/{DEPLOYMENT}")
    assert deployment.paused is False


def test_after_redis_loses_its_data_a_standby_on_another_host_brings_the_whole_audit_back(
    stack_redis: redis.Redis,
    engines: tuple[Keys, list[subprocess.Popen[bytes]]],
    tmp_path: Path,
) -> None:
    """Each engine has its own state dir (as on two hosts). The leader executes commands and
    dies; Redis comes back without the product's keys; the standby leads and refills the
    audit stream and results from its own audit file, which holds the leader's entries."""
    keys, procs = engines
    beat = wait_for(lambda: led_with_a_standby(stack_redis, keys), 90, "a leader with one standby")
    leader = next(p for p in procs if p.pid == beat["pid"])
    standby = next(p for p in procs if p.pid != beat["pid"])
    standby_dir = "a" if procs[0] is standby else "b"
    sender = CommandClient(stack_redis, keys)
    done = [sender.wait_final(sender.send(a, DEPLOYMENT).id, 60) for a in ("pause", "resume")]
    assert all(r is not None and r.ok for r in done), done
    ids = [r.command_id for r in done if r is not None]
    standby_log = AuditLog.in_state_dir(tmp_path / standby_dir)

    def copied() -> bool:
        return [r.audit["command_id"] for r in standby_log.read_recent()][-2:] == ids

    wait_for(copied, 20, "the standby's audit file to hold the leader's entries")

    leader.send_signal(signal.SIGKILL)
    leader.wait(10)
    product_keys = list(stack_redis.scan_iter(match=f"{keys.prefix}:*", count=1000))
    stack_redis.delete(*product_keys)  # this installation's Redis came back empty

    def audit_back() -> list[str] | None:
        entries: Any = stack_redis.xrange(keys.audit)
        audited = [fields[b"command_id"].decode() for _, fields in entries]
        return audited if set(ids) <= set(audited) else None

    assert wait_for(audit_back, 60, "the new leader to refill the audit stream") == ids
    # It beats once its term's set-up (the refill first) is done.
    wait_for(lambda: heartbeat(stack_redis, keys).get("pid") == standby.pid, 30, "its heartbeat")
    kept = sender.latest(ids[0])
    assert kept is not None and kept.ok and kept.message == done[0].message  # type: ignore[union-attr]
