"""Command round trip on the real engine, and the Prefect CLI for reference.

These start the local Prefect server and `aiwf-engine run` (once per bench run, through
the product's launcher): allow ~20-60 s on a busy machine before the first number.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
import redis

from benchmarks.support import goal
from engine.contract.command_client import CommandClient
from engine.contract.keys import DEFAULT_PREFIX, Keys
from engine.stack.launcher import EmbeddedStack, prefect_env

pytestmark = pytest.mark.bench

DEPLOYMENT = "ai-inference-prod"
TIMEOUT = 60.0


@pytest.fixture
def commands(stack: EmbeddedStack) -> Iterator[CommandClient]:
    client = redis.Redis.from_url(stack.redis_url)
    yield CommandClient(client, Keys(DEFAULT_PREFIX))
    client.close()


def round_trip(commands: CommandClient, action: str) -> None:
    command = commands.send(action, DEPLOYMENT)
    result = commands.wait(command.id, TIMEOUT)
    assert result is not None, f"no result for {action} {DEPLOYMENT} within {TIMEOUT:.0f}s"
    assert result.status == "ok", result.message


def test_pause_round_trip(benchmark: Any, commands: CommandClient) -> None:
    """`CommandClient.send("pause")` -> the engine pauses the deployment in Prefect, writes
    the result and audit entry -> `wait` returns it. Goal: median < 1 s (a key press
    answered within a second)."""
    goal(benchmark, "< 1 s", "median_s", 1.0)
    benchmark.pedantic(
        round_trip,
        args=(commands, "pause"),
        setup=lambda: round_trip(commands, "resume"),
        rounds=5,
    )
    round_trip(commands, "resume")


def test_resume_round_trip(benchmark: Any, commands: CommandClient) -> None:
    """As `test_pause_round_trip`, for `resume`. Goal: median < 1 s."""
    goal(benchmark, "< 1 s", "median_s", 1.0)
    benchmark.pedantic(
        round_trip,
        args=(commands, "resume"),
        setup=lambda: round_trip(commands, "pause"),
        rounds=5,
    )


def test_prefect_cli_deployment_ls(benchmark: Any, stack: EmbeddedStack) -> None:
    """Reference, not ours: `prefect deployment ls` against the same server, what an
    operator without the console would type. No goal; compare with the round trips."""
    benchmark.extra_info.update(goal="reference", metric="median_s")
    env = prefect_env(stack.state_dir / "prefect") | {"PREFECT_API_URL": stack.api_url}

    def ls() -> None:
        subprocess.run(
            [sys.executable, "-m", "prefect", "deployment", "ls"],
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )

    benchmark.pedantic(ls, rounds=3)
