"""Operator commands as carried on the command stream, and the engine's result for each."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Literal

import msgspec

from engine.contract.identity import Identity
from engine.contract.times import parse_iso, utc_now_iso

Action = Literal[
    "trigger", "retry", "cancel", "pause", "resume", "backfill", "pause_pool", "resume_pool"
]
ACTIONS: tuple[str, ...] = (
    "trigger",
    "retry",
    "cancel",
    "pause",
    "resume",
    "backfill",
    "pause_pool",
    "resume_pool",
)
RUN_ACTIONS = frozenset({"retry", "cancel"})
"""Actions whose target is a flow run id (the pool actions name a pool, the others a
deployment)."""
POOL_ACTIONS = frozenset({"pause_pool", "resume_pool"})
"""Actions whose target is a work pool `POOL` or one of its queues `POOL/QUEUE`."""


def pool_target(target: str) -> tuple[str, str]:
    """(pool, queue) of a pool action's target; queue is "" for the pool itself. Prefect
    refuses `/` in pool and queue names, so it cannot be part of either."""
    pool, _, queue = target.partition("/")
    return pool, queue


DEFAULT_DEADLINE_SECONDS = 300.0
"""A command the engine has not started within this long after it was sent is refused
(`aiwf-engine ... --deadline SECONDS` changes it): an engine back after hours must not
pause or trigger what an operator asked for long ago."""


def deadline_after(seconds: float) -> str:
    """The ISO deadline `seconds` from now (UTC)."""
    return (datetime.now(timezone.utc) + timedelta(seconds=seconds)).isoformat()


MAX_FIELD_BYTES = 16_384
"""The most a command's field (its name or value, UTF-8) may hold; `params` included."""
MAX_COMMAND_BYTES = 65_536
"""The most all fields of one command may hold together (names and values, UTF-8)."""
MAX_PARAMS_DEPTH = 16
"""How deep `params` may nest lists and objects (`{"a": [1]}` is 2 deep)."""
MAX_ID_CHARS = 128
"""The longest command `id` the engine answers under (a hex uuid is 32)."""


class BadCommand(ValueError):
    """A stream entry the engine cannot run: `str(self)` says why, naming the field, and
    `command` is what could be read of it, for the error result and the audit entry."""

    def __init__(self, message: str, command: Command) -> None:
        super().__init__(message)
        self.command = command


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
    def from_fields(cls, fields: Mapping[str, str]) -> Command:
        """Rebuilds a command; raises ValueError naming the bad field (sizes, nesting and
        the rest as in docs/redis-keys.md). Fields it does not know are ignored."""
        check_sizes(fields)
        for name in ("id", "action", "target"):
            if not fields.get(name):
                raise ValueError(f"command is missing field {name!r}")
        if len(fields["id"]) > MAX_ID_CHARS:
            raise ValueError(f"field 'id' is longer than {MAX_ID_CHARS} characters")
        if fields["action"] not in ACTIONS:
            raise ValueError(f"unknown action {fields['action'][:40]!r}; expected one of {ACTIONS}")
        params = _params(fields.get("params") or "{}")
        deadline = fields.get("deadline", "")
        try:
            moment = parse_iso(deadline)
        except ValueError as exc:
            raise ValueError(f"field 'deadline' is not an ISO time: {deadline[:40]!r}") from exc
        if moment is not None and moment.tzinfo is None:
            raise ValueError(f"field 'deadline' has no UTC offset: {deadline[:40]!r}")
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


def check_sizes(fields: Mapping[str, str]) -> None:
    """Refuses a command over MAX_FIELD_BYTES in one field or MAX_COMMAND_BYTES in all."""
    total = 0
    for name, value in fields.items():
        for part in (name, value):
            size = len(part.encode("utf-8", "surrogatepass"))
            if size > MAX_FIELD_BYTES:
                raise ValueError(
                    f"field {name[:40]!r} holds {size} bytes; at most {MAX_FIELD_BYTES} "
                    "are accepted"
                )
            total += size
    if total > MAX_COMMAND_BYTES:
        raise ValueError(f"command holds {total} bytes; at most {MAX_COMMAND_BYTES} are accepted")


def _params(text: str) -> dict[str, Any]:
    depth = json_depth(text)
    if depth > MAX_PARAMS_DEPTH:
        raise ValueError(f"field 'params' nests {depth} levels deep; at most {MAX_PARAMS_DEPTH}")
    try:
        params = json.loads(text, parse_constant=_no_constant)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise ValueError(f"field 'params' is not JSON: {exc}") from exc
    if not isinstance(params, dict):
        raise ValueError("field 'params' must be a JSON object")
    return params


def _no_constant(name: str) -> Any:
    raise json.JSONDecodeError(f"{name} is not a JSON number", name, 0)


def json_depth(text: str) -> int:
    """How deep `text` nests brackets outside strings, counted without parsing it, so a
    100,000-deep list is measured, not a RecursionError."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def decode_command(raw: Mapping[Any, Any], entry_id: str) -> Command:
    """A command from a stream entry's fields (bytes or str), as the engine reads them.

    Raises:
        BadCommand: the only error: a field not UTF-8, too big, missing, an unknown
            action, params not a JSON object or too deep. Its `command` carries the `id`
            the sender waits on when that field is readable, else `entry-<stream id>`, so
            the refusal still gets a result and an audit entry.
    """
    fields: dict[str, str] = {}
    problem = ""
    for name, value in raw.items():
        try:
            key = _text(name, "a field name")
            fields[key] = _text(value, f"field {key[:40]!r}")
        except ValueError as exc:
            problem = problem or str(exc)
    try:
        if problem:
            raise ValueError(problem)
        return Command.from_fields(fields)
    except ValueError as exc:
        raise BadCommand(str(exc), _what_was_sent(fields, entry_id)) from exc


def _text(value: Any, what: str) -> str:
    if isinstance(value, str):
        text = value
    elif isinstance(value, bytes):
        try:
            text = value.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ValueError(f"{what} is not UTF-8 text (byte {exc.start})") from None
    else:
        raise ValueError(f"{what} is not text")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(f"{what} is not UTF-8 text (a lone surrogate)") from None
    return text


def _what_was_sent(fields: Mapping[str, str], entry_id: str) -> Command:
    """The refused entry as the audit shows it: short fields kept, cut to a length an
    operator can read, params left out (they may be the poison)."""

    def short(name: str, limit: int = 200) -> str:
        value = fields.get(name, "")
        return value if len(value) <= limit else value[:limit] + "…"

    sent_id = fields.get("id", "")
    usable = 0 < len(sent_id) <= MAX_ID_CHARS and sent_id.isprintable()
    return Command(
        action=short("action", 40) or "?",
        target=short("target"),
        identity=Identity(short("user") or "?", short("host") or "?", short("ssh_client")),
        id=sent_id if usable else f"entry-{entry_id}",
        sent_at=short("sent_at", 40),
        deadline="",
    )


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
