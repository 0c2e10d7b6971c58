"""`{p}:lineage:{flow_run_id}` and `{p}:lineage_attempts:{flow_run_id}`: what one attempt
of a run read, used and wrote, as the flow records it (docs/redis-keys.md); re-exported by
engine/contract/documents.py."""

from __future__ import annotations

from typing import Any

import msgspec


class LineageTrigger(msgspec.Struct, frozen=True, kw_only=True):
    """Why the attempt ran: `kind` is `retry` after the first attempt, else `origin`."""

    kind: str = ""
    origin: str = ""
    operator: str = ""
    expected_start_time: str | None = None
    attempt: int | None = None
    """None in lineage written before attempts were recorded."""
    retry_requested_by: str = ""
    fire_time: str = ""
    """Only for a backfill's runs: the ISO fire time in the deployment's zone."""
    logical_date: str = ""
    """The date the run computed: ISO datetime in the deployment's zone, the same for every
    attempt (engine/pipeline/run_date.py); empty in lineage from before it was recorded."""


class LineageInput(msgspec.Struct, frozen=True, kw_only=True):
    path: str = ""
    size_bytes: int | None = None
    sha256: str | None = None
    """Of a local file's bytes; None for a remote object (see etag)."""
    etag: str | None = None
    """A remote object's ETag (s3://, gs://) as the store reported it; None for a local file."""
    rows: int | None = None
    min_timestamp: str | None = None
    max_timestamp: str | None = None


class LineageModel(msgspec.Struct, frozen=True, kw_only=True):
    requested: str | None = None
    name: str | None = None
    version: str | None = None
    weights_hash: str | None = None


class LineageOutput(msgspec.Struct, frozen=True, kw_only=True):
    path: str = ""
    rows: int | None = None
    bytes: int | None = None
    schema: dict[str, str] | None = None
    """Column -> arrow type; None in lineage recorded before schemas were."""


class LineageTask(msgspec.Struct, frozen=True, kw_only=True):
    name: str = ""
    state_name: str = ""
    cache_hit: bool = False
    duration_s: float = 0.0


class Lineage(msgspec.Struct, frozen=True, kw_only=True):
    """`{p}:lineage:{flow_run_id}` (and `lineage_attempts`): one attempt's lineage."""

    flow_run_id: str
    flow_run_name: str = ""
    deployment_name: str = ""
    recorded_at: str | None = None
    status: str = ""
    """`completed`, `failed` or `cancelled`."""
    written: str | None = None
    """`all`, `none` or `unknown`; None in docs from before it was recorded."""
    error: str | None = None
    trigger: LineageTrigger = msgspec.field(default_factory=LineageTrigger)
    parameters: dict[str, Any] = {}
    input: LineageInput = msgspec.field(default_factory=LineageInput)
    model: LineageModel = msgspec.field(default_factory=LineageModel)
    outputs: list[LineageOutput] = []
    tasks: list[LineageTask] = []
    tasks_recorded_by: str = ""
