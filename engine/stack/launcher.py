"""The embedded default: a private Redis, a local Prefect server and the engine, on one host.

Stdlib + redis only (the console imports this for `--demo`). A launcher stops only what it
started itself; `aiwf-console --demo` adds a lease on top (engine/stack/demo_lease.py), so the
services stop when the last demo console using them quits. Tests use this same launcher.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import redis

from engine.contract.keys import DEFAULT_PREFIX, Keys
from engine.stack.services import (
    EmbeddedRedis,
    LaunchError,
    LocalPrefectServer,
    Progress,
    find_redis_server,
    ignore_pid,
    prefect_env,
    quiet,
    stop_process,
    stopped_unless_ready,
    wait_until,
)

EMBEDDED_ENV = "AIWF_PREFECT_EMBEDDED"
"""Tells `aiwf-engine run` that the PREFECT_API_URL it is given is the launcher's own local
server (engine/cli/prefect_choice.py reads it; the console must not import that module)."""

__all__ = [
    "EmbeddedRedis",
    "EmbeddedStack",
    "EngineProcess",
    "LaunchError",
    "LocalPrefectServer",
    "Progress",
    "embedded_stack",
    "engine_alive",
    "find_redis_server",
    "prefect_env",
    "prefix_from_env",
    "redis_url_from_env",
    "stack_from_env",
]


def engine_alive(client: redis.Redis, keys: Keys) -> bool:
    try:
        return bool(client.exists(keys.heartbeat))
    except redis.RedisError:
        return False


@dataclass
class EngineProcess:
    """`aiwf-engine run` as a child process."""

    state_dir: Path
    redis_url: str
    api_url: str
    config_dir: Path
    prefix: str = DEFAULT_PREFIX
    extra_env: dict[str, str] = field(default_factory=dict)
    proc: subprocess.Popen[bytes] | None = None
    prefect_embedded: bool = False
    """`api_url` is the stack's own local server: the engine's heartbeat says so."""
    on_spawn: Callable[[int], None] = ignore_pid
    """Called with the pid as soon as the process exists, before it is ready."""

    @property
    def log_path(self) -> Path:
        return self.state_dir / "engine.log"

    def _client(self) -> redis.Redis:
        return redis.Redis.from_url(self.redis_url, socket_timeout=2)

    def is_up(self) -> bool:
        return engine_alive(self._client(), Keys(self.prefix))

    def start(self, progress: Progress = quiet, timeout: float = 120) -> bool:
        if self.is_up():
            progress("Engine: reusing the running engine (heartbeat present)")
            return False
        progress(f"Engine: starting with {self.config_dir} (log: {self.log_path})")
        env = (
            prefect_env(self.state_dir / "prefect")
            | self.extra_env
            | {
                "AIWF_REDIS_URL": self.redis_url,
                "AIWF_REDIS_PREFIX": self.prefix,
                "AIWF_STATE_DIR": str(self.state_dir),
                "PREFECT_API_URL": self.api_url,
                EMBEDDED_ENV: "1" if self.prefect_embedded else "0",
            }
        )
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "engine", "run", "--config", str(self.config_dir)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )

        def ready() -> bool:
            if self.proc is not None and self.proc.poll() is not None:
                raise LaunchError(
                    f"engine exited with code {self.proc.returncode}; see {self.log_path}"
                )
            return self.is_up()

        with stopped_unless_ready(self):
            self.on_spawn(self.proc.pid)
            wait_until(ready, timeout, "engine", self.log_path)
        return True

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc, grace=30)
            self.proc = None


@dataclass
class EmbeddedStack:
    """Redis + Prefect server + engine; stops on exit only what it started."""

    state_dir: Path
    config_dir: Path
    prefix: str = DEFAULT_PREFIX
    engine_env: dict[str, str] = field(default_factory=dict)
    redis: EmbeddedRedis = field(init=False)
    prefect: LocalPrefectServer = field(init=False)
    engine: EngineProcess | None = field(init=False, default=None)
    _started: list[EmbeddedRedis | LocalPrefectServer | EngineProcess] = field(
        init=False, default_factory=list
    )

    on_spawn: Callable[[str, int], None] | None = None
    """Called with ("redis" | "prefect" | "engine", pid) as soon as this stack spawns one,
    before it is ready: the demo lease records it at once, so a console killed mid-start
    leaves nothing unrecorded (engine/stack/demo_lease.py)."""

    def __post_init__(self) -> None:
        self.redis = EmbeddedRedis(self.state_dir, on_spawn=self._spawned("redis"))
        self.prefect = LocalPrefectServer(self.state_dir, on_spawn=self._spawned("prefect"))

    def _spawned(self, kind: str) -> Callable[[int], None]:
        def note(pid: int) -> None:
            if self.on_spawn is not None:
                self.on_spawn(kind, pid)

        return note

    external_redis_url: str = ""
    """Use this Redis instead of starting one (`AIWF_REDIS_URL`)."""
    external_api_url: str = ""
    """Use this Prefect API instead of starting a server (`PREFECT_API_URL`)."""

    @property
    def redis_url(self) -> str:
        return self.external_redis_url or self.redis.url

    @property
    def api_url(self) -> str:
        return self.external_api_url or self.prefect.api_url

    def start(self, progress: Progress = quiet, with_engine: bool = True) -> None:
        try:
            if not self.external_redis_url and self.redis.start(progress):
                self._started.append(self.redis)
            if not self.external_api_url and self.prefect.start(progress):
                self._started.append(self.prefect)
            if with_engine:
                self.engine = EngineProcess(
                    self.state_dir,
                    self.redis_url,
                    self.api_url,
                    self.config_dir,
                    self.prefix,
                    self.engine_env,
                    prefect_embedded=not self.external_api_url,
                    on_spawn=self._spawned("engine"),
                )
                if self.engine.start(progress):
                    self._started.append(self.engine)
        except BaseException:
            self.stop()
            raise

    def stop(self, progress: Progress = quiet) -> None:
        # Reverse order: the engine first, so it never sees its Redis or API vanish.
        while self._started:
            service = self._started.pop()
            progress(f"Stopping {type(service).__name__}")
            service.stop()

    @property
    def started(self) -> list[EmbeddedRedis | LocalPrefectServer | EngineProcess]:
        """The services this stack started (and so may stop), in start order."""
        return list(self._started)

    def stop_one(self, service: EmbeddedRedis | LocalPrefectServer | EngineProcess) -> None:
        """Stops one service this stack started."""
        if service in self._started:
            self._started.remove(service)
            service.stop()

    def forget_started(self) -> None:
        """Leaves the started services running, no longer owned by this stack: they run in
        their own sessions, so they outlive this process (another demo console still uses
        them; see engine/stack/demo_lease.py)."""
        self._started.clear()


def stack_from_env(state_dir: Path, config_dir: Path) -> EmbeddedStack:
    """The demo stack: embedded services unless `AIWF_REDIS_URL` / `PREFECT_API_URL` are set."""
    return EmbeddedStack(
        state_dir,
        config_dir,
        prefix_from_env(),
        external_redis_url=os.environ.get("AIWF_REDIS_URL", ""),
        external_api_url=os.environ.get("PREFECT_API_URL", ""),
    )


@contextmanager
def embedded_stack(
    state_dir: Path,
    config_dir: Path,
    progress: Progress = quiet,
    with_engine: bool = True,
    prefix: str = DEFAULT_PREFIX,
    engine_env: dict[str, str] | None = None,
) -> Iterator[EmbeddedStack]:
    stack = EmbeddedStack(state_dir, config_dir, prefix, engine_env or {})
    stack.start(progress, with_engine=with_engine)
    try:
        yield stack
    finally:
        stack.stop(progress)


def redis_url_from_env(state_dir: Path) -> str:
    """`AIWF_REDIS_URL` if set, else the embedded Redis socket in the state dir."""
    return os.environ.get("AIWF_REDIS_URL") or EmbeddedRedis(state_dir).url


def prefix_from_env() -> str:
    return os.environ.get("AIWF_REDIS_PREFIX") or DEFAULT_PREFIX
