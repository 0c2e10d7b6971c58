"""Operator commands as carried on the command stream, and the engine's result for each."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any, Literal

import msgspec

from engine.contract.identity import Identity
from engine.contract.times import utc_now_iso

Action = Literal["trigger", "retry", "cancel", "pause", "resume", "backfill"]
ACTIONS: tuple[str, ...] = ("trigger", "retry", "cancel", "pause", "resume", "backfill")
RUN_ACTIONS = frozenset({"retry", "cancel"})
"""Actions whose target is a flow run id (the others name a deployment)."""


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
            "params": params_json(self.params),
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
