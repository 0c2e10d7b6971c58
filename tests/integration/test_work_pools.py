"""A deployment on a work pool, run by a Prefect process worker (not by the engine), and the
pools view: `{p}:pools` from Prefect, and pause/resume of a pool and a queue through Prefect."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID

import msgspec
import pytest
import redis

from engine.contract.command_client import CommandClient
from engine.contract.documents import Pools
from engine.contract.keys import DEFAULT_PREFIX, Keys
from engine.contract.paths import bundled_config_dir
from engine.pipeline.sample_data import ensure_demo_input
from engine.stack.launcher import EmbeddedStack
from engine.store.mirror import RedisMirror
from tests.integration.conftest import send_and_wait, wait_for, wait_run_final
from tests.workers import ProcessWorker, worker_env

pytestmark = pytest.mark.integration

POOL = "aiwf-hosts"
POOLED = "ai-inference-pooled"
POOLED_FILE = f"""\
name: {POOLED}
version: "1.0.0"
schedule:
  cron: "0 3 1 1 *"
flow_name: ai-inference-pipeline
work_pool: {POOL}
parameters:
  source: "{{state_dir}}/demo/input/daily_batch.csv"
  target: "{{state_dir}}/demo/output/pooled"
  model: scorer-v1
"""


def write_pooled_config(state: Path) -> Path:
    config = state / "config"
    shutil.copytree(bundled_config_dir(), config)
    (config / "deployments" / f"{POOLED}.yaml").write_text(POOLED_FILE)
    ensure_demo_input(state)
    return config


@pytest.fixture(scope="module")
def pool_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[EmbeddedStack, Path]]:
    state = tmp_path_factory.mktemp("pools")
    stack = EmbeddedStack(state, write_pooled_config(state), DEFAULT_PREFIX)
    stack.start(progress=print)
    yield stack, state
    stack.stop()
    log = state / "engine.log"
    if log.exists():
        print("\n".join(log.read_text(errors="replace").splitlines()[-40:]))


@pytest.fixture(scope="module")
def worker(pool_stack: tuple[EmbeddedStack, Path]) -> Iterator[ProcessWorker]:
    stack, state = pool_stack
    env = worker_env(
        state / "worker-a", stack.api_url, stack.redis_url, DEFAULT_PREFIX, state, stack.config_dir
    )
    found = ProcessWorker(POOL, "host-a:1", env, state / "worker-a.log")
    found.start()
    yield found
    found.stop()
    print(found.log()[-4000:])


@pytest.fixture
def client(pool_stack: tuple[EmbeddedStack, Path]) -> Iterator[redis.Redis]:
    found = redis.Redis.from_url(pool_stack[0].redis_url)
    yield found
    found.close()


def read_pools(client: redis.Redis) -> Pools | None:
    raw = client.get(Keys(DEFAULT_PREFIX).pools)
    return msgspec.json.decode(raw, type=Pools) if raw else None


def pool_in(client: redis.Redis, check: Any) -> Any:
    pools = read_pools(client)
    for pool in pools.pools if pools else []:
        if pool.name == POOL and check(pool):
            return pool
    return None


async def test_pool_deployment_is_registered_on_the_pool_and_run_by_the_worker(
    pool_stack: tuple[EmbeddedStack, Path], worker: ProcessWorker, client: redis.Redis
) -> None:
    from prefect.client.orchestration import PrefectClient

    stack, state = pool_stack
    mirror = RedisMirror(client, Keys(DEFAULT_PREFIX))
    doc = wait_for(lambda: mirror.read_deployment(POOLED), 30, "the pooled deployment")
    assert (doc["work_pool"], doc["work_queue"]) == (POOL, "")
    async with PrefectClient(api=stack.api_url) as prefect:
        deployment = await prefect.read_deployment_by_name(f"ai-inference-pipeline/{POOLED}")
        assert deployment.work_pool_name == POOL
        assert deployment.entrypoint == "engine.pipeline.inference.ai_inference_pipeline"
        served = await prefect.read_deployment_by_name("ai-inference-pipeline/ai-inference-prod")
        assert served.work_pool_name is None  # the others are still served by the engine

    online = wait_for(
        lambda: pool_in(client, lambda p: any(w.status == "ONLINE" for w in p.workers)),
        60,
        "the worker online in {p}:pools",
    )
    assert online.type == "process"
    assert [(w.name, w.host) for w in online.workers] == [("host-a:1", "host-a")]
    assert [q.name for q in online.queues] == ["default"]
    # Prefect marks the pool's deployments READY once a worker polls: the document says so.
    wait_for(
        lambda: (mirror.read_deployment(POOLED) or {}).get("polled") is True,
        60,
        "the pooled deployment polled",
    )

    result = send_and_wait(CommandClient(client, Keys(DEFAULT_PREFIX)), "trigger", POOLED)
    assert result.ok, result.message
    run = wait_run_final(mirror, result.flow_run_id, timeout=180)
    assert run["state_type"] == "COMPLETED", run["state_message"]
    async with PrefectClient(api=stack.api_url) as prefect:
        flow_run = await prefect.read_flow_run(UUID(result.flow_run_id))
        assert flow_run.work_pool_name == POOL
    # The worker submitted it (its log says so), and the run, in the worker's subprocess,
    # wrote its lineage into the engine's Redis and its results to the shared storage.
    assert result.flow_run_id in worker.log()
    lineage = wait_for(lambda: mirror.read_lineage(result.flow_run_id), 30, "lineage")
    assert lineage["flow_run_id"] == result.flow_run_id
    assert any((state / "results").iterdir())


def test_pause_and_resume_a_queue_and_the_pool_through_prefect(
    pool_stack: tuple[EmbeddedStack, Path], worker: ProcessWorker, client: redis.Redis
) -> None:
    commands = CommandClient(client, Keys(DEFAULT_PREFIX))
    wait_for(lambda: pool_in(client, lambda p: True), 60, "the pool in {p}:pools")

    paused = send_and_wait(commands, "pause_pool", f"{POOL}/default")
    assert paused.ok, paused.message
    assert "paused work queue default" in paused.message
    wait_for(
        lambda: pool_in(client, lambda p: p.queues[0].paused and not p.paused),
        30,
        "the queue paused in Prefect, as the engine reads it",
    )
    assert send_and_wait(commands, "resume_pool", f"{POOL}/default").ok
    wait_for(lambda: pool_in(client, lambda p: not p.queues[0].paused), 30, "the queue resumed")

    assert send_and_wait(commands, "pause_pool", POOL).ok
    wait_for(lambda: pool_in(client, lambda p: p.paused and p.status == "PAUSED"), 30, "paused")
    assert send_and_wait(commands, "resume_pool", POOL).ok
    wait_for(lambda: pool_in(client, lambda p: not p.paused), 30, "the pool resumed")

    missing = send_and_wait(commands, "pause_pool", f"{POOL}/nope")
    assert missing.status == "error"
    assert "no work queue 'nope' in pool 'aiwf-hosts'" in missing.message
