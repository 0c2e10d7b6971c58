"""Honest cache keys and run lineage for the inference pipeline.

Cache keys are built only from what changes a task's output: the bytes of the input file
(load_raw_data) and the scored rows plus the model's name, version and weights hash
(run_inference). Lineage is recorded from inside the flow run: who or what started it,
the exact input, the model and every partition written. It goes to Redis
(`{p}:lineage:{flow_run_id}` plus a `lineage` entry on the updates stream) and to a parquet
table under `$AIWF_STATE_DIR/lineage/`, one file per run attempt so concurrent runs never
write the same file.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import stat
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from engine.contract.identity import TRIGGERED_BY
from engine.contract.keys import DEFAULT_PREFIX, Keys
from engine.contract.times import utc_now_iso
from engine.pipeline.model import Model, ModelError, load_model

logger = logging.getLogger("aiwf.engine.lineage")

_CHUNK = 1 << 20
CACHE_KEY_VERSION = "1"
"""Bump when the meaning of a cached result changes (e.g. a task's output shape)."""


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


def frame_fingerprint(df: pd.DataFrame) -> str:
    """sha256 over the frame's column names, dtypes and every row's values and index."""
    digest = hashlib.sha256()
    digest.update(json.dumps([[str(c), str(t)] for c, t in df.dtypes.items()]).encode())
    digest.update(pd.util.hash_pandas_object(df, index=True).to_numpy().tobytes())
    return digest.hexdigest()


def _key(kind: str, parts: Mapping[str, Any]) -> str:
    canonical = json.dumps(dict(parts), sort_keys=True, separators=(",", ":"))
    return f"{kind}-{hashlib.sha256(canonical.encode()).hexdigest()}"


def load_cache_key(source: str) -> str | None:
    """Key for load_raw_data: resolved path, size, mtime and sha256 of the file's bytes.

    None (no caching) when the file cannot be read: the task then fails on its own terms.
    """
    path = Path(source).expanduser()
    try:
        info = path.stat()
        sha = file_sha256(path)
    except OSError:
        return None
    return _key(
        "load_raw_data",
        {
            "v": CACHE_KEY_VERSION,
            "path": str(path.resolve()),
            "size": info.st_size,
            "mtime_ns": info.st_mtime_ns,
            "sha256": sha,
        },
    )


def inference_cache_key(input_fingerprint: str, model: Model) -> str:
    """Key for run_inference: the scored rows and everything about the model that
    changes a score. The model's file path is left out on purpose: a copy scores the same."""
    return _key(
        "run_inference",
        {
            "v": CACHE_KEY_VERSION,
            "input": input_fingerprint,
            "model_name": model.name,
            "model_version": model.version,
            "weights_hash": model.weights_hash,
        },
    )


def load_raw_data_key_fn(context: Any, parameters: dict[str, Any]) -> str | None:
    """Prefect `cache_key_fn` for load_raw_data."""
    return load_cache_key(str(parameters["source"]))


def run_inference_key_fn(context: Any, parameters: dict[str, Any]) -> str | None:
    """Prefect `cache_key_fn` for run_inference. None (no caching) if the model does not
    load, so the task itself fails and names the model file."""
    try:
        model = load_model(str(parameters["model"]))
    except ModelError:
        return None
    df = parameters["df"]
    if not isinstance(df, pd.DataFrame):
        return None
    return inference_cache_key(frame_fingerprint(df), model)


# ---------------------------------------------------------------------------------------
# Lineage documents


@dataclass
class TaskRecord:
    """One task call as the flow saw it."""

    name: str
    state_name: str
    duration_s: float

    @property
    def cache_hit(self) -> bool:
        return self.state_name == "Cached"

    def to_doc(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "state_name": self.state_name,
            "cache_hit": self.cache_hit,
            "duration_s": round(self.duration_s, 4),
        }


def classify_trigger(
    tags: list[str],
    run_count: int,
    auto_scheduled: bool,
    expected_start_time: str | None,
    retry_message: str,
) -> dict[str, Any]:
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
    doc: dict[str, Any] = {
        "kind": origin,
        "origin": origin,
        "operator": operator,
        "expected_start_time": expected_start_time,
        "attempt": max(run_count, 1),
        "retry_requested_by": "",
    }
    if origin == "backfill":
        doc["fire_time"] = fire_time
    if run_count > 1:
        doc["kind"] = "retry"
        prefix = "retry requested by "
        if retry_message.startswith(prefix):
            doc["retry_requested_by"] = retry_message[len(prefix) :]
    return doc


def input_doc(source: str, df: pd.DataFrame | None) -> dict[str, Any]:
    path = Path(source).expanduser()
    doc: dict[str, Any] = {"path": str(path), "size_bytes": None, "sha256": None}
    try:
        doc["size_bytes"] = path.stat().st_size
        doc["sha256"] = file_sha256(path)
    except OSError:
        pass
    if df is not None:
        ts = pd.to_datetime(df["timestamp"])
        doc |= {
            "rows": len(df),
            "min_timestamp": ts.min().isoformat(),
            "max_timestamp": ts.max().isoformat(),
        }
    else:
        doc |= {"rows": None, "min_timestamp": None, "max_timestamp": None}
    return doc


def model_doc(model: Model | None, requested: str) -> dict[str, Any]:
    if model is None:
        return {"requested": requested, "name": None, "version": None, "weights_hash": None}
    return {
        "requested": requested,
        "name": model.name,
        "version": model.version,
        "weights_hash": model.weights_hash,
    }


# ---------------------------------------------------------------------------------------
# Writers

LINEAGE_SCHEMA = pa.schema(
    [
        ("flow_run_id", pa.string()),
        ("flow_run_name", pa.string()),
        ("deployment_name", pa.string()),
        ("attempt", pa.int64()),
        ("status", pa.string()),
        ("written", pa.string()),
        ("error", pa.string()),
        ("recorded_at", pa.string()),
        ("trigger_kind", pa.string()),
        ("trigger_origin", pa.string()),
        ("operator", pa.string()),
        ("retry_requested_by", pa.string()),
        ("expected_start_time", pa.string()),
        ("parameters_json", pa.string()),
        ("input_path", pa.string()),
        ("input_size_bytes", pa.int64()),
        ("input_sha256", pa.string()),
        ("input_rows", pa.int64()),
        ("input_min_timestamp", pa.string()),
        ("input_max_timestamp", pa.string()),
        ("model_name", pa.string()),
        ("model_version", pa.string()),
        ("model_weights_hash", pa.string()),
        ("tasks_json", pa.string()),
        ("output_path", pa.string()),
        ("output_rows", pa.int64()),
        ("output_bytes", pa.int64()),
        ("output_schema_json", pa.string()),
    ]
)
"""One row per run attempt per output partition; a run that wrote nothing has one row
with null output columns. `status` is completed, failed or cancelled; `written` says
whether the attempt's partitions were all written (`all`) or none (`none`): a local
target never gets some of them; `unknown` for a remote target stopped mid-write (null
in files written before it was recorded).
`output_schema_json` is the partition's schema as JSON
(`{"column": "arrow type"}`), null in files written before it was recorded."""
_UPGRADED_MARKER = f".upgraded-to-{len(LINEAGE_SCHEMA)}-columns"
"""Present once every file in the directory has LINEAGE_SCHEMA's columns."""


def lineage_rows(doc: Mapping[str, Any]) -> list[dict[str, Any]]:
    trigger, inp, model = doc["trigger"], doc["input"], doc["model"]
    base = {
        "flow_run_id": doc["flow_run_id"],
        "flow_run_name": doc["flow_run_name"],
        "deployment_name": doc["deployment_name"],
        "attempt": trigger["attempt"],
        "status": doc["status"],
        "written": doc.get("written"),
        "error": doc["error"],
        "recorded_at": doc["recorded_at"],
        "trigger_kind": trigger["kind"],
        "trigger_origin": trigger["origin"],
        "operator": trigger["operator"],
        "retry_requested_by": trigger["retry_requested_by"],
        "expected_start_time": trigger["expected_start_time"],
        "parameters_json": json.dumps(doc["parameters"], sort_keys=True, default=str),
        "input_path": inp["path"],
        "input_size_bytes": inp["size_bytes"],
        "input_sha256": inp["sha256"],
        "input_rows": inp["rows"],
        "input_min_timestamp": inp["min_timestamp"],
        "input_max_timestamp": inp["max_timestamp"],
        "model_name": model["name"],
        "model_version": model["version"],
        "model_weights_hash": model["weights_hash"],
        "tasks_json": json.dumps(doc["tasks"], sort_keys=True),
    }
    outputs = doc["outputs"] or [{"path": None, "rows": None, "bytes": None}]
    return [
        base
        | {
            "output_path": o["path"],
            "output_rows": o["rows"],
            "output_bytes": o["bytes"],
            "output_schema_json": _schema_json(o.get("schema")),
        }
        for o in outputs
    ]


def _schema_json(schema: Any) -> str | None:
    return json.dumps(schema, sort_keys=True) if isinstance(schema, dict) else None


def write_lineage_parquet(doc: Mapping[str, Any], directory: Path) -> Path:
    """Writes this attempt's rows as a new file in `directory` (atomic rename)."""
    directory.mkdir(parents=True, exist_ok=True)
    upgrade_lineage_dir(directory)
    name = f"run-{doc['flow_run_id']}-attempt-{doc['trigger']['attempt']}.parquet"
    table = pa.Table.from_pylist(lineage_rows(doc), schema=LINEAGE_SCHEMA)
    return _write_atomic(table, directory / name)


def _write_atomic(table: pa.Table, final: Path) -> Path:
    # A leading dot keeps the half-written file out of `pandas.read_parquet(directory)`.
    tmp = final.with_name(f".{final.name}.{os.getpid()}.{uuid.uuid4().hex}.tmp")
    try:
        pq.write_table(table, tmp)
        os.replace(tmp, final)
    finally:
        tmp.unlink(missing_ok=True)
    return final


def upgrade_lineage_dir(directory: Path) -> int:
    """Adds LINEAGE_SCHEMA's newer columns (as nulls) to files written before they existed.

    `pandas.read_parquet(directory)` takes the columns of one file (the first it lists) for
    the whole table, so a single old file could silently drop `output_schema_json` from
    every row. Rewriting the old files once keeps the directory one table. Each file is
    replaced atomically, so readers and concurrent runs see the old or the new file, never a
    half-written one; two runs upgrading the same file write the same content. Returns the
    number of files rewritten.
    """
    marker = directory / _UPGRADED_MARKER
    if marker.exists():
        return 0
    rewritten, failed = 0, 0
    for path in sorted(directory.glob("*.parquet")):
        if path.name.startswith((".", "_")):
            continue
        # One unreadable file must not stop this run's lineage: it is named and skipped,
        # and the marker is left out so the next run tries it again.
        try:
            if set(LINEAGE_SCHEMA.names) <= set(pq.read_schema(path).names):
                continue
            old = pq.read_table(path)
            columns = [
                old.column(f.name).cast(f.type)
                if f.name in old.column_names
                else pa.nulls(len(old), f.type)
                for f in LINEAGE_SCHEMA
            ]
            _write_atomic(pa.Table.from_arrays(columns, schema=LINEAGE_SCHEMA), path)
            rewritten += 1
        except (OSError, pa.ArrowException) as exc:
            failed += 1
            logger.warning(
                "lineage: could not add the new columns to %s (%s); move the file out of "
                "the directory if it is damaged",
                path,
                exc,
            )
    if not failed:
        marker.touch()
    if rewritten:
        logger.info("lineage: added new columns to %d older file(s) in %s", rewritten, directory)
    return rewritten


def write_lineage_redis(doc: Mapping[str, Any]) -> bool:
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


def lineage_dir() -> Path:
    from engine.contract.paths import state_dir

    return state_dir() / "lineage"


def new_doc(**fields: Any) -> dict[str, Any]:
    return {"recorded_at": utc_now_iso(), **fields}
