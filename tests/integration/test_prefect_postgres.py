"""The production database: a real `aiwf-engine run` against a Prefect server whose database is
a real PostgreSQL (a private cluster of Debian's binaries, tests/postgres_cluster.py), with a
Redis of its own (the test empties it). See docs/operations.md "Many hosts"."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Iterator

import pytest
import redis

from engine.contract.command_client import CommandClient
from engine.contract.keys import DEFAULT_PREFIX, Keys
from engine.contract.paths import bundled_config_dir
from engine.pipeline.sample_data import ensure_demo_input
from engine.stack.launcher import EngineProcess
from engine.stack.services import EmbeddedRedis, LocalPrefectServer
from engine.store.mirror import RedisMirror
from tests.integration.conftest import send_and_wait, wait_for, wait_run_final
from tests.postgres_cluster import PostgresCluster

pytestmark = [pytest.mark.integration, pytest.mark.slow]

PROD = "ai-inference-prod"
FLOW = "ai-inference-pipeline"


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresCluster]:
    cluster = PostgresCluster()
    cluster.start()
    yield cluster
    print(f"--- last lines of the postgres log ---\n{cluster.log_tail()}")
    cluster.stop()


@pytest.fixture(scope="module")
def prefect_on_postgres(
    postgres: PostgresCluster, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LocalPrefectServer]:
    server = LocalPrefectServer(tmp_path_factory.mktemp("pg-prefect"), database_url=postgres.url)
    # The first start runs every Postgres migration: slower than SQLite's.
    server.start(progress=print, timeout=240)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def own_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedRedis]:
    server = EmbeddedRedis(tmp_path_factory.mktemp("pg-redis"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def engine(
    prefect_on_postgres: LocalPrefectServer,
    own_redis: EmbeddedRedis,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[EngineProcess]:
    state = tmp_path_factory.mktemp("pg-engine")
    config = state / "config"
    shutil.copytree(bundled_config_dir(), config)
    ensure_demo_input(state)
    process = EngineProcess(state, own_redis.url, prefect_on_postgres.api_url, config)
    process.start(progress=print)
    yield process
    process.stop()
    print("--- last lines of the engine log ---")
    print("\n".join(process.log_path.read_text(errors="replace").splitlines()[-40:]))


def prefect_state(api_url: str, run_id: str) -> str:
    """The run's state type as the Prefect API reports it."""
    from prefect.client.orchestration import PrefectClient

    async def read() -> str:
        async with PrefectClient(api=api_url) as client:
            run = await client.read_flow_run(run_id)  # type: ignore[arg-type]
            return str(run.state.type.value) if run.state else ""

    return asyncio.run(read())


def test_engine_on_a_prefect_server_backed_by_postgres(
    postgres: PostgresCluster, prefect_on_postgres: LocalPrefectServer, engine: EngineProcess
) -> None:
    # The engine registered its deployments, and they are rows in Postgres.
    wait_for(
        lambda: postgres.psql(f"SELECT count(*) FROM deployment WHERE name = '{PROD}'") == "1",
        30,
        f"{PROD} as a row of Postgres's deployment table",
    )

    client = redis.Redis.from_url(engine.redis_url)
    keys = Keys(DEFAULT_PREFIX)
    commands, mirror = CommandClient(client, keys), RedisMirror(client, keys)
    triggered = send_and_wait(commands, "trigger", PROD)
    assert triggered.ok, triggered.message
    run_id = triggered.flow_run_id
    assert run_id

    # Completed as Prefect reports it, and so in the database behind it.
    wait_for(
        lambda: prefect_state(prefect_on_postgres.api_url, run_id) == "COMPLETED",
        120,
        "Prefect to report the run Completed",
    )
    row = postgres.psql(
        "SELECT fr.state_type, d.name FROM flow_run fr JOIN deployment d "
        f"ON d.id = fr.deployment_id WHERE fr.id = '{run_id}'"
    )
    assert row == f"COMPLETED|{PROD}"
    assert wait_run_final(mirror, run_id)["state_type"] == "COMPLETED"

    # Redis loses everything: the engine writes it again from this Prefect (and so Postgres).
    client.flushall()
    wait_for(lambda: mirror.read_deployment(PROD), 60, "the deployment written again")
    back = wait_for(lambda: mirror.read_flow_run(run_id), 60, "the run refilled from Prefect")
    assert back["state_type"] == "COMPLETED"
    assert back["deployment_name"] == PROD
    assert len(wait_for(lambda: mirror.read_task_runs(run_id), 60, "its task runs")) == 3

    # And it still serves commands after the refill: a pause lands in Postgres.
    paused = send_and_wait(commands, "pause", PROD)
    assert paused.ok, paused.message
    assert postgres.psql(f"SELECT paused FROM deployment WHERE name = '{PROD}'") == "t"
    assert send_and_wait(commands, "resume", PROD).ok
    assert postgres.psql(f"SELECT paused FROM deployment WHERE name = '{PROD}'") == "f"
