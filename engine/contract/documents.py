"""The typed Redis documents (docs/redis-keys.md, "Documents"), decoded straight from bytes.

Every field has a default except the ones that identify a document, so a reader accepts
documents written by an older engine that lacked a field; fields a newer engine added are
ignored. A document that is not JSON, not UTF-8 or has a field of the wrong type is
rejected with its key named, counted in `REJECTED`, and skipped: one bad write never stops
a reader. docs/redis-keys.md lists the same fields (tests/engine/test_redis_keys_doc.py
checks both agree).

Times stay ISO-8601 strings with an offset (UTC), or None, exactly as on the wire.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

import msgspec

# The work pools and lineage documents have their own modules; they are documents, so named
# here too.
from engine.contract.lineage_documents import Lineage as Lineage
from engine.contract.lineage_documents import LineageInput as LineageInput
from engine.contract.lineage_documents import LineageModel as LineageModel
from engine.contract.lineage_documents import LineageOutput as LineageOutput
from engine.contract.lineage_documents import LineageTask as LineageTask
from engine.contract.lineage_documents import LineageTrigger as LineageTrigger
from engine.contract.pool_documents import ConcurrencyLimit as ConcurrencyLimit
from engine.contract.pool_documents import Pools as Pools
from engine.contract.pool_documents import Worker as Worker
from engine.contract.pool_documents import WorkPool as WorkPool
from engine.contract.pool_documents import WorkQueue as WorkQueue

logger = logging.getLogger(__name__)

FINAL_STATE_TYPES = frozenset({"COMPLETED", "FAILED", "CANCELLED", "CRASHED"})
ACTIVE_STATE_TYPES = frozenset({"PENDING", "RUNNING", "CANCELLING", "PAUSED"})


class RunSummary(msgspec.Struct, frozen=True, kw_only=True):
    """A deployment's `last_run`: the few flow run fields the deployment list shows."""

    id: str = ""
    name: str = ""
    state_type: str = ""
    state_name: str = ""
    start_time: str | None = None
    end_time: str | None = None
    expected_start_time: str | None = None


SERVED_BY_ENGINE = "engine"
SERVED_BY_SERVE = "serve"
POOL_PREFIX = "pool:"


class Deployment(msgspec.Struct, frozen=True, kw_only=True):
    """`{p}:deployments` value: one deployment of the Prefect estate, keyed by `name`
    (the engine's own by their config name, the others by Prefect's `flow/name`)."""

    name: str
    id: str = ""
    flow_name: str = ""
    version: str = ""
    description: str = ""
    cron: str = ""
    timezone: str = "UTC"
    paused: bool = False
    protected: bool = False
    parameters: dict[str, Any] = {}
    next_fire_times: list[str] = []
    """The next five fire times the engine computed (empty while paused)."""
    last_run: RunSummary | None = None
    config_path: str = ""
    updated: str | None = None
    parameter_schema: dict[str, Any] = {}
    """The flow's parameter schema (OpenAPI); empty from an older engine."""
    resume_at: str | None = None
    """When the engine resumes the paused deployment; None if active or paused until resumed."""
    work_pool: str = ""
    """The Prefect work pool whose workers run it; "" when the engine runs it itself."""
    work_queue: str = ""
    """The pool's queue its runs go to ("" is the pool's default queue)."""
    secret_parameters: list[str] = []
    """Parameters marked secret in the deployment file: `parameters` holds their
    fingerprints (engine/contract/secrets.py), never their values."""
    served_by: str = SERVED_BY_ENGINE
    """Who executes its runs: `engine` (this engine), `serve` (a `flow.serve()` process of
    someone else) or `pool:<work pool>` (that pool's workers)."""
    polled: bool | None = None
    """Prefect's word on whether anything takes its runs: True if a runner or worker asked
    for them within the last minute (Prefect's READY), False if none did (NOT_READY: a
    triggered run would wait for good), None where the engine does not say (the
    deployments it serves itself: its heartbeat says it is up; an older engine)."""
    managed: bool = True
    """True if this engine serves it (from config/deployments); False for the rest of the
    estate, which the engine acts on through Prefect only."""
    records_lineage: bool = True
    """True if its flow writes a lineage document per attempt (only the engine's pipeline
    flows do); the run screen says "not recorded by this flow" otherwise."""


