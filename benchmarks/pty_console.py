"""`aiwf-console` as an operator runs it: its own process in a pty (160x48 by default).

A reader thread takes everything the console writes to the terminal, counts the bytes and
notes when each expected text first appears in it (escape sequences stripped; a name in
one table cell is written in one piece). Times are `time.perf_counter()` of this process,
so a latency is "written to Redis / Prefect here" -> "read from the pty here".
"""

from __future__ import annotations

import fcntl
import os
import pty
import re
import signal
import struct
import subprocess
import sys
import termios
import threading
import time
from collections.abc import Sequence
from pathlib import Path

ESCAPES = re.compile(rb"\x1b\[[0-9;?<=>]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b.")
TAIL = 256
"""Bytes of the previous chunk kept when matching, so a text split across reads is found."""


def console_command(redis_url: str, prefix: str) -> list[str]:
    """The installed `aiwf-console` entry point of this interpreter's environment."""
    script = Path(sys.executable).parent / "aiwf-console"
    return [str(script), "--redis-url", redis_url, "--prefix", prefix]


def plain(data: bytes) -> bytes:
    return ESCAPES.sub(b"", data)


class PtyProcess:
    """A child process on a fresh pty; `expect(text)` before causing it, `seen(text)` after."""

    def __init__(
        self, argv: Sequence[str], env: dict[str, str], size: tuple[int, int] = (160, 48)
    ) -> None:
        master, slave = pty.openpty()
        cols, rows = size
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        self.started = time.perf_counter()
        self.process = subprocess.Popen(
            list(argv), stdin=slave, stdout=slave, stderr=slave, env=env,
            start_new_session=True, close_fds=True,
        )  # fmt: skip
        os.close(slave)
        self.master = master
        self.bytes_read = 0
        self.output = bytearray()
        self._keep_output = True
        self._lock = threading.Condition()
        self._pending: dict[bytes, float | None] = {}
        self._tail = b""
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        while True:
            try:
                chunk = os.read(self.master, 65536)
            except OSError:
                chunk = b""
            now = time.perf_counter()
            with self._lock:
                if not chunk:
                    self._pending = {k: v for k, v in self._pending.items()}
                    self._lock.notify_all()
                    return
                self.bytes_read += len(chunk)
                if self._keep_output:
                    self.output += chunk
                text = plain(self._tail + chunk)
                self._tail = (self._tail + chunk)[-TAIL:]
                for needle, found in self._pending.items():
                    if found is None and needle in text:
                        self._pending[needle] = now
                self._lock.notify_all()

    def keep_output(self, keep: bool) -> None:
        """Stops keeping the whole output (a long run only counts bytes)."""
        with self._lock:
            self._keep_output = keep
            if not keep:
                self.output.clear()

    def expect(self, *texts: str) -> None:
        """Watches for `texts` from now on (call before the change that draws them)."""
        with self._lock:
            for text in texts:
                self._pending[text.encode()] = None

    def wait(self, *texts: str, timeout: float = 30.0) -> float:
        """perf_counter time at which the last of `texts` (expected earlier) appeared."""
        deadline = time.monotonic() + timeout
        needles = [text.encode() for text in texts]
        with self._lock:
            while True:
                times = [self._pending.get(n) for n in needles]
                if all(t is not None for t in times):
                    for n in needles:
                        del self._pending[n]
                    return max(t for t in times if t is not None)
                left = deadline - time.monotonic()
                if left <= 0 or self.process.poll() is not None:
                    tail = plain(bytes(self.output[-2000:])).decode(errors="replace")
                    raise AssertionError(
                        f"{texts} not on the terminal after {timeout} s "
                        f"(exit {self.process.poll()}); last output: {tail!r}"
                    )
                self._lock.wait(min(left, 0.05))

    def found_at(self, text: str) -> float | None:
        """When `text` (expected earlier) appeared, or None if it has not (yet)."""
        with self._lock:
            return self._pending.get(text.encode())

    def cpu_seconds(self) -> float:
        """utime + stime of the child so far (/proc/PID/stat, clock ticks)."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def peak_rss_mb(self) -> float:
        """VmHWM (peak resident set) of the child so far, in MB."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        raise AssertionError(f"/proc/{self.process.pid}/status has no VmHWM")

    def close(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        os.close(self.master)
        self._thread.join(timeout=2)

    def __enter__(self) -> PtyProcess:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def console_env(state_dir: Path) -> dict[str, str]:
    """The environment an operator's shell gives the console (own state dir, a real TERM)."""
    return os.environ | {"TERM": "xterm-256color", "AIWF_STATE_DIR": str(state_dir)}


def open_console(redis_url: str, prefix: str, state_dir: Path) -> PtyProcess:
    """`aiwf-console --redis-url URL --prefix P` in a 160x48 pty."""
    return PtyProcess(console_command(redis_url, prefix), console_env(state_dir))
