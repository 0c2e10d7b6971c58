"""Commands side by side: in order per target; with Prefect stopped, they fail fast naming
it and other targets' commands are not stuck behind them (issue 9, restarts)."""

from __future__ import annotations

import signal
import socket
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
import redis

from engine.contract.command_client import CommandClient
from engine.contract.commands import Command, CommandResult
from engine.contract.documents import Heartbeat, decode
from engine.contract.keys import Keys
from engine.stack.launcher import EmbeddedStack, EngineProcess
from tests.integration.conftest import send_and_wait, wait_for
from tests.integration.test_restarts import paused_in_prefect

pytestmark = pytest.mark.integration

PROD = "ai-inference-prod"
CANARY = "ai-inference-canary"


def test_commands_for_one_target_keep_their_order(
    stack: EmbeddedStack, stack_redis: redis.Redis, stack_keys: Keys
) -> None:
    commands = CommandClient(stack_redis, stack_keys)
    actions = ["pause", "resume", "pause", "resume", "pause"]
    sent = [commands.send(action, PROD) for action in actions]
    canary = commands.send("pause", CANARY)

    def result_of(command: Command) -> CommandResult:
        return wait_for(lambda: commands.latest(command.id), 60, command.action)

    results = [result_of(c) for c in sent]
    assert all(r.ok for r in results), [r.message for r in results]
    entries: Any = stack_redis.xrange(stack_keys.audit)
    order = [fields[b"command_id"].decode() for _, fields in entries]
    assert [i for i in order if i in {c.id for c in sent}] == [c.id for c in sent]
    assert paused_in_prefect(stack, PROD)  # the last one, a pause, ran last
    assert wait_for(lambda: commands.latest(canary.id), 30, "canary").ok
    assert send_and_wait(commands, "resume", PROD).ok
    assert send_and_wait(commands, "resume", CANARY).ok
    assert not paused_in_prefect(stack, PROD)


def test_prefect_down_fails_commands_within_10s_naming_it_and_others_still_complete(
    stack: EmbeddedStack, stack_redis: redis.Redis, stack_keys: Keys
) -> None:
    commands = CommandClient(stack_redis, stack_keys)
    assert send_and_wait(commands, "resume", PROD).ok  # Prefect is up, the engine serves
    api_url = stack.api_url
    stack.prefect.stop()
    try:
        wait_for(lambda: not stack.prefect.is_up(), 20, "Prefect to stop")
        sent_at = time.monotonic()
        stuck = commands.send("pause", PROD)
        other = commands.send("trigger", "no-such-deployment")
        # Not queued behind the one waiting for Prefect: answered while it still waits.
        other_result = wait_for(lambda: commands.latest(other.id), 5, "the other command")
        assert commands.latest(stuck.id) is None
        assert other_result.status == "error" and "no-such-deployment" in other_result.message

        result = wait_for(lambda: commands.latest(stuck.id), 12, "a result with Prefect down")
        took = time.monotonic() - sent_at
        assert took <= 10, f"the result took {took:.1f}s"
        assert result.status == "error"
        assert "Prefect" in result.message and api_url in result.message, result.message
    finally:
        stack.prefect.start()
    # The engine outlived the outage: Prefect back on its port, commands are served again.
    assert stack.api_url == api_url
    result = send_and_wait(commands, "pause", PROD, timeout=90)
    assert result.ok, result.message
    assert send_and_wait(commands, "resume", PROD).ok


def test_the_heartbeat_says_prefect_is_unreachable_until_it_answers_again(
    stack: EmbeddedStack, stack_redis: redis.Redis, stack_keys: Keys
) -> None:
    def beat() -> Heartbeat:
        found = decode(stack_redis.get(stack_keys.heartbeat), Heartbeat, stack_keys.heartbeat)
        assert found is not None, "no heartbeat"
        return found

    first = wait_for(lambda: beat() if not beat().prefect_error else None, 30, "a clean beat")
    # The stack's engine uses the stack's own server: the console says "(embedded)".
    assert first.prefect_embedded and first.prefect_api_url == stack.api_url
    stack.prefect.stop()
    try:
        down = wait_for(lambda: beat() if beat().prefect_error else None, 30, "the error")
        assert down.prefect_error.startswith(f"{stack.api_url}/health failed: ")
    finally:
        stack.prefect.start()
    wait_for(lambda: beat() if not beat().prefect_error else None, 60, "the error cleared")


def test_an_engine_started_while_prefect_is_down_says_so_and_serves_once_it_answers(
    stack: EmbeddedStack,
    stack_dirs: tuple[Path, Path],
    stack_redis: redis.Redis,
    tmp_path: Path,
) -> None:
    """It used to exit on the first registration's ConnectError: the console said only
    "engine not running". Now it waits, its heartbeat naming Prefect, and starts serving
    when Prefect answers."""
    _, config = stack_dirs
    keys = Keys(f"down-{uuid.uuid4().hex[:6]}")
    engine = EngineProcess(tmp_path, stack.redis_url, stack.api_url, config, keys.prefix)

    def beat() -> Heartbeat | None:
        return decode(stack_redis.get(keys.heartbeat), Heartbeat, keys.heartbeat)

    stack.prefect.stop()
    try:
        wait_for(lambda: not stack.prefect.is_up(), 20, "Prefect to stop")
        engine.start(timeout=60)  # ready once its heartbeat is there
        waiting = beat()
        assert waiting is not None and waiting.deployments == 0
        assert waiting.bridge == "stopped"  # it does not lead yet, so nothing is mirrored
        assert waiting.prefect_error.startswith(f"{stack.api_url}/health failed: ")
        assert engine.proc is not None and engine.proc.poll() is None  # alive, waiting
    finally:
        stack.prefect.start()
    try:
        serving = wait_for(
            lambda: (b := beat()) is not None and b.deployments == 2 and not b.prefect_error,
            90,
            "the engine serving its deployments once Prefect answers",
        )
        assert serving
        result = send_and_wait(CommandClient(stack_redis, keys), "pause", PROD, timeout=60)
        assert result.ok, result.message
        assert send_and_wait(CommandClient(stack_redis, keys), "resume", PROD).ok
    finally:
        engine.stop()
        stack_redis.delete(*stack_redis.keys(f"{keys.prefix}:*") or ["-"])
    assert "Prefect API unreachable at start" in engine.log_path.read_text(errors="replace")


def test_an_engine_waiting_for_prefect_stops_on_sigterm_and_takes_its_heartbeat(
    stack: EmbeddedStack, stack_dirs: tuple[Path, Path], stack_redis: redis.Redis, tmp_path: Path
) -> None:
    _, config = stack_dirs
    keys = Keys(f"down-{uuid.uuid4().hex[:6]}")
    # A port nothing listens on: this engine's Prefect never answers.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        nowhere = f"http://127.0.0.1:{probe.getsockname()[1]}/api"
    engine = EngineProcess(tmp_path, stack.redis_url, nowhere, config, keys.prefix)
    engine.start(timeout=60)
    assert engine.proc is not None
    proc = engine.proc
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(30) == 0
    assert not stack_redis.exists(keys.heartbeat)
