"""The demo lease's counting, with real processes standing in for the services and for
other consoles (`sleep`): dead consoles do not count, the last live one stops what is
recorded, and a console whose services went away is told why."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.stack.demo_lease import DemoLease, process_alive, process_tag
from engine.stack.launcher import EmbeddedRedis, EmbeddedStack


@pytest.fixture
def sleepers() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for proc in started:
        proc.kill()
        proc.wait()


def sleeper(started: list[subprocess.Popen[bytes]]) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(["sleep", "60"])
    started.append(proc)
    return proc


def lease_for(state: Path, pid: int) -> DemoLease:
    lease = DemoLease(EmbeddedStack(state, state), pid=pid)
    lease.lease_dir.mkdir(parents=True, exist_ok=True)
    lease.lease_path.write_text(json.dumps({"pid": pid, "tag": process_tag(pid)}))
    return lease


def record(lease: DemoLease, services: dict[str, subprocess.Popen[bytes]]) -> None:
    lease.services_path.write_text(
        json.dumps({k: {"pid": p.pid, "tag": process_tag(p.pid)} for k, p in services.items()})
    )


def test_the_last_live_console_stops_the_recorded_services(
    tmp_path: Path, sleepers: list[subprocess.Popen[bytes]]
) -> None:
    services = {"redis": sleeper(sleepers), "engine": sleeper(sleepers)}
    console_a, console_b, crashed = sleeper(sleepers), sleeper(sleepers), sleeper(sleepers)
    a = lease_for(tmp_path, console_a.pid)
    b = lease_for(tmp_path, console_b.pid)
    lease_for(tmp_path, crashed.pid)
    record(a, services)
    crashed.kill()
    crashed.wait()

    first = a.release()
    assert first.others == [console_b.pid]  # the crashed console's lease does not count
    assert first.stopped == []
    assert all(p.poll() is None for p in services.values())
    assert b.notice() == ""

    last = b.release()
    assert last.others == [] and last.stopped == ["engine", "Redis"]
    for proc in services.values():
        proc.wait(5)  # SIGTERMed by pid: they exit
    assert not b.services_path.exists()
    assert list(b.lease_dir.iterdir()) == []
    assert "Stopped the demo services: engine, Redis" in last.describe()


def test_a_console_is_told_when_its_services_went_away(
    tmp_path: Path, sleepers: list[subprocess.Popen[bytes]]
) -> None:
    redis_stand_in = sleeper(sleepers)
    mine = lease_for(tmp_path, sleeper(sleepers).pid)
    record(mine, {"redis": redis_stand_in})
    assert mine.notice() == ""
    redis_stand_in.kill()
    redis_stand_in.wait()
    assert not process_alive(redis_stand_in.pid)
    assert f"demo Redis (pid {redis_stand_in.pid}) has exited" in mine.notice()

    # Another console stopped them (its lease, say, saw this one as gone).
    other = lease_for(tmp_path, sleeper(sleepers).pid)
    engine_stand_in = sleeper(sleepers)
    record(other, {"engine": engine_stand_in})
    mine.lease_path.unlink()
    assert other.release().stopped == ["engine"]
    assert f"stopped by the demo console pid {other.pid}" in mine.notice()


def test_a_redis_restarted_by_hand_is_named_as_not_the_demos(
    tmp_path: Path, sleepers: list[subprocess.Popen[bytes]]
) -> None:
    """The demo's Redis died and someone started one at its socket: the console works
    again, so the notice no longer says to quit, but says quitting will not stop that one."""
    redis_stand_in = sleeper(sleepers)
    mine = lease_for(tmp_path, sleeper(sleepers).pid)
    record(mine, {"redis": redis_stand_in})
    redis_stand_in.kill()
    redis_stand_in.wait()
    assert "quit and run aiwf-console --demo again" in mine.notice()

    by_hand = EmbeddedRedis(mine.stack.state_dir)  # a real redis-server at that socket
    by_hand.start(lambda _: None)
    try:
        notice = mine.notice()
        assert "not started by this demo, so quitting leaves it" in notice, notice
        assert "quit and run" not in notice
    finally:
        by_hand.stop()
