"""Shared fixtures: a real private Redis from the product's own embedded launcher.

The Prefect server and engine fixtures live in tests/integration/conftest.py.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from engine.contract.keys import Keys
from engine.stack.launcher import EmbeddedRedis
from tests import leftover_tasks

leftover_tasks.install()

# The config lookup prefers the user config dir (`aiwf-engine init`) over the bundled one:
# a developer's own ~/.config/aiwf-console must not change what the tests load. An empty
# XDG config home (for this process and the engines it starts) keeps them on the bundle.
os.environ["XDG_CONFIG_HOME"] = tempfile.mkdtemp(prefix="aiwf-test-xdg-config-")


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedRedis]:
    # Unix socket paths are limited to ~104 bytes, so keep the state dir short.
    state = Path(tmp_path_factory.mktemp("redis"))
    server = EmbeddedRedis(state)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server: EmbeddedRedis) -> str:
    return redis_server.url


@pytest.fixture
def keys() -> Keys:
    """A fresh key prefix per test, so tests sharing the server never see each other."""
    return Keys(prefix=f"test-{uuid.uuid4().hex[:8]}")


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()