class FlowRun(msgspec.Struct, frozen=True, kw_only=True):
    """`{p}:flow_runs` value: one flow run as Prefect last reported it."""

    id: str
    name: str = ""
    deployment_id: str = ""
    deployment_name: str = ""
    flow_name: str = ""
    state_type: str = ""
    state_name: str = ""
    state_message: str = ""
    parameters: dict[str, Any] = {}
    run_count: int = 0
    expected_start_time: str | None = None
    start_time: str | None = None
    """The first attempt's start."""
    end_time: str | None = None
    """The latest attempt's end."""
    total_run_time: float = 0.0
    """Running time summed over every finished attempt, seconds."""
    attempt_start_time: str | None = None
    """When the latest attempt began; None if it never ran (or from an older engine)."""
    tags: list[str] = []
    created: str | None = None
    updated: str | None = None

    def summary(self) -> RunSummary:
        """What a deployment document keeps as its `last_run`."""
        return RunSummary(
            id=self.id,
            name=self.name,
            state_type=self.state_type,
            state_name=self.state_name,
            start_time=self.start_time,
            end_time=self.end_time,
            expected_start_time=self.expected_start_time,
        )


class TaskRun(msgspec.Struct, frozen=True, kw_only=True):
    """`{p}:task_runs:{flow_run_id}` value: one task run of a flow run."""

    id: str
    flow_run_id: str
    name: str = ""
    task_key: str = ""
    state_type: str = ""
    state_name: str = ""
    state_message: str = ""
    run_count: int = 0
    """Attempts of the task (its own retries included)."""
    attempt: int = 0
    """The flow-run attempt this task run belongs to (0 until it starts)."""
    start_time: str | None = None
    end_time: str | None = None
    total_run_time: float = 0.0
    updated: str | None = None


class LogLine(msgspec.Struct, frozen=True, kw_only=True):
    """The fields of one `{p}:logs:{flow_run_id}` entry (all strings on the stream)."""

    ts: str = ""
    level: str = ""
    """Python level number, as a string."""
    level_name: str = ""
    task_run_id: str = ""
    """Empty for flow-level lines."""
    logger: str = ""
    msg: str = ""
    log_id: str = ""
    """Prefect's log id, so a line read twice (events, then polling) is written once."""


class LogTrim(msgspec.Struct, frozen=True, kw_only=True):
    """`{p}:log_trimmed` value: a run whose older log lines the mirror dropped to stay
    within its memory budget; the dropped lines are only in Prefect."""

    lines_dropped: int = 0
    """How many of the run's oldest lines are gone from Redis, in total."""
    trimmed_at: str = ""
    """When the mirror last dropped lines of this run (ISO, UTC)."""


class AuditRecord(msgspec.Struct, frozen=True, kw_only=True):
    """The fields of one `{p}:audit` entry (all strings on the stream)."""

    command_id: str = ""
    action: str = ""
    target: str = ""
    params: str = ""
    """The command's params as JSON."""
    user: str = ""
    host: str = ""
    ssh_client: str = ""
    sent_at: str = ""
    executed_at: str = ""
    status: str = ""
    message: str = ""
    flow_run_id: str = ""
    flow_run_name: str = ""
    """Empty in entries written by an older engine."""


class Heartbeat(msgspec.Struct, frozen=True, kw_only=True):
    """`{p}:engine:heartbeat`: the live engine; the key is absent when no engine runs."""

    pid: int = 0
    host: str = ""
    started_at: str | None = None
    beat_at: str | None = None
    prefect_api_url: str = ""
    """The Prefect API the engine mirrors, password redacted."""
    prefect_embedded: bool = False
    """True: a local Prefect server the engine (or the demo) started itself, because no
    PREFECT_API_URL is set in Prefect's settings; False: the one those settings name."""
    config_dir: str = ""
    deployments: int = 0
    """How many deployments the engine serves."""
    config_errors: list[str] = []
    bridge: str = ""
    """`websocket`, `polling`, or `stopped` (an engine waiting for Prefect before it leads)."""
    prefect_error: str = ""
    """Why the engine cannot reach the Prefect API (its last health check failed, password
    redacted); empty while the API answers."""
    name: str = ""
    """The leading engine (host:pid:random), holder of `{p}:engine:leader`."""
    standbys: list[str] = []
    """Engines waiting to take over if the leader stops (names, as `name`)."""


