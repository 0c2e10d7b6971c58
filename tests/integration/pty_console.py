"""A real `aiwf-console` process on a pseudo-terminal, for tests of signals and hang-ups.

The pty is the console's controlling terminal (its own session), so closing our end is
what closing a terminal window or dropping SSH does: the kernel sends SIGHUP.
"""

from __future__ import annotations

import fcntl
import json
import os
import select
import signal
import struct
import subprocess
import sys
import termios
import threading
import time
from pathlib import Path
from typing import Any

from engine.stack.demo_lease import process_alive

DEMO_ENV_DROPPED = (
    "AIWF_REDIS_URL",
    "PREFECT_API_URL",
    "AIWF_REDIS_PREFIX",
    "PREFECT_PROFILE",
    "PREFECT_HOME",
)


def demo_env(state: Path) -> dict[str, str]:
    """The test's environment for a demo: its own state dir (and so its own Prefect home,
    `<state>/prefect`), nothing of the user's Redis or Prefect."""
    env = {k: v for k, v in os.environ.items() if k not in DEMO_ENV_DROPPED}
    env |= {"AIWF_STATE_DIR": str(state), "TERM": "xterm-256color"}
    return env


def _take_terminal() -> None:
    """In the child, after setsid: stdin (the pty) becomes its controlling terminal."""
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


class PtyConsole:
    """`python -m console.cli ARGS` on a 160x48 pty; its output is drained in a thread."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 48, 160, 0, 0))
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "console.cli", *args],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=env,
            start_new_session=True,
            preexec_fn=_take_terminal,
        )
        os.close(slave)
        self._master = master
        self._output = bytearray()
        self._lock = threading.Lock()
        self._hang_up = threading.Event()
        self._reader = threading.Thread(target=self._drain, daemon=True)
        self._reader.start()

    def _drain(self) -> None:
        # The thread owns the fd: only it closes it, so no read races a close.
        try:
            while not self._hang_up.is_set():
                ready, _, _ = select.select([self._master], [], [], 0.1)
                if not ready:
                    continue
                try:
                    chunk = os.read(self._master, 65536)
                except OSError:  # EIO: the console closed its side
                    return
                if not chunk:
                    return
                with self._lock:
                    self._output += chunk
        finally:
            os.close(self._master)

    @property
    def text(self) -> str:
        with self._lock:
            return self._output.decode(errors="replace")

    def wait_for_text(self, needle: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if needle in self.text:
                return
            if self.proc.poll() is not None and not self._reader.is_alive():
                break  # exited, and everything it wrote has been read
            time.sleep(0.2)
        raise AssertionError(
            f"console never showed {needle!r} (exit code {self.proc.poll()}); last output:\n"
            + self.text[-3000:]
        )

    def send(self, keys: str) -> None:
        os.write(self._master, keys.encode())

    def hang_up(self) -> None:
        """Closes the terminal: the kernel sends SIGHUP to the console."""
        self._hang_up.set()
        self._reader.join(5)

    def wait(self, timeout: float) -> int:
        return self.proc.wait(timeout)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)


def recorded_services(state: Path) -> dict[str, Any]:
    """`demo/services.json`: what the demo consoles started, by kind."""
    try:
        data = json.loads((state / "demo" / "services.json").read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def processes_with(needle: str) -> list[int]:
    """Pids of live processes (not zombies) whose command line or environment holds `needle`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            blob = (entry / "cmdline").read_bytes() + b"\0" + (entry / "environ").read_bytes()
        except OSError:
            continue
        if needle.encode() in blob and process_alive(int(entry.name)):
            found.append(int(entry.name))
    return sorted(found)


def processes_in(directory: Path) -> list[int]:
    """Pids of live processes whose working directory is `directory` (redis-server changes
    into its `--dir` and rewrites its command line, so this is how to find it)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cwd = os.readlink(entry / "cwd")
        except OSError:
            continue
        if Path(cwd) == directory and process_alive(int(entry.name)):
            found.append(int(entry.name))
    return sorted(found)
