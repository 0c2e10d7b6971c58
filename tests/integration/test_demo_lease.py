"""Two demo consoles on one state dir: the services stop when the last one quits.

Each "console" is a real process running the console's own demo start (`start_demo`, the
lease and the launcher) and, on a line on stdin, its own quit path (`lease.release`), just
without the Textual screen in between.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import urllib.request
from datetime import datetime, timezone
from pathlib import Path
from typing import IO

import pytest
import redis

from engine.contract.keys import Keys
from engine.contract.paths import bundled_config_dir
from engine.stack.demo_lease import DemoLease, process_alive
from engine.stack.launcher import EmbeddedStack
from tests.integration.conftest import wait_for

pytestmark = pytest.mark.integration

CONSOLE = """
import sys
from pathlib import Path
from console.cli import start_demo

def say(line):
    print(line, flush=True)

lease = start_demo(Path(sys.argv[1]), "aiwf", say)
say("READY " + lease.stack.redis_url + " " + lease.stack.api_url)
for line in sys.stdin:
    if line.strip() == "notice":
        say("NOTICE " + (lease.notice() or "-"))
    elif line.strip() == "quit":
        break
say("RELEASED " + lease.release(say).describe())
"""


class DemoConsole:
    def __init__(self, state: Path, config: Path) -> None:
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in ("AIWF_REDIS_URL", "PREFECT_API_URL", "AIWF_REDIS_PREFIX")
        }
        env["AIWF_STATE_DIR"] = str(state)
        self.proc = subprocess.Popen(
            [sys.executable, "-c", CONSOLE, str(config)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=env,
            text=True,
        )
        self.lines: list[str] = []

    @property
    def out(self) -> IO[str]:
        assert self.proc.stdout is not None
        return self.proc.stdout

    def read_until(self, prefix: str) -> str:
        """Lines up to the first starting with `prefix` (the process has timeouts of its own)."""
        for line in self.out:
            self.lines.append(line.rstrip())
            if line.startswith(prefix):
                return line.rstrip()
        raise AssertionError(f"exited before {prefix!r}: {self.lines}")

    def send(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def quit(self) -> str:
        self.send("quit")
        released = self.read_until("RELEASED")
        assert self.proc.wait(60) == 0, self.lines
        return released

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


def health(api_url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{api_url}/health", timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def redis_answers(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_timeout=2).ping())
    except (redis.RedisError, OSError):
        return False


def fresh_beat(url: str, after: str) -> bool:
    """The engine beat after `after` (ISO): it is alive, not just a heartbeat not expired."""
    try:
        raw = redis.Redis.from_url(url, socket_timeout=2).get(Keys().heartbeat)
    except (redis.RedisError, OSError):
        return False
    return raw is not None and str(json.loads(raw)["beat_at"]) > after


def test_services_stop_only_when_the_last_demo_console_quits(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    state = tmp_path_factory.mktemp("dl")
    config = state / "config"
    shutil.copytree(bundled_config_dir(), config)
    first = DemoConsole(state, config)
    second: DemoConsole | None = None
    try:
        _, redis_url, api_url = first.read_until("READY").split()
        services = json.loads((state / "demo" / "services.json").read_text())
        assert set(services) == {"redis", "prefect", "engine"}
        pids = {kind: int(entry["pid"]) for kind, entry in services.items()}

        second = DemoConsole(state, config)
        assert second.read_until("READY").split()[1:] == [redis_url, api_url]
        assert any("reusing" in line for line in second.lines), second.lines

        released = first.quit()
        assert "left running" in released and str(second.proc.pid) in released, first.lines
        # The first console's process is gone; what it started still serves the second.
        quit_at = datetime.now(timezone.utc).isoformat()
        assert redis_answers(redis_url) and health(api_url)
        wait_for(lambda: fresh_beat(redis_url, quit_at), 30, "an engine heartbeat after quit")
        assert all(process_alive(pid) for pid in pids.values())
        second.send("notice")
        assert second.read_until("NOTICE") == "NOTICE -"

        before_stop = datetime.now(timezone.utc).isoformat()
        released = second.quit()
        assert "Stopped the demo services: engine, Prefect server, Redis" in released, second.lines
        wait_for(lambda: not any(process_alive(pid) for pid in pids.values()), 30, "all exited")
        assert not redis_answers(redis_url) and not health(api_url)
        assert not (state / "demo" / "services.json").exists()
        assert list((state / "demo" / "leases").iterdir()) == []

        # A console that was still running on them (say its lease had been lost) would be
        # told on its status line who stopped them.
        late = DemoLease(EmbeddedStack(state, config))
        late.since = before_stop
        note = late.notice()
        assert f"stopped by the demo console pid {second.proc.pid}" in note, note
    finally:
        first.kill()
        if second is not None:
            second.kill()
        leftover = state / "demo" / "services.json"
        if leftover.exists():  # a failed test must not leave services running
            for entry in json.loads(leftover.read_text()).values():
                if process_alive(int(entry["pid"])):
                    os.kill(int(entry["pid"]), 9)