STRUCTS: tuple[type[msgspec.Struct], ...] = (
    Deployment,
    FlowRun,
    TaskRun,
    LogLine,
    LogTrim,
    Lineage,
    AuditRecord,
    Heartbeat,
    Pools,
)
"""The documents of docs/redis-keys.md (CommandResult lives with the commands)."""

T = TypeVar("T", bound=msgspec.Struct)


class BadDocument(ValueError):
    """A Redis document that is not the type its key holds; the message names the key."""

    def __init__(self, key: str, reason: str) -> None:
        super().__init__(f"bad document at {key}: {reason}")
        self.key = key
        self.reason = reason


@dataclass
class RejectedDocuments:
    """How many documents readers in this process skipped as bad, and the latest reason."""

    count: int = 0
    last: str = ""
    by_key: dict[str, str] = field(default_factory=dict)
    """Key -> why its latest bad document was rejected (the newest 100 keys)."""
    noted_at: dict[str, int] = field(default_factory=dict)
    """Key -> `count` just after its latest rejection (same keys as `by_key`): a reader
    that noted `count` earlier finds the keys rejected since (the console's warnings)."""

    def note(self, error: BadDocument) -> None:
        self.count += 1
        self.last = str(error)
        self.by_key.pop(error.key, None)
        self.by_key[error.key] = error.reason
        self.noted_at.pop(error.key, None)
        self.noted_at[error.key] = self.count
        while len(self.by_key) > 100:
            oldest = next(iter(self.by_key))
            self.by_key.pop(oldest)
            self.noted_at.pop(oldest, None)

    def since(self, count: int) -> list[tuple[str, str]]:
        """(key, reason) of the keys rejected after `count` was reached, oldest first."""
        newer = [key for key, at in list(self.noted_at.items()) if at > count]
        return [(key, self.by_key.get(key, "")) for key in newer]


REJECTED = RejectedDocuments()
"""This process's count of skipped bad documents (the console can show it, tests read it)."""

_decoders: dict[type[Any], msgspec.json.Decoder[Any]] = {}


def _decoder(kind: type[T]) -> msgspec.json.Decoder[T]:
    found = _decoders.get(kind)
    if found is None:
        found = _decoders[kind] = msgspec.json.Decoder(kind)
    return found


def decode_strict(raw: bytes | str, kind: type[T], key: str) -> T:
    """Decodes one JSON document into `kind`.

    Raises:
        BadDocument: not UTF-8, not JSON, not an object, a required field missing or a
            field of the wrong type; the message names `key` and the field.
    """
    try:
        return _decoder(kind).decode(raw)
    except (msgspec.DecodeError, UnicodeError) as exc:
        raise BadDocument(key, str(exc)) from exc


def decode(raw: bytes | str | None, kind: type[T], key: str) -> T | None:
    """Like `decode_strict`, but a bad document is logged, counted in `REJECTED` and read
    as missing (None), so a reader skips it. An absent value (None) is just None."""
    if raw is None:
        return None
    try:
        return decode_strict(raw, kind, key)
    except BadDocument as exc:
        REJECTED.note(exc)
        logger.warning("%s; skipped", exc)
        return None


def convert_fields(fields: Mapping[Any, Any], kind: type[T], key: str) -> T | None:
    """A stream entry's fields (str or bytes) as `kind`; a bad entry is counted and None."""
    try:
        text = {_text(k): _text(v) for k, v in fields.items()}
        return msgspec.convert(text, kind)
    except (msgspec.ValidationError, UnicodeError) as exc:
        error = BadDocument(key, str(exc))
        REJECTED.note(error)
        logger.warning("%s; skipped", error)
        return None


def _text(value: Any) -> Any:
    return value.decode() if isinstance(value, bytes) else value


def encode(document: msgspec.Struct) -> bytes:
    """A document as the engine writes it: JSON, keys sorted."""
    return msgspec.json.encode(document, order="sorted")


def decode_doc(raw: str | bytes | None) -> dict[str, Any] | None:
    """Decodes an untyped JSON object (e.g. `{p}:engine:info`); corrupt JSON reads as
    missing, never crashes a reader. State documents use `decode` with their struct."""
    if raw is None:
        return None
    try:
        doc = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
    return doc if isinstance(doc, dict) else None


def encode_doc(doc: Mapping[str, Any]) -> str:
    """An untyped document (the lineage the flow run builds) as the engine writes it."""
    return json.dumps(dict(doc), sort_keys=True, default=str)
