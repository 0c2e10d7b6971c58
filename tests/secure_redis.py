"""A real redis-server with TLS only (no plain port) and ACL users, for the identity and TLS
tests: a throwaway CA and server certificate made with openssl, one ACL user per role.

It needs a redis-server >= 7 built with TLS (per-key read/write ACL selectors are Redis 7);
scripts/secure-redis.sh installs Debian's when the one on PATH is not (scripts/test.sh runs
it, so CI has it). Missing, the tests fail saying so: they never skip.
"""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import pytest
import redis

ENGINE_USER, ENGINE_PASSWORD = "engine", "engine-secret-pw"
OPERATOR_PASSWORD = "op-secret-pw"
VIEWER, VIEWER_PASSWORD = "viewer", "viewer-secret-pw"


def tls_redis_server() -> str:
    """Path of a TLS-capable redis-server >= 7, or the test fails naming the fix."""
    for candidate in (shutil.which("redis-server"), "/usr/bin/redis-server"):
        if not candidate or not Path(candidate).exists():
            continue
        version = subprocess.run([candidate, "--version"], capture_output=True, text=True).stdout
        major = re.search(r"v=(\d+)\.", version)
        linked = subprocess.run(["ldd", candidate], capture_output=True, text=True).stdout
        if major and int(major.group(1)) >= 7 and "libssl" in linked:
            return candidate
    pytest.fail(
        "no redis-server >= 7 with TLS found: run `bash scripts/secure-redis.sh` "
        "(scripts/test.sh does) to install Debian's redis-server"
    )


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_ca(directory: Path, name: str) -> Path:
    """A self-signed CA (`name`.pem, `name`.key) in `directory`."""
    _openssl(
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        "-subj", f"/CN={name}", "-keyout", f"{name}.key", "-out", f"{name}.pem",
        cwd=directory,
    )  # fmt: skip
    return directory / f"{name}.pem"


def make_server_cert(directory: Path, ca: str) -> tuple[Path, Path]:
    """server.pem/server.key for 127.0.0.1 and localhost, signed by the CA `ca`."""
    (directory / "san.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    _openssl(
        "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost",
        "-keyout", "server.key", "-out", "server.csr", cwd=directory,
    )  # fmt: skip
    _openssl(
        "x509", "-req", "-in", "server.csr", "-CA", f"{ca}.pem", "-CAkey", f"{ca}.key",
        "-CAcreateserial", "-days", "2", "-extfile", "san.ext", "-out", "server.pem",
        cwd=directory,
    )  # fmt: skip
    return directory / "server.pem", directory / "server.key"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def operator_acl(prefix: str, user: str, password: str) -> str:
    """The ACL rule docs/operations.md gives an operator: read everything under the prefix,
    append only to its own command stream and to the read-only query stream."""
    return (
        f"user {user} on >{password} resetkeys resetchannels -@all +@read +@connection "
        f"+xadd %R~{prefix}:* %W~{prefix}:commands:{user} %W~{prefix}:queries"
    )


@dataclass
class SecureRedis:
    """redis-server on a TLS port of 127.0.0.1 with an `engine` user (all rights), one
    operator user per name in `operators` and a read-only `viewer`."""

    directory: Path
    prefix: str
    operators: list[str]
    port: int = field(default_factory=_free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def ca(self) -> Path:
        return self.directory / "ca.pem"

    def url(self, user: str, password: str, ca: Path | None = None) -> str:
        query = f"ssl_ca_certs={quote(str(ca or self.ca))}"
        return f"rediss://{user}:{password}@127.0.0.1:{self.port}/0?{query}"

    @property
    def engine_url(self) -> str:
        return self.url(ENGINE_USER, ENGINE_PASSWORD)

    def operator_url(self, user: str) -> str:
        return self.url(user, OPERATOR_PASSWORD)

    @property
    def viewer_url(self) -> str:
        return self.url(VIEWER, VIEWER_PASSWORD)

    def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        make_ca(self.directory, "ca")
        cert, key = make_server_cert(self.directory, "ca")
        acl = [
            f"user {ENGINE_USER} on >{ENGINE_PASSWORD} ~* &* +@all",
            # Reads, and appends to the query stream only (history queries change nothing).
            f"user {VIEWER} on >{VIEWER_PASSWORD} resetkeys -@all +@read +@connection "
            f"+xadd %R~{self.prefix}:* %W~{self.prefix}:queries",
            "user default off",
            *(operator_acl(self.prefix, name, OPERATOR_PASSWORD) for name in self.operators),
        ]
        (self.directory / "users.acl").write_text("\n".join(acl) + "\n")
        conf = "\n".join(
            [
                "port 0",
                f"tls-port {self.port}",
                "bind 127.0.0.1",
                f"tls-cert-file {cert}",
                f"tls-key-file {key}",
                f"tls-ca-cert-file {self.ca}",
                "tls-auth-clients no",
                f"aclfile {self.directory / 'users.acl'}",
                f"dir {self.directory}",
                'save ""',
                "appendonly no",
            ]
        )
        (self.directory / "redis.conf").write_text(conf + "\n")
        log = (self.directory / "redis.log").open("wb")
        self.process = subprocess.Popen(
            [tls_redis_server(), str(self.directory / "redis.conf")], stdout=log, stderr=log
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                with redis.Redis.from_url(self.engine_url) as client:
                    if client.ping():
                        return
            except redis.RedisError:
                if self.process.poll() is not None:
                    break
                time.sleep(0.1)
        log_text = (self.directory / "redis.log").read_text(errors="replace")
        raise AssertionError(f"TLS redis-server did not start:\n{log_text}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=20)
