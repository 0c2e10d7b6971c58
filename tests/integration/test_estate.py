"""The whole estate: a deployment served by a separate `flow.serve()` process is listed,
triggered, paused, resumed, cancelled and retried through the engine; config/estate.yaml
hides and protects."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
import redis

from engine.contract.command_client import CommandClient
from engine.contract.keys import Keys
from engine.stack.launcher import EmbeddedStack
from engine.stack.services import prefect_env
from engine.store.mirror import RedisMirror
from tests.integration.conftest import send_and_wait, wait_for, wait_run_final
from tests.integration.estate.team_flow import FLOW_NAME

pytestmark = pytest.mark.integration

TEAM = f"{FLOW_NAME}/team-daily"
PROTECTED = f"{FLOW_NAME}/team-protected"
HIDDEN = f"{FLOW_NAME}/hidden-daily"
FLOW_DIR = Path(__file__).parent / "estate"
ESTATE_YAML = """\
deployments: ["estate-team-flow/team-*"]
protected: ["*/team-protected"]
"""


@pytest.fixture(scope="module")
def team_serve(
    stack: EmbeddedStack, stack_dirs: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[subprocess.Popen[bytes]]:
    """The team's `serve()` process, started after the estate filter is written (the
    engine re-reads estate.yaml when the new deployments' events arrive)."""
    _, config = stack_dirs
    estate = config / "estate.yaml"
    session_filter = estate.read_text() if estate.exists() else None
    estate.write_text(ESTATE_YAML)
    home = tmp_path_factory.mktemp("team")
    log = (home / "serve.log").open("ab")
    env = (
        os.environ
        | prefect_env(home / "prefect")
        | {"PREFECT_API_URL": stack.api_url, "PREFECT_RUNNER_POLL_FREQUENCY": "1"}
    )
    proc = subprocess.Popen(
        [sys.executable, "team_flow.py"], cwd=FLOW_DIR, env=env, stdout=log, stderr=log
    )
    yield proc
    proc.terminate()
    proc.wait(30)
    log.close()
    if session_filter is None:
        estate.unlink(missing_ok=True)
    else:
        estate.write_text(session_filter)
    print((home / "serve.log").read_text(errors="replace")[-3000:])


def deployment(stack_redis: redis.Redis, keys: Keys, name: str) -> dict[str, Any] | None:
    raw = stack_redis.hget(keys.deployments, name)
    return json.loads(raw) if raw else None


def listed(stack_redis: redis.Redis, keys: Keys, name: str) -> dict[str, Any]:
    return wait_for(lambda: deployment(stack_redis, keys, name), 60, f"{name} in Redis")


async def test_a_served_deployment_is_listed_triggered_and_retried(
    team_serve: subprocess.Popen[bytes],
    stack_redis: redis.Redis,
    stack_keys: Keys,
    mirror: RedisMirror,
    commands: CommandClient,
    prefect_client: Any,
) -> None:
    doc = listed(stack_redis, stack_keys, TEAM)
    assert doc["served_by"] == "serve"
    # Prefect marks it READY once the serve process polls it (every second here).
    wait_for(
        lambda: (deployment(stack_redis, stack_keys, TEAM) or {}).get("polled") is True,
        90,
        f"{TEAM} polled",
    )
    assert (doc["managed"], doc["records_lineage"], doc["protected"]) == (False, False, False)
    assert doc["flow_name"] == FLOW_NAME
    assert (doc["cron"], doc["timezone"]) == ("0 3 * * *", "UTC")
    assert len(doc["next_fire_times"]) == 5
    assert "seconds" in doc["parameter_schema"]["properties"]
    # The engine's own deployments stay as they were.
    own = deployment(stack_redis, stack_keys, "ai-inference-prod")
    assert own is not None and (own["served_by"], own["managed"]) == ("engine", True)

    result = send_and_wait(commands, "trigger", TEAM, {"label": "by-engine"}, timeout=90)
    assert result.ok, result.message
    run = wait_run_final(mirror, result.flow_run_id, timeout=120)
    assert run["deployment_name"] == TEAM
    api_run = await prefect_client.read_flow_run(UUID(result.flow_run_id))
    assert api_run.state.type.value == "COMPLETED"  # the serve process ran it
    assert api_run.parameters == {"label": "by-engine"}

    bad = send_and_wait(commands, "trigger", TEAM, {"seconds": "soon"})
    assert bad.status == "error" and "parameter seconds" in bad.message, bad.message
    unknown = send_and_wait(commands, "trigger", TEAM, {"model": "x"})
    assert unknown.status == "error" and "model" in unknown.message, unknown.message

    retried = send_and_wait(commands, "retry", result.flow_run_id)
    assert retried.ok, retried.message

    def second_attempt_done() -> bool:
        doc = mirror.read_flow_run(result.flow_run_id)
        return bool(doc and doc["run_count"] >= 2 and doc["state_type"] == "COMPLETED")

    wait_for(second_attempt_done, 120, "the retried run to complete again")
    api_run = await prefect_client.read_flow_run(UUID(result.flow_run_id))
    assert (api_run.state.type.value, api_run.run_count) == ("COMPLETED", 2)

    no_cache = send_and_wait(commands, "retry", result.flow_run_id, {"refresh_cache": True})
    assert no_cache.status == "error" and "refresh_cache" in no_cache.message
    backfill = send_and_wait(commands, "backfill", TEAM)
    assert backfill.status == "error" and "served by serve" in backfill.message


