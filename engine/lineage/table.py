"""The parquet lineage table under `$AIWF_STATE_DIR/lineage/`: one file per run attempt,
so concurrent runs never write the same file, and one table however old the files are."""

from __future__ import annotations

import json
import logging
import os
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import msgspec
import pyarrow as pa
import pyarrow.parquet as pq

from engine.contract.documents import (
    Lineage,
    LineageInput,
    LineageModel,
    LineageOutput,
    LineageTask,
    LineageTrigger,
)

logger = logging.getLogger("aiwf.engine.lineage")

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
        ("input_etag", pa.string()),
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
`input_path` is the source as written (`s3://...` stays a URL); a remote input has
`input_etag` (the store's ETag) and no `input_sha256`, a local one the reverse (`input_etag`
null in files written before it was recorded).
`output_schema_json` is the partition's schema as JSON
(`{"column": "arrow type"}`), null in files written before it was recorded."""
_UPGRADED_MARKER = f".upgraded-to-{len(LINEAGE_SCHEMA)}-columns"
"""Present once every file in the directory has LINEAGE_SCHEMA's columns."""


def lineage_rows(doc: Lineage) -> list[dict[str, Any]]:
    trigger, inp, model = doc.trigger, doc.input, doc.model
    base = {
        "flow_run_id": doc.flow_run_id,
        "flow_run_name": doc.flow_run_name,
        "deployment_name": doc.deployment_name,
        "attempt": trigger.attempt,
        "status": doc.status,
        "written": doc.written,
        "error": doc.error,
        "recorded_at": doc.recorded_at,
        "trigger_kind": trigger.kind,
        "trigger_origin": trigger.origin,
        "operator": trigger.operator,
        "retry_requested_by": trigger.retry_requested_by,
        "expected_start_time": trigger.expected_start_time,
        "parameters_json": json.dumps(doc.parameters, sort_keys=True, default=str),
        "input_path": inp.path,
        "input_size_bytes": inp.size_bytes,
        "input_sha256": inp.sha256,
        "input_etag": inp.etag,
        "input_rows": inp.rows,
        "input_min_timestamp": inp.min_timestamp,
        "input_max_timestamp": inp.max_timestamp,
        "model_name": model.name,
        "model_version": model.version,
        "model_weights_hash": model.weights_hash,
        "tasks_json": json.dumps(msgspec.to_builtins(doc.tasks), sort_keys=True),
    }
    outputs = doc.outputs or [LineageOutput()]
    return [
        base
        | {
            "output_path": o.path or None,
            "output_rows": o.rows,
            "output_bytes": o.bytes,
            "output_schema_json": _schema_json(o.schema),
        }
        for o in outputs
    ]


def _schema_json(schema: Any) -> str | None:
    return json.dumps(schema, sort_keys=True) if isinstance(schema, dict) else None


def write_lineage_parquet(doc: Lineage, directory: Path) -> Path:
    """Writes this attempt's rows as a new file in `directory` (atomic rename)."""
    directory.mkdir(parents=True, exist_ok=True)
    upgrade_lineage_dir(directory)
    name = f"run-{doc.flow_run_id}-attempt-{doc.trigger.attempt}.parquet"
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


def read_latest_lineage(flow_run_id: str, directory: Path) -> Lineage | None:
    """The run's latest attempt as `write_lineage_parquet` wrote it, or None if the table
    has no file of it (for a run older than the mirror keeps: its lineage left Redis)."""
    attempts = lineage_files(directory, [flow_run_id]).get(flow_run_id)
    return read_lineage_file(attempts[-1]) if attempts else None


def lineage_files(directory: Path, flow_run_ids: Iterable[str]) -> dict[str, list[Path]]:
    """Each of these runs' attempt files, in attempt order, from one listing of `directory`
    (a refill asks for up to a thousand runs: a glob each would list the directory a
    thousand times); runs without a file are left out."""
    wanted = set(flow_run_ids)
    found: dict[str, list[tuple[int, Path]]] = {}
    try:
        entries = list(os.scandir(directory))
    except FileNotFoundError:
        return {}
    for entry in entries:
        name = entry.name
        if not (name.startswith("run-") and name.endswith(".parquet")) or "-attempt-" not in name:
            continue
        run_id = name[len("run-") :].rsplit("-attempt-", 1)[0]
        if run_id in wanted:
            path = Path(entry.path)
            found.setdefault(run_id, []).append((_attempt_of(path), path))
    return {run_id: [path for _, path in sorted(files)] for run_id, files in found.items()}


def read_lineage_file(path: Path) -> Lineage | None:
    rows = pq.read_table(path).to_pylist()
    return lineage_from_rows(rows) if rows else None


def _attempt_of(path: Path) -> int:
    tail = path.stem.rsplit("-attempt-", 1)[-1]
    return int(tail) if tail.isdigit() else -1


def lineage_from_rows(rows: list[dict[str, Any]]) -> Lineage:
    """The document `lineage_rows` flattened (one row per output partition), but for what
    the table has no column of: the model as requested, a backfill's fire time, the logical
    date and `tasks_recorded_by` keep their defaults."""
    first = rows[0]
    outputs = [
        LineageOutput(
            path=row["output_path"],
            rows=row["output_rows"],
            bytes=row["output_bytes"],
            schema=json.loads(row["output_schema_json"]) if row.get("output_schema_json") else None,
        )
        for row in rows
        if row.get("output_path")
    ]
    return Lineage(
        flow_run_id=first["flow_run_id"],
        flow_run_name=first["flow_run_name"] or "",
        deployment_name=first["deployment_name"] or "",
        recorded_at=first["recorded_at"],
        status=first["status"] or "",
        written=first.get("written"),
        error=first["error"],
        trigger=LineageTrigger(
            kind=first["trigger_kind"] or "",
            origin=first["trigger_origin"] or "",
            operator=first["operator"] or "",
            expected_start_time=first["expected_start_time"],
            attempt=first["attempt"],
            retry_requested_by=first["retry_requested_by"] or "",
        ),
        parameters=json.loads(first["parameters_json"] or "{}"),
        input=LineageInput(
            path=first["input_path"] or "",
            size_bytes=first["input_size_bytes"],
            sha256=first["input_sha256"],
            etag=first.get("input_etag"),
            rows=first["input_rows"],
            min_timestamp=first["input_min_timestamp"],
            max_timestamp=first["input_max_timestamp"],
        ),
        model=LineageModel(
            name=first["model_name"],
            version=first["model_version"],
            weights_hash=first["model_weights_hash"],
        ),
        outputs=outputs,
        tasks=msgspec.convert(json.loads(first["tasks_json"] or "[]"), list[LineageTask]),
    )


def lineage_dir() -> Path:
    from engine.contract.paths import state_dir

    return state_dir() / "lineage"
