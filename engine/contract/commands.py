"""Operator commands as carried on the command stream, and the engine's result for each."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Literal

import msgspec

from engine.contract.identity import Identity
from engine.contract.times import parse_iso, utc_now_iso

Action = Literal["trigger", "retry", "cancel", "pause", "resume", "backfill"]
ACTIONS: tuple[str, ...] = ("trigger", "retry", "cancel", "pause", "resume", "backfill")
RUN_ACTIONS = frozenset({"retry", "cancel"})
"""Actions whose target is a flow run id (the others name a deployment)."""

DEFAULT_DEADLINE_SECONDS = 300.0
"""A command the engine has not started within this long after it was sent is refused
(`aiwf-engine ... --deadline SECONDS` changes it): an engine back after hours must not
pause or trigger what an operator asked for long ago."""


def deadline_after(seconds: float) -> str:
    """The ISO deadline `seconds` from now (UTC)."""
    return (datetime.now(timezone.utc) + timedelta(seconds=seconds)).isoformat()


def params_json(params: dict[str, Any]) -> str:
    """A command's `params` as the stream and the audit trail carry them (keys sorted)."""
    return json.dumps(params, sort_keys=True)


@dataclass(frozen=True)
class Command:
    """An operator action, as carried on the command stream.

    Attributes:
        action: one of ACTIONS.
        target: deployment name (trigger, pause, resume, backfill) or flow run id (retry,
            cancel).
        params: parameter overrides for trigger; retry and backfill options (see
            docs/redis-keys.md); empty otherwise.
        deadline: ISO time after which the engine refuses to start it; "" (a command from
            a sender older than deadlines) never expires.
    """

    action: str
    target: str
    params: dict[str, Any] = field(default_factory=dict)
    identity: Identity = field(default_factory=Identity.current)
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    sent_at: str = field(default_factory=utc_now_iso)
    deadline: str = field(default_factory=lambda: deadline_after(DEFAULT_DEADLINE_SECONDS))

    def to_fields(self) -> dict[str, str]:
        fields = {
            "id": self.id,
            "action": self.action,
            "target": self.target,
            "params": params_json(self.params),
            **self.identity.to_fields(),
            "sent_at": self.sent_at,
        }
        if self.deadline:
            fields["deadline"] = self.deadline
        return fields

    def expired(self, now: datetime) -> bool:
        """True once `now` is past the deadline (never for a command without one)."""
        deadline = parse_iso(self.deadline)
        return deadline is not None and now > deadline

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
        deadline = fields.get("deadline", "")
        try:
            moment = parse_iso(deadline)
        except ValueError as exc:
            raise ValueError(f"field 'deadline' is not an ISO time: {deadline!r}") from exc
        if moment is not None and moment.tzinfo is None:
            raise ValueError(f"field 'deadline' has no UTC offset: {deadline!r}")
        return cls(
            action=fields["action"],
            target=fields["target"],
            params=params,
            identity=Identity.from_fields(fields),
            id=fields["id"],
            sent_at=fields.get("sent_at", ""),
            deadline=deadline,
        )

    def describe(self) -> str:
        return f"{self.action} {self.target}"


ResultStatus = Literal["ok", "error", "cancelling"]


class CommandResult(msgspec.Struct, frozen=True):
    """What the engine answers to a command (`{p}:results:{id}`).

    Attributes:
        status: "ok" or "error", final; or "cancelling": a cancel is sent but Prefect has
            not reported the run Cancelled yet, and a final result follows on the same key.
        message: a sentence for the operator.
        flow_run_id: the run the command created or acted on, if any.
        flow_run_name: that run's name (`witty-fox`), so the audit trail names it; for a
            refused retry or cancel, the name of the run it was sent for, if known.
    """

    command_id: str
    status: ResultStatus
    message: str
    flow_run_id: str = ""
    finished_at: str = msgspec.field(default_factory=utc_now_iso)
    flow_run_name: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def final(self) -> bool:
        """False while a cancel waits for Prefect to report the run Cancelled."""
        return self.status != "cancelling"

    def to_json(self) -> str:
        return msgspec.json.encode(self, order="sorted").decode()

    @classmethod
    def from_json(cls, raw: str | bytes) -> CommandResult:
        """Fields a newer engine added are ignored, so an older console still reads results.

        Raises:
            msgspec.DecodeError: not JSON, or a field of the wrong type.
        """
        return msgspec.json.decode(raw, type=cls)