async def test_pause_resume_and_cancel_act_in_prefect(
    team_serve: subprocess.Popen[bytes],
    stack_redis: redis.Redis,
    stack_keys: Keys,
    mirror: RedisMirror,
    commands: CommandClient,
    prefect_client: Any,
) -> None:
    doc = listed(stack_redis, stack_keys, TEAM)
    paused = send_and_wait(commands, "pause", TEAM)
    assert paused.ok, paused.message
    assert (await prefect_client.read_deployment(UUID(doc["id"]))).paused is True
    wait_for(lambda: (deployment(stack_redis, stack_keys, TEAM) or {}).get("paused"), 30, "paused")
    resumed = send_and_wait(commands, "resume", TEAM)
    assert resumed.ok, resumed.message
    assert (await prefect_client.read_deployment(UUID(doc["id"]))).paused is False
    wait_for(
        lambda: (deployment(stack_redis, stack_keys, TEAM) or {}).get("paused") is False,
        30,
        "resumed",
    )

    started = send_and_wait(commands, "trigger", TEAM, {"seconds": 120})
    assert started.ok, started.message
    wait_for(
        lambda: (mirror.read_flow_run(started.flow_run_id) or {}).get("state_type") == "RUNNING",
        90,
        "the long run to run in the serve process",
    )
    cancel = send_and_wait(commands, "cancel", started.flow_run_id, timeout=90)
    assert cancel.ok, cancel.message
    api_run = await prefect_client.read_flow_run(UUID(started.flow_run_id))
    assert api_run.state.type.value == "CANCELLED"
    assert wait_run_final(mirror, started.flow_run_id)["state_type"] == "CANCELLED"


async def test_estate_yaml_hides_and_protects(
    team_serve: subprocess.Popen[bytes],
    stack_redis: redis.Redis,
    stack_keys: Keys,
    mirror: RedisMirror,
    commands: CommandClient,
    prefect_client: Any,
) -> None:
    protected = listed(stack_redis, stack_keys, PROTECTED)
    assert protected["protected"] is True
    team = listed(stack_redis, stack_keys, TEAM)
    hidden = await prefect_client.read_deployment_by_name(HIDDEN)  # it is in Prefect
    hidden_run = await prefect_client.create_flow_run_from_deployment(hidden.id)
    # A run of a listed deployment started after the hidden one is mirrored to its end: by
    # then the hidden one has been seen, and left out.
    shown_run = await prefect_client.create_flow_run_from_deployment(UUID(team["id"]))
    wait_run_final(mirror, str(shown_run.id), timeout=120)
    assert (await prefect_client.read_flow_run(hidden_run.id)).state is not None
    assert deployment(stack_redis, stack_keys, HIDDEN) is None
    assert mirror.read_flow_run(str(hidden_run.id)) is None
    refused = send_and_wait(commands, "trigger", HIDDEN)
    assert refused.status == "error" and "unknown deployment" in refused.message

    # Deleted in Prefect: gone from Redis.
    await prefect_client.delete_deployment(UUID(protected["id"]))
    wait_for(lambda: deployment(stack_redis, stack_keys, PROTECTED) is None, 60, "the deleted one")


async def test_a_deployment_nothing_polls_is_marked_not_polled(
    team_serve: subprocess.Popen[bytes],
    stack_redis: redis.Redis,
    stack_keys: Keys,
    prefect_client: Any,
) -> None:
    """A deployment no runner or worker polls (Prefect: NOT_READY): a run triggered on it
    would wait for good, and its document says so (`polled: false`)."""
    flow = await prefect_client.read_flow_by_name(FLOW_NAME)
    deployment_id = await prefect_client.create_deployment(flow_id=flow.id, name="team-unpolled")
    try:
        doc = listed(stack_redis, stack_keys, f"{FLOW_NAME}/team-unpolled")
        assert (doc["served_by"], doc["polled"]) == ("serve", False)
    finally:
        await prefect_client.delete_deployment(deployment_id)
