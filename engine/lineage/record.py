"""Run lineage for the inference pipeline: the record of one flow-run attempt.

Lineage is recorded from inside the flow run: who or what started it, the exact input,
the model and every partition written. It goes to Redis (`{p}:lineage:{flow_run_id}` plus
a `lineage` entry on the updates stream, written here through the mirror) and to a
parquet table (engine/lineage/table.py).
"""

from __future__ import annotations

import hashlib
import logging
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import msgspec
import pandas as pd

from engine.contract.documents import (
    Lineage,
    LineageInput,
    LineageModel,
    LineageTask,
    LineageTrigger,
)
from engine.contract.identity import TRIGGERED_BY
from engine.contract.keys import DEFAULT_PREFIX, Keys
from engine.contract.secrets import mask_parameters, scrub_deep, secret_values
from engine.contract.times import utc_now_iso

logger = logging.getLogger("aiwf.engine.lineage")

_CHUNK = 1 << 20


def file_sha256(path: str | Path) -> str:
    """Hex sha256 of a regular file's bytes.

    Raises:
        OSError: the file cannot be read, or is not a regular file (a FIFO or device would
            block or be consumed by the hash: its bytes are not the batch's fingerprint).
    """
    if not stat.S_ISREG(os.stat(path).st_mode):
        raise OSError(f"{path} is not a regular file; not hashed")
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass
class TaskRecord:
    """One task call as the flow saw it."""

    name: str
    state_name: str
    duration_s: float

    @property
    def cache_hit(self) -> bool:
        return self.state_name == "Cached"

    def to_doc(self) -> LineageTask:
        return LineageTask(
            name=self.name,
            state_name=self.state_name,
            cache_hit=self.cache_hit,
            duration_s=round(self.duration_s, 4),
        )


def classify_trigger(
    tags: list[str],
    run_count: int,
    auto_scheduled: bool,
    expected_start_time: str | None,
    retry_message: str,
) -> LineageTrigger:
    """How this attempt came about.

    `kind` is `retry` for a second or later attempt (with who asked, from the
    AwaitingRetry message), else `schedule` for an auto-scheduled run, else `backfill`
    for a run with a `backfill:<fire time>` tag (`fire_time` added), else `operator` for a
    `triggered-by:<user>` tag, else `manual` (e.g. Prefect UI or API).
    """
    operator = next((t[len(TRIGGERED_BY) :] for t in tags if t.startswith(TRIGGERED_BY)), "")
    fire_time = next((t.split(":", 1)[1] for t in tags if t.startswith("backfill:")), "")
    if auto_scheduled:
        origin = "schedule"
    elif fire_time:
        origin = "backfill"
    elif operator:
        origin = "operator"
    else:
        origin = "manual"
    retry_requested_by = ""
    prefix = "retry requested by "
    if run_count > 1 and retry_message.startswith(prefix):
        retry_requested_by = retry_message[len(prefix) :]
    return LineageTrigger(
        kind="retry" if run_count > 1 else origin,
        origin=origin,
        operator=operator,
        expected_start_time=expected_start_time,
        attempt=max(run_count, 1),
        retry_requested_by=retry_requested_by,
        fire_time=fire_time if origin == "backfill" else "",
    )


def input_doc(
    source: str, df: pd.DataFrame | None, content: Mapping[str, Any] | None = None
) -> LineageInput:
    """The input as lineage records it: `path` is the source exactly as written (a URL stays
    a URL); `content` (size_bytes, sha256 or etag, from engine/pipeline/locations.py) says
    which bytes it was. Without `content`, `source` is read as a local path."""
    size: int | None = None
    sha256: str | None = None
    etag: str | None = None
    if content is not None:
        size, sha256, etag = content.get("size_bytes"), content.get("sha256"), content.get("etag")
    else:
        path = Path(source).expanduser()
        try:
            size = path.stat().st_size
            sha256 = file_sha256(path)
        except OSError:
            pass
    if df is None:
        return LineageInput(path=source, size_bytes=size, sha256=sha256, etag=etag)
    ts = pd.to_datetime(df["timestamp"])
    return LineageInput(
        path=source,
        size_bytes=size,
        sha256=sha256,
        etag=etag,
        rows=len(df),
        min_timestamp=ts.min().isoformat(),
        max_timestamp=ts.max().isoformat(),
    )


class ModelFacts(Protocol):
    """What lineage records of the model that scored a run (engine.pipeline.model.Model
    has these; lineage takes them as plain values, it does not load models)."""

    @property
    def name(self) -> str: ...

    @property
    def version(self) -> str: ...

    @property
    def weights_hash(self) -> str: ...


def model_doc(model: ModelFacts | None, requested: str) -> LineageModel:
    if model is None:
        return LineageModel(requested=requested)
    return LineageModel(
        requested=requested,
        name=model.name,
        version=model.version,
        weights_hash=model.weights_hash,
    )


def write_lineage_redis(doc: Lineage) -> bool:
    """Stores the doc through the mirror if `AIWF_REDIS_URL` is set; False if not written."""
    url = os.environ.get("AIWF_REDIS_URL")
    if not url:
        logger.warning("AIWF_REDIS_URL is not set: lineage not written to Redis")
        return False
    import redis

    from engine.store.mirror import RedisMirror

    client = redis.Redis.from_url(url, socket_timeout=10)
    try:
        keys = Keys(os.environ.get("AIWF_REDIS_PREFIX") or DEFAULT_PREFIX)
        RedisMirror(client, keys).write_lineage(doc)
    finally:
        client.close()
    return True


def new_doc(**fields: Any) -> Lineage:
    """A record from loose fields (nested parts as structs or plain dicts), checked against
    `Lineage`: for tests and tools; the flow builds `Lineage` directly, so mypy checks it."""
    return msgspec.convert({"recorded_at": utc_now_iso(), **fields}, Lineage)


def masked(record: Lineage, secret: frozenset[str]) -> Lineage:
    """`record` with its secret parameters as fingerprints and their values scrubbed from
    every other field (an input path, an error message may hold one)."""
    hidden = secret_values(record.parameters, secret)
    if not hidden:
        return record
    plain = scrub_deep(msgspec.to_builtins(record), hidden)
    plain["parameters"] = mask_parameters(record.parameters, secret)
    return msgspec.convert(plain, Lineage)
