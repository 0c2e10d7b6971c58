"""Who sent a command (user, host, SSH address) and the run tag that records it."""

from __future__ import annotations

import getpass
import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass

OPERATOR_ENV = "AIWF_OPERATOR"
"""The name to send commands under instead of the OS user: `aiwf-console serve` sets it
(`--operator`) for its browser sessions, whose person the OS does not know."""
CLIENT_ENV = "AIWF_CLIENT"
"""Where the operator is connected from when it is not SSH: `aiwf-console serve` sets
`browser <address>` for each browser session."""


@dataclass(frozen=True)
class Identity:
    """Who sent a command: OS user, host, and the SSH client address if any (for a browser
    session of `aiwf-console serve`: its `--operator` name and `browser <address>`).

    Built by `current()` (an operator: console key, `:` command, palette, bulk action or
    the `aiwf-engine` CLI) or `engine()` (the engine's own auto-resume), read back by
    `from_fields`, and always shown by `describe()`: Prefect tags and state messages,
    the audit trail and the engine log say the same `user@host`.
    """

    user: str
    host: str
    ssh_client: str = ""

    @classmethod
    def current(cls) -> Identity:
        """The operator running this process: `AIWF_OPERATOR`, else the OS user; from
        `AIWF_CLIENT`, else the SSH client's address."""
        user = os.environ.get(OPERATOR_ENV, "").strip()
        if not user:
            try:
                user = getpass.getuser()
            except Exception:  # no passwd entry in some containers
                user = str(os.getuid())
        # SSH_CLIENT is "addr port localport"; only the address identifies the operator.
        ssh = os.environ.get("SSH_CLIENT") or os.environ.get("SSH_CONNECTION") or ""
        client = os.environ.get(CLIENT_ENV, "").strip() or ssh.split(" ")[0]
        return cls(user=user, host=socket.gethostname(), ssh_client=client)

    @classmethod
    def engine(cls) -> Identity:
        """The engine acting on its own (a maintenance window ending)."""
        return cls(user="engine", host=socket.gethostname())

    @classmethod
    def from_fields(cls, fields: Mapping[str, str]) -> Identity:
        """From a command or audit entry's `user`, `host`, `ssh_client` fields."""
        return cls(
            user=fields.get("user") or "?",
            host=fields.get("host") or "?",
            ssh_client=fields.get("ssh_client") or "",
        )

    def to_fields(self) -> dict[str, str]:
        return {"user": self.user, "host": self.host, "ssh_client": self.ssh_client}

    def describe(self) -> str:
        """`ana@ops-1`, or `ana@ops-1 from 10.0.0.7` over SSH."""
        where = f" from {self.ssh_client}" if self.ssh_client else ""
        return f"{self.user}@{self.host}{where}"


TRIGGERED_BY = "triggered-by:"
"""Tag prefix of a run an operator created; the rest is `Identity.describe()`."""


def triggered_by_tag(identity: Identity) -> str:
    return f"{TRIGGERED_BY}{identity.describe()}"
