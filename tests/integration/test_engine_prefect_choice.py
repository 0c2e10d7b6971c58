"""`aiwf-engine run`: which Prefect it uses, and that it never orphans the server it starts.

Real engine processes. The profile test points a fresh PREFECT_HOME's profile (written by
`prefect config set`, as a user would) at the session's Prefect server, so the user's own
profile is never read or changed.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from engine.contract.documents import Heartbeat, decode
from engine.contract.keys import Keys
from engine.contract.paths import bundled_config_dir
from engine.stack.launcher import EmbeddedStack
from tests.integration.conftest import wait_for
from tests.integration.pty_console import DEMO_ENV_DROPPED, processes_with

pytestmark = pytest.mark.integration


@pytest.fixture
def base() -> Iterator[Path]:
    # Short: the embedded Redis's unix socket path lives in the state dir.
    path = Path(tempfile.mkdtemp(prefix="aiwf-eng-"))
    yield path
    for pid in processes_with(str(path)):  # a failed test must not leave services behind
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    shutil.rmtree(path, ignore_errors=True)


def engine_env(state: Path, prefect_home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in DEMO_ENV_DROPPED}
    return env | {"AIWF_STATE_DIR": str(state), "PREFECT_HOME": str(prefect_home)} | extra


def start_engine(config: Path, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "engine", "run", "--config", str(config)],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )


def is_prefect_server(pid: int) -> bool:
    try:
        return b"prefect\0server\0start" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_an_engine_stopped_while_its_prefect_server_starts_leaves_no_server(
    base: Path, signum: int
) -> None:
    state, log = base / "st", base / "engine.log"
    engine = start_engine(bundled_config_dir(), engine_env(state, base / "home"), log)
    try:

        def starting_server() -> list[int]:
            return [pid for pid in processes_with(str(state)) if is_prefect_server(pid)]

        servers = wait_for(starting_server, 60, "the engine to spawn its Prefect server")
        others = [pid for pid in processes_with(str(state)) if pid != engine.pid]
        # Still starting: the server records its port only once it answers.
        assert not (state / "prefect" / "server.json").exists()

        engine.send_signal(signum)
        code = engine.wait(60)

        wait_for(lambda: not processes_with(str(state)), 40, "the engine's services to exit")
        assert servers and set(servers) <= set(others)
        if signum == signal.SIGTERM:
            assert code == 128 + signal.SIGTERM
            assert "stopped by SIGTERM: stopping what this engine started" in log.read_text()
    finally:
        if engine.poll() is None:
            engine.kill()


def write_profile(home: Path, api_url: str) -> None:
    """`prefect config set PREFECT_API_URL=...` in a fresh Prefect home, as a user does."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    subprocess.run(
        [sys.executable, "-m", "prefect", "config", "set", f"PREFECT_API_URL={api_url}"],
        env=env | {"PREFECT_HOME": str(home)},
        check=True,
        capture_output=True,
    )
    assert api_url in (home / "profiles.toml").read_text()


def one_deployment_config(base: Path, name: str) -> Path:
    """The bundled config with only the canary deployment, under a name of this test's own
    (the session's engine serves the bundled names on the same Prefect server)."""
    config = base / "config"
    shutil.copytree(bundled_config_dir(), config)
    (config / "deployments" / "ai-inference-prod.yaml").unlink()
    canary = config / "deployments" / "ai-inference-canary.yaml"
    canary.write_text(canary.read_text().replace("name: ai-inference-canary", f"name: {name}"))
    return config


async def delete_deployment(api_url: str, name: str) -> bool:
    from prefect.client.orchestration import PrefectClient

    async with PrefectClient(api=api_url) as client:
        deployment = await client.read_deployment_by_name(f"ai-inference-pipeline/{name}")
        await client.delete_deployment(deployment.id)
        return True


def test_a_prefect_url_in_the_active_profile_is_used_and_no_server_started(
    base: Path, stack: EmbeddedStack
) -> None:
    home, state, log = base / "home", base / "st", base / "engine.log"
    write_profile(home, stack.api_url)
    name = f"profile-{uuid.uuid4().hex[:8]}"
    keys = Keys(f"test-{uuid.uuid4().hex[:8]}")
    env = engine_env(state, home, AIWF_REDIS_URL=stack.redis_url, AIWF_REDIS_PREFIX=keys.prefix)
    engine = start_engine(one_deployment_config(base, name), env, log)
    client = redis.Redis.from_url(stack.redis_url)
    try:

        def heartbeat() -> Heartbeat | None:
            return decode(client.get(keys.heartbeat), Heartbeat, keys.heartbeat)

        beat = wait_for(heartbeat, 120, "the engine's heartbeat")
        assert beat.prefect_api_url == stack.api_url
        assert beat.prefect_embedded is False
        assert beat.deployments == 1
        assert processes_with(str(state)) == [engine.pid], "the engine started a process"
        assert not (state / "prefect" / "server.json").exists()
        assert f"Prefect: using {stack.api_url} from Prefect profile" in log.read_text()

        engine.send_signal(signal.SIGTERM)
        assert engine.wait(60) == 0
        # Registered on the profile's server (deleting it there proves it is there).
        assert asyncio.run(delete_deployment(stack.api_url, name))
    finally:
        client.close()
        if engine.poll() is None:
            engine.kill()
