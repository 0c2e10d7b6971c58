"""Fixtures of the benchmark suite: the product's own launcher, as in the tests.

A private Redis for everything; the local Prefect server and the engine only for the
benchmarks that need them (they start on first use, once per run).
"""

from __future__ import annotations

import shutil
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from engine.contract.keys import DEFAULT_PREFIX, Keys
from engine.contract.paths import bundled_config_dir
from engine.pipeline.sample_data import ensure_demo_input
from engine.stack.launcher import EmbeddedRedis, EmbeddedStack
from engine.store.mirror import RedisMirror

BENCH_PYTHON = (3, 11)
"""The benchmarks drive Textual and the bridge through `asyncio.Runner` (one loop and one
context across calls), new in 3.11; the product itself runs on 3.10."""


def pytest_configure(config: pytest.Config) -> None:
    if sys.version_info < BENCH_PYTHON:
        pytest.exit(
            f"the benchmark suite needs Python >= 3.11 (asyncio.Runner); this is "
            f"{sys.version.split()[0]}: make the venv with python3.11 or later "
            "(scripts/venv.sh takes the first python3 on PATH that is >= 3.10)",
            returncode=2,
        )


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedRedis]:
    # Unix socket paths are limited to ~104 bytes: keep the state dir short.
    server = EmbeddedRedis(Path(tmp_path_factory.mktemp("redis")))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def keys() -> Keys:
    """A fresh key prefix per benchmark, so no benchmark sees another's data."""
    return Keys(prefix=f"bench-{uuid.uuid4().hex[:8]}")


@pytest.fixture
def redis_client(redis_server: EmbeddedRedis) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_server.url)
    yield client
    client.close()


@pytest.fixture
def mirror(redis_client: redis.Redis, keys: Keys) -> RedisMirror:
    return RedisMirror(redis_client, keys)


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedStack]:
    """Redis, the local Prefect server and `aiwf-engine run` on a copy of the bundled config."""
    state = Path(tmp_path_factory.mktemp("st"))
    config = state / "config"
    shutil.copytree(bundled_config_dir(), config)
    ensure_demo_input(state)
    stack = EmbeddedStack(state, config, DEFAULT_PREFIX)
    stack.start(progress=print)
    yield stack
    stack.stop()
