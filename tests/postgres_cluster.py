"""A private PostgreSQL cluster owned by a test: `initdb` into a temp dir, `postgres` on a free
127.0.0.1 port as a child process, one database, and everything removed on `stop`.

It uses Debian's server binaries (/usr/lib/postgresql/N/bin); scripts/postgres.sh installs
them when missing (scripts/test.sh runs it, so CI has them). Missing, the test fails saying
so: it never skips. PostgreSQL refuses to run as root, so as root the cluster runs as the
`postgres` user that Debian's package creates.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from secrets import token_hex

import pytest

SUPERUSER = "aiwf"
"""The cluster's superuser (initdb -U): not the OS user, so nothing depends on peer auth."""


def server_bin_dir() -> Path:
    """The newest /usr/lib/postgresql/N/bin holding initdb, postgres and psql."""
    found = []
    for bin_dir in Path("/usr/lib/postgresql").glob("*/bin"):
        if all((bin_dir / tool).exists() for tool in ("initdb", "postgres", "psql")):
            version = re.match(r"\d+", bin_dir.parent.name)
            found.append((int(version.group()) if version else 0, bin_dir))
    if not found:
        pytest.fail(
            "no PostgreSQL server binaries under /usr/lib/postgresql/*/bin: run "
            "`bash scripts/postgres.sh` (scripts/test.sh does) to install Debian's postgresql"
        )
    return max(found)[1]


def run_as() -> pwd.struct_passwd | None:
    """The OS user the server runs as: `postgres` when we are root, else ourselves (None)."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam("postgres")
    except KeyError:
        pytest.fail(
            "running as root and there is no `postgres` user to run PostgreSQL as (it "
            "refuses root): install Debian's postgresql (`bash scripts/postgres.sh`)"
        )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class PostgresCluster:
    """One throwaway cluster with one database, reached by password over 127.0.0.1."""

    database: str = "prefect"
    password: str = field(default_factory=lambda: token_hex(12))
    port: int = 0
    root: Path | None = None
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The SQLAlchemy URL Prefect takes (PREFECT_API_DATABASE_CONNECTION_URL)."""
        return (
            f"postgresql+asyncpg://{SUPERUSER}:{self.password}@127.0.0.1:{self.port}/"
            f"{self.database}"
        )

    @property
    def log_path(self) -> Path:
        assert self.root is not None
        return self.root / "postgres.log"

    def _run(self, args: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
        user = run_as()
        return subprocess.run(
            args,
            capture_output=True,
            text=True,
            check=False,
            user=user.pw_uid if user else None,
            group=user.pw_gid if user else None,
            env=dict(os.environ, PGPASSWORD=self.password),
            **kwargs,  # type: ignore[call-overload]
        )

    def start(self, timeout: float = 60) -> None:
        bin_dir, user = server_bin_dir(), run_as()
        # Under /tmp when run as `postgres`: it must traverse every parent, and a private
        # TMPDIR (mode 0700) would stop it.
        self.root = Path(tempfile.mkdtemp(prefix="aiwf-pg-", dir="/tmp" if user else None))
        if user:
            os.chown(self.root, user.pw_uid, user.pw_gid)
        password_file = self.root / "password"
        password_file.write_text(self.password + "\n")
        if user:
            os.chown(password_file, user.pw_uid, user.pw_gid)
        data = self.root / "data"
        made = self._run(
            [
                str(bin_dir / "initdb"),
                "--pgdata",
                str(data),
                "--username",
                SUPERUSER,
                "--pwfile",
                str(password_file),
                "--auth-local=scram-sha-256",
                "--auth-host=scram-sha-256",
                "--encoding=UTF8",
                "--no-sync",
            ]
        )
        password_file.unlink()
        if made.returncode != 0:
            pytest.fail(f"initdb failed ({made.returncode}):\n{made.stdout}\n{made.stderr}")
        self.port = free_port()
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [
                    str(bin_dir / "postgres"),
                    "-D",
                    str(data),
                    "-p",
                    str(self.port),
                    "-k",
                    str(self.root),
                    "-c",
                    "listen_addresses=127.0.0.1",
                    # A test database: durability is not what is tested, speed helps.
                    "-c",
                    "fsync=off",
                    "-c",
                    "synchronous_commit=off",
                    "-c",
                    "full_page_writes=off",
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                user=user.pw_uid if user else None,
                group=user.pw_gid if user else None,
                start_new_session=True,
            )
        self._wait_ready(bin_dir, timeout)
        self.psql(f'CREATE DATABASE "{self.database}"', database="postgres")

    def _wait_ready(self, bin_dir: Path, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                pytest.fail(f"postgres exited ({self.proc.returncode}):\n{self.log_tail()}")
            ready = self._run(
                [
                    str(bin_dir / "pg_isready"),
                    "-h",
                    "127.0.0.1",
                    "-p",
                    str(self.port),
                    "-U",
                    SUPERUSER,
                ]
            )
            if ready.returncode == 0:
                return
            time.sleep(0.2)
        pytest.fail(f"postgres not ready within {timeout:.0f}s:\n{self.log_tail()}")

    def psql(self, sql: str, database: str = "") -> str:
        """Runs one SQL statement; its rows unaligned, `|`-separated, one per line."""
        done = self._run(
            [
                str(server_bin_dir() / "psql"),
                "--host=127.0.0.1",
                f"--port={self.port}",
                f"--username={SUPERUSER}",
                f"--dbname={database or self.database}",
                "--no-align",
                "--tuples-only",
                "--set=ON_ERROR_STOP=1",
                "--command",
                sql,
            ],
            # psql starts in the current directory, which the postgres user may not read.
            cwd="/",
        )
        if done.returncode != 0:
            raise AssertionError(f"psql failed on {sql!r}: {done.stderr.strip()}")
        return done.stdout.strip()

    def log_tail(self, lines: int = 30) -> str:
        if self.root is None or not self.log_path.exists():
            return "(no log)"
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        """Fast shutdown (SIGINT: clients are disconnected), then the files are removed."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None
        if self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None
