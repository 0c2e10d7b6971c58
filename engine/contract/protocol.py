"""The Redis wire protocol shared by the engine (writer) and the console (reader).

This module is deliberately stdlib-only: the console imports it, and the console must start
fast over SSH without Prefect, pandas or pyarrow. `docs/redis-keys.md` describes the same
schema for people; keep the two in step.

All state documents are JSON objects. Times are ISO-8601 strings with an offset (UTC), or
null. State types are Prefect's (`SCHEDULED`, `PENDING`, `RUNNING`, `COMPLETED`, `FAILED`,
`CANCELLED`, `CANCELLING`, `CRASHED`, `PAUSED`).
"""

from __future__ import annotations

import getpass
import json
import os
import socket
import uuid
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from dataclasses import fields as dataclass_fields
from datetime import datetime, timezone
from typing import Any, Literal

DEFAULT_PREFIX = "aiwf"
"""Key prefix used when `AIWF_REDIS_PREFIX` is not set."""

ENGINE_GROUP = "engine"
"""Consumer group through which engines read the command stream."""

HEARTBEAT_TTL_SECONDS = 15
"""The heartbeat key expires this long after the engine's last beat."""

HEARTBEAT_INTERVAL_SECONDS = 5

UPDATES_MAXLEN = 20_000
LOG_STREAM_MAXLEN = 200_000
AUDIT_MAXLEN = 50_000
COMMANDS_MAXLEN = 10_000
RESULT_TTL_SECONDS = 7 * 24 * 3600
RUNS_KEPT = 1_000
"""Flow runs mirrored into Redis; older ones (and their task runs and logs) are trimmed."""

FINAL_STATE_TYPES = frozenset({"COMPLETED", "FAILED", "CANCELLED", "CRASHED"})
ACTIVE_STATE_TYPES = frozenset({"PENDING", "RUNNING", "CANCELLING", "PAUSED"})

Action = Literal["trigger", "retry", "cancel", "pause", "resume", "backfill"]
ACTIONS: tuple[str, ...] = ("trigger", "retry", "cancel", "pause", "resume", "backfill")
RUN_ACTIONS = frozenset({"retry", "cancel"})
"""Actions whose target is a flow run id (the others name a deployment)."""


def utc_now_iso() -> str:
    return datetime.now(timezone.utc).isoformat()


def parse_iso(value: str | None) -> datetime | None:
    """Parses an ISO time written by the engine; None stays None."""
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


@dataclass(frozen=True)
class Keys:
    """Every Redis key the product uses, under one prefix.

    Attributes are full key names; methods build per-object keys.
    """

    prefix: str = DEFAULT_PREFIX

    @property
    def deployments(self) -> str:
        """HASH: deployment name -> deployment JSON."""
        return f"{self.prefix}:deployments"

    @property
    def flow_runs(self) -> str:
        """HASH: flow run id -> flow run JSON."""
        return f"{self.prefix}:flow_runs"

    @property
    def flow_runs_index(self) -> str:
        """ZSET: flow run id scored by its (expected) start, epoch seconds."""
        return f"{self.prefix}:flow_runs:index"

    def task_runs(self, flow_run_id: str) -> str:
        """HASH: task run id -> task run JSON, one hash per flow run."""
        return f"{self.prefix}:task_runs:{flow_run_id}"

    def logs(self, flow_run_id: str) -> str:
        """STREAM of log lines of one flow run (flow and task logs)."""
        return f"{self.prefix}:logs:{flow_run_id}"

    def lineage(self, flow_run_id: str) -> str:
        """STRING: JSON lineage of the latest attempt of one flow run."""
        return f"{self.prefix}:lineage:{flow_run_id}"

    def lineage_attempts(self, flow_run_id: str) -> str:
        """HASH: attempt number -> JSON lineage of that attempt of one flow run."""
        return f"{self.prefix}:lineage_attempts:{flow_run_id}"

    def writers(self, deployment: str, partition: str) -> str:
        """ZSET: one member per write of an output partition (`writer_member`), scored by
        written-at epoch."""
        return f"{self.prefix}:writers:{deployment}:{partition}"

    def partitions(self, deployment: str) -> str:
        """SET: output partition names (`date=2026-11-01`) a deployment has written."""
        return f"{self.prefix}:partitions:{deployment}"

    @property
    def updates(self) -> str:
        """STREAM of every state change: fields kind, id, doc."""
        return f"{self.prefix}:updates"

    @property
    def commands(self) -> str:
        """STREAM of operator commands, read by the engine's consumer group."""
        return f"{self.prefix}:commands"

    def result(self, command_id: str) -> str:
        """LIST holding one command's result JSON (BLPOP-able, expires)."""
        return f"{self.prefix}:results:{command_id}"

    @property
    def audit(self) -> str:
        """STREAM: one entry per executed command (who, what, when, result)."""
        return f"{self.prefix}:audit"

    @property
    def heartbeat(self) -> str:
        """STRING with TTL: JSON about the live engine; missing means no engine."""
        return f"{self.prefix}:engine:heartbeat"

    @property
    def engine_info(self) -> str:
        """STRING: JSON with the Prefect API URL and config dir of the last engine."""
        return f"{self.prefix}:engine:info"

    @property
    def auto_resume(self) -> str:
        """ZSET: paused deployment name -> when the engine resumes it, epoch seconds."""
        return f"{self.prefix}:auto_resume"

    @property
    def backfills(self) -> str:
        """HASH: command id -> fields of a backfill command whose runs are not all created."""
        return f"{self.prefix}:backfills"

    @property
    def cancel_watches(self) -> str:
        """HASH: command id -> fields of a cancel whose final result is not written yet."""
        return f"{self.prefix}:cancel_watches"


