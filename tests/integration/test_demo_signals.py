"""`aiwf-console --demo` stops what it started on SIGTERM, SIGHUP and a closed terminal, and
two demo consoles started at once on one state dir share one stack.

Real consoles on pseudo-terminals (tests/integration/pty_console.py), real Redis, Prefect
server and engine; afterwards no process holding the state dir in its command line or
environment is left.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from engine.contract.documents import Heartbeat, decode
from engine.contract.keys import DEFAULT_PREFIX, Keys
from engine.contract.paths import bundled_config_dir
from engine.stack.demo_lease import process_alive
from engine.stack.launcher import EmbeddedRedis
from tests.integration.conftest import wait_for
from tests.integration.pty_console import (
    PtyConsole,
    demo_env,
    processes_in,
    processes_with,
    recorded_services,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]

START_SECONDS = 240
"""A first Prefect server start (database migrations) takes about a minute on a busy 2-core
machine; the engine's start follows."""
STOP_SECONDS = 90
"""The engine gets 30 s to stop, the Prefect server and Redis 20 s each."""
SCREEN_READY = "Deployments (2)"
"""The demo console's title once the engine has written the two bundled deployments."""
KINDS = {"engine", "prefect", "redis"}


@pytest.fixture
def demo_dirs() -> Iterator[tuple[Path, Path]]:
    # Short: the Redis unix socket path lives in the state dir (about 104 bytes at most).
    base = Path(tempfile.mkdtemp(prefix="aiwf-sig-"))
    state, config = base / "st", base / "config"
    shutil.copytree(bundled_config_dir(), config)
    yield state, config
    for pid in processes_with(str(state)):  # a failed test must not leave services behind
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    shutil.rmtree(base, ignore_errors=True)


def start_console(state: Path, config: Path) -> PtyConsole:
    return PtyConsole(["--demo", "--config", str(config)], demo_env(state))


def all_services(state: Path) -> dict[str, int]:
    """The pids of the three demo services, once all are recorded."""

    def recorded() -> dict[str, int] | None:
        services = recorded_services(state)
        if set(services) != KINDS:
            return None
        return {kind: int(entry["pid"]) for kind, entry in services.items()}

    return wait_for(recorded, START_SECONDS, "the demo services in demo/services.json")


def assert_all_gone(state: Path, pids: dict[str, int]) -> None:
    alive = {kind: pid for kind, pid in pids.items() if process_alive(pid)}
    assert not alive, f"left running: {alive}"
    assert processes_with(str(state)) == [], "a process using the state dir is still running"


def demo_heartbeat(state: Path) -> Heartbeat:
    """The demo engine's heartbeat, read from the demo's Redis."""
    client = redis.Redis.from_url(EmbeddedRedis(state).url)
    try:
        key = Keys(DEFAULT_PREFIX).heartbeat
        beat = decode(client.get(key), Heartbeat, key)
    finally:
        client.close()
    assert beat is not None, "no heartbeat in the demo's Redis"
    return beat


def quit_as_the_last_one(console: PtyConsole, state: Path, pids: dict[str, int]) -> None:
    """`q` in the last demo console: it exits 0 and every demo service is gone."""
    console.send("q")
    assert console.wait(STOP_SECONDS) == 0
    assert_all_gone(state, pids)


@pytest.mark.parametrize("how", ["SIGTERM", "SIGHUP", "closed terminal"])
def test_a_demo_console_stopped_by_a_signal_stops_its_services(
    demo_dirs: tuple[Path, Path], how: str
) -> None:
    state, config = demo_dirs
    console = start_console(state, config)
    try:
        console.wait_for_text(SCREEN_READY, START_SECONDS)
        pids = all_services(state)
        assert all(process_alive(pid) for pid in pids.values())

        if how == "closed terminal":
            console.hang_up()
        else:
            console.proc.send_signal(getattr(signal, how))
        code = console.wait(STOP_SECONDS)

        assert code == 128 + (signal.SIGTERM if how == "SIGTERM" else signal.SIGHUP)
        assert_all_gone(state, pids)
        assert recorded_services(state) == {}, "services.json still lists services"
        assert list((state / "demo" / "leases").iterdir()) == []
    finally:
        console.kill()


def test_two_demo_consoles_started_at_once_share_one_stack(
    demo_dirs: tuple[Path, Path],
) -> None:
    state, config = demo_dirs
    first = start_console(state, config)
    second = start_console(state, config)
    try:
        for console in (first, second):
            console.wait_for_text(SCREEN_READY, START_SECONDS)
        pids = all_services(state)
        # One of each: the lock made the second console wait and reuse what the first started.
        assert processes_in(state / "redis") == [pids["redis"]]
        assert processes_with(f"PREFECT_HOME={state}/prefect") == sorted(
            [pids["prefect"], pids["engine"]]
        )
        beat = demo_heartbeat(state)
        assert beat.prefect_embedded is True and beat.pid == pids["engine"]
        leases = sorted(path.stem for path in (state / "demo" / "leases").iterdir())
        assert leases == sorted([str(first.proc.pid), str(second.proc.pid)])
        assert "Waiting for another process starting or stopping" in (first.text + second.text)

        first.send("q")
        assert first.wait(STOP_SECONDS) == 0
        first.wait_for_text("other demo console(s) use them", 10)
        assert all(process_alive(pid) for pid in pids.values())
        second.wait_for_text("engine alive", 30)  # still served after the first one quit

        quit_as_the_last_one(second, state, pids)
    finally:
        first.kill()
        second.kill()


def test_services_of_a_killed_demo_console_are_reused_and_stopped_by_the_next(
    demo_dirs: tuple[Path, Path],
) -> None:
    state, config = demo_dirs
    killed = start_console(state, config)
    try:
        killed.wait_for_text(SCREEN_READY, START_SECONDS)
        pids = all_services(state)
        killed.kill()  # SIGKILL: no handler runs, the services stay up (their own sessions)
        assert all(process_alive(pid) for pid in pids.values())

        following = start_console(state, config)
        try:
            following.wait_for_text(SCREEN_READY, START_SECONDS)
            assert "Reusing demo services no live console holds" in following.text
            assert all_services(state) == pids  # reused, not started again

            quit_as_the_last_one(following, state, pids)
        finally:
            following.kill()
    finally:
        killed.kill()


def test_a_server_left_starting_by_a_killed_demo_console_is_stopped_by_the_next(
    demo_dirs: tuple[Path, Path],
) -> None:
    state, config = demo_dirs
    killed = start_console(state, config)
    try:

        def prefect_spawned() -> int | None:
            entry = recorded_services(state).get("prefect")
            return int(entry["pid"]) if entry else None

        half_started = wait_for(prefect_spawned, 60, "the Prefect server to be spawned")
        assert not (state / "prefect" / "server.json").exists()  # not ready yet
        redis_pid = int(recorded_services(state)["redis"]["pid"])
        killed.kill()
        assert process_alive(half_started)

        following = start_console(state, config)
        try:
            following.wait_for_text(SCREEN_READY, START_SECONDS)
            assert f"Stopping the Prefect server (pid {half_started})" in following.text
            assert not process_alive(half_started)
            pids = all_services(state)
            assert pids["redis"] == redis_pid  # ready: reused
            assert pids["prefect"] != half_started

            quit_as_the_last_one(following, state, pids)
        finally:
            following.kill()
    finally:
        killed.kill()
