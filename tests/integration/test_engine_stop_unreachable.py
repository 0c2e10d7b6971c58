"""An engine asked to stop while its Redis does not answer (the server frozen: every read
hangs, as when the host's network goes) stops within seconds, instead of waiting out its
threads' socket reads until the launcher's kill 30 s later (engine/serve/shutdown.py)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from secrets import token_hex

import pytest
import redis

from engine.contract.keys import Keys
from engine.stack.launcher import EmbeddedRedis, EmbeddedStack
from engine.stack.services import prefect_env, stop_process
from tests.integration.conftest import never_due_config, wait_for
from tests.integration.test_leader_failover import heartbeat

pytestmark = pytest.mark.integration

DEPLOYMENT = "stop-unreachable"
STOPPED_WITHIN_SECONDS = 15.0
"""Its stop steps may wait 5 s each for Redis, then 3 s for its threads."""


@pytest.fixture
def own_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedRedis]:
    server = EmbeddedRedis(tmp_path_factory.mktemp("fr"))  # a short unix socket path
    server.start()
    yield server
    assert server.proc is not None
    os.kill(server.proc.pid, signal.SIGCONT)
    server.stop()


def test_an_engine_whose_redis_hangs_stops_within_seconds(
    stack: EmbeddedStack, own_redis: EmbeddedRedis, tmp_path: Path
) -> None:
    keys = Keys(f"aiwf-stop-{token_hex(3)}")
    state = tmp_path / "engine"
    state.mkdir()
    env = prefect_env(state / "prefect") | {
        "AIWF_REDIS_URL": own_redis.url,
        "AIWF_REDIS_PREFIX": keys.prefix,
        "AIWF_STATE_DIR": str(state),
        "PREFECT_API_URL": stack.api_url,
        "PYTHONPATH": os.environ.get("PYTHONPATH", ""),
    }
    log_path = tmp_path / "engine.log"
    with log_path.open("ab") as log:
        engine = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "engine",
                "run",
                "--config",
                str(never_due_config(tmp_path, DEPLOYMENT)),
            ],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
    client = redis.Redis.from_url(own_redis.url)
    try:
        wait_for(lambda: heartbeat(client, keys).get("pid") == engine.pid, 90, "the engine leading")
        assert own_redis.proc is not None
        os.kill(own_redis.proc.pid, signal.SIGSTOP)
        # Each of its loops is in a Redis read by now (the longest blocks for 2 s).
        time.sleep(3)
        engine.send_signal(signal.SIGTERM)
        asked = time.monotonic()
        try:
            engine.wait(STOPPED_WITHIN_SECONDS + 10)
        except subprocess.TimeoutExpired:
            pytest.fail(f"the engine still ran {STOPPED_WITHIN_SECONDS + 10:.0f} s after SIGTERM")
        took = time.monotonic() - asked
        print(f"stopped {took:.1f} s after SIGTERM")  # 18.6 s before engine/serve/shutdown.py
        text = log_path.read_text(errors="replace")
        assert took <= STOPPED_WITHIN_SECONDS, f"it took {took:.1f} s to stop\n{text[-3000:]}"
        assert engine.returncode == 0, text[-3000:]
        assert "stop requested; shutting down" in text
        assert "could not clear the heartbeat or lease within 5 s" in text, text[-3000:]
    finally:
        client.close()
        stop_process(engine, grace=5)
