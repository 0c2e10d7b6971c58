"""Prefect process workers for the work pool tests: on this host, or inside a network
namespace (`ip netns exec`), with the environment a worker host of this product needs."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from engine.stack.services import prefect_env, stop_process

HEARTBEAT_SECONDS = 2
"""Short worker heartbeats, so a killed worker is marked offline within seconds (Prefect
marks a worker OFFLINE after missing a few heartbeats)."""


def worker_env(
    home: Path, api_url: str, redis_url: str, prefix: str, state_dir: Path, config_dir: Path
) -> dict[str, str]:
    """What `prefect worker start` on a worker host gets: the Prefect API, and for the flow
    runs it starts the Redis (lineage), the state dir and the shared result storage."""
    return prefect_env(home) | {
        "PREFECT_API_URL": api_url,
        "AIWF_REDIS_URL": redis_url,
        "AIWF_REDIS_PREFIX": prefix,
        "AIWF_STATE_DIR": str(state_dir),
        "AIWF_CONFIG_DIR": str(config_dir),
        "PREFECT_LOCAL_STORAGE_PATH": str(state_dir / "results"),
        "PREFECT_WORKER_QUERY_SECONDS": "1",
        "PREFECT_WORKER_HEARTBEAT_SECONDS": str(HEARTBEAT_SECONDS),
    }


@dataclass
class ProcessWorker:
    """`prefect worker start --pool POOL --type process --name NAME` as a child process."""

    pool: str
    name: str
    env: dict[str, str]
    log_path: Path
    netns: str = ""
    """Run inside this network namespace (`ip netns exec`); "" runs on this host."""
    proc: subprocess.Popen[bytes] | None = field(default=None, init=False)

    def start(self) -> None:
        command = [
            sys.executable,
            "-m",
            "prefect",
            "worker",
            "start",
            "--pool",
            self.pool,
            "--type",
            "process",
            "--name",
            self.name,
        ]
        if self.netns:
            command = ["ip", "netns", "exec", self.netns, *command]
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.env,
                start_new_session=True,
            )

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc, grace=10)
            self.proc = None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