@dataclass(frozen=True)
class Identity:
    """Who sent a command: OS user, host, and the SSH client address if any.

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
        """The operator running this process."""
        try:
            user = getpass.getuser()
        except Exception:  # no passwd entry in some containers
            user = str(os.getuid())
        # SSH_CLIENT is "addr port localport"; only the address identifies the operator.
        ssh = os.environ.get("SSH_CLIENT") or os.environ.get("SSH_CONNECTION") or ""
        return cls(user=user, host=socket.gethostname(), ssh_client=ssh.split(" ")[0])

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


@dataclass(frozen=True)
class Command:
    """An operator action, as carried on the command stream.

    Attributes:
        action: one of ACTIONS.
        target: deployment name (trigger, pause, resume, backfill) or flow run id (retry,
            cancel).
        params: parameter overrides for trigger; retry and backfill options (see
            docs/redis-keys.md); empty otherwise.
    """

    action: str
    target: str
    params: dict[str, Any] = field(default_factory=dict)
    identity: Identity = field(default_factory=Identity.current)
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    sent_at: str = field(default_factory=utc_now_iso)

    def to_fields(self) -> dict[str, str]:
        return {
            "id": self.id,
            "action": self.action,
            "target": self.target,
            "params": json.dumps(self.params, sort_keys=True),
            **self.identity.to_fields(),
            "sent_at": self.sent_at,
        }

    @classmethod
    def from_fields(cls, fields: dict[str, str]) -> Command:
        """Rebuilds a command; raises ValueError naming the bad field."""
        for name in ("id", "action", "target"):
            if not fields.get(name):
                raise ValueError(f"command is missing field {name!r}")
        if fields["action"] not in ACTIONS:
            raise ValueError(f"unknown action {fields['action']!r}; expected one of {ACTIONS}")
        try:
            params = json.loads(fields.get("params") or "{}")
        except json.JSONDecodeError as exc:
            raise ValueError(f"field 'params' is not JSON: {exc}") from exc
        if not isinstance(params, dict):
            raise ValueError("field 'params' must be a JSON object")
        return cls(
            action=fields["action"],
            target=fields["target"],
            params=params,
            identity=Identity.from_fields(fields),
            id=fields["id"],
            sent_at=fields.get("sent_at", ""),
        )

    def describe(self) -> str:
        return f"{self.action} {self.target}"


@dataclass(frozen=True)
class CommandResult:
    """What the engine answers to a command.

    Attributes:
        status: "ok" or "error", final; or "cancelling": a cancel is sent but Prefect has
            not reported the run Cancelled yet, and a final result follows on the same key.
        message: a sentence for the operator.
        flow_run_id: the run the command created or acted on, if any.
        flow_run_name: that run's name (`witty-fox`), so the audit trail names it; for a
            refused retry or cancel, the name of the run it was sent for, if known.
    """

    command_id: str
    status: Literal["ok", "error", "cancelling"]
    message: str
    flow_run_id: str = ""
    finished_at: str = field(default_factory=utc_now_iso)
    flow_run_name: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def final(self) -> bool:
        """False while a cancel waits for Prefect to report the run Cancelled."""
        return self.status != "cancelling"

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, raw: str | bytes) -> CommandResult:
        data = json.loads(raw)
        # Fields a newer engine added are ignored, so an older console still reads results.
        known = {f.name for f in dataclass_fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


def partition_name(path: str | None) -> str:
    """`date=2026-11-01` from `.../target/date=2026-11-01` (the last path part), or ''."""
    if not path:
        return ""
    return str(path).rstrip("/\\").replace("\\", "/").rsplit("/", 1)[-1]


def writer_member(flow_run_id: str, attempt: object) -> str:
    """`{run id}@{attempt}`: a writers ZSET member, one per attempt, so a retry that writes
    a partition again adds a write instead of moving the earlier one. Without an attempt
    number (older lineage documents): the run id alone."""
    return f"{flow_run_id}@{attempt}" if isinstance(attempt, int) else flow_run_id


def parse_writer_member(member: str) -> tuple[str, int | None]:
    """(flow run id, attempt or None) of a writers ZSET member."""
    run_id, sep, attempt = member.rpartition("@")
    if sep and attempt.isdigit():
        return run_id, int(attempt)
    return member, None


def decode_doc(raw: str | bytes | None) -> dict[str, Any] | None:
    """Decodes one state document; corrupt JSON reads as missing, never crashes a reader."""
    if raw is None:
        return None
    try:
        doc = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
    return doc if isinstance(doc, dict) else None


def encode_doc(doc: dict[str, Any]) -> str:
    return json.dumps(doc, sort_keys=True, default=str)
