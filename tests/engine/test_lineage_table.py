"""The parquet lineage table keeps each output's schema, also next to files from before."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import msgspec
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from engine.contract.documents import Lineage, LineageTask
from engine.lineage import record as lineage
from engine.lineage import table as lineage_table

SCHEMA = {"id": "int64", "prediction": "double", "timestamp": "timestamp[ns]"}
OLD_SCHEMA = pa.schema([f for f in lineage_table.LINEAGE_SCHEMA if f.name != "output_schema_json"])
"""The table's columns before output schemas were recorded."""


def doc(run_id: str, outputs: list[dict[str, Any]]) -> Lineage:
    return lineage.new_doc(
        flow_run_id=run_id,
        flow_run_name=f"name-{run_id}",
        deployment_name="daily",
        status="completed",
        error=None,
        trigger=lineage.classify_trigger(["triggered-by:ana"], 1, False, None, ""),
        parameters={"source": "/in/batch.csv"},
        input=lineage.input_doc("/in/batch.csv", None),
        model=lineage.model_doc(None, "scorer-v1"),
        outputs=outputs,
        tasks=[],
    )


def write_old_file(directory: Path, run_id: str) -> Path:
    """A file as the engine wrote it before `output_schema_json` existed."""
    rows = [
        {k: v for k, v in row.items() if k != "output_schema_json"}
        for row in lineage_table.lineage_rows(
            doc(run_id, [{"path": "/o/date=1", "rows": 5, "bytes": 9}])
        )
    ]
    path = directory / f"run-{run_id}-attempt-1.parquet"
    pq.write_table(pa.Table.from_pylist(rows, schema=OLD_SCHEMA), path)
    return path


def test_rows_carry_each_output_schema_as_json() -> None:
    outputs = [
        {"path": "/o/date=2026-11-01", "rows": 5, "bytes": 9, "schema": SCHEMA},
        {"path": "/o/date=2026-11-02", "rows": 6, "bytes": 9},  # recorded by an older flow
    ]
    rows = lineage_table.lineage_rows(doc("r", outputs))
    assert json.loads(rows[0]["output_schema_json"]) == SCHEMA
    assert rows[1]["output_schema_json"] is None
    assert lineage_table.lineage_rows(doc("f", []))[0]["output_schema_json"] is None


def test_directory_with_old_and_new_files_reads_as_one_table(tmp_path: Path) -> None:
    directory = tmp_path / "lineage"
    directory.mkdir()
    # "run-0..." sorts before the new file: the reader would take its columns for the table.
    old = write_old_file(directory, "0old")
    assert "output_schema_json" not in pd.read_parquet(directory).columns

    outputs = [{"path": "/o/date=2026-11-01", "rows": 7, "bytes": 9, "schema": SCHEMA}]
    lineage_table.write_lineage_parquet(doc("new", outputs), directory)

    table = pd.read_parquet(directory).set_index("flow_run_id")
    assert len(table) == 2 and "output_schema_json" in table.columns
    assert json.loads(table.loc["new", "output_schema_json"]) == SCHEMA
    assert pd.isna(table.loc["0old", "output_schema_json"])
    assert table.loc["0old", "output_rows"] == 5  # the old rows kept their values
    assert pq.read_schema(old).names == lineage_table.LINEAGE_SCHEMA.names
    assert not [p for p in directory.iterdir() if p.name.endswith(".tmp")]


def test_upgrade_runs_once_and_leaves_new_files_alone(tmp_path: Path) -> None:
    directory = tmp_path / "lineage"
    directory.mkdir()
    write_old_file(directory, "a")
    write_old_file(directory, "b")
    lineage_table.write_lineage_parquet(doc("c", []), directory)
    new = directory / "run-c-attempt-1.parquet"
    before = new.stat().st_mtime_ns
    assert lineage_table.upgrade_lineage_dir(directory) == 0  # marker: done already
    (next(directory.glob(".upgraded-*"))).unlink()
    assert lineage_table.upgrade_lineage_dir(directory) == 0  # nothing old left
    assert new.stat().st_mtime_ns == before
    assert len(pd.read_parquet(directory)) == 3


def test_a_damaged_old_file_is_skipped_and_tried_again(tmp_path: Path) -> None:
    directory = tmp_path / "lineage"
    directory.mkdir()
    write_old_file(directory, "a")
    damaged = directory / "run-b-attempt-1.parquet"
    damaged.write_bytes(b"not parquet")
    lineage_table.write_lineage_parquet(doc("c", []), directory)  # still written
    assert (directory / "run-c-attempt-1.parquet").exists()
    assert "output_schema_json" in pq.read_schema(directory / "run-a-attempt-1.parquet").names
    assert not list(directory.glob(".upgraded-*"))  # the damaged file is retried next time
    damaged.unlink()
    assert lineage_table.upgrade_lineage_dir(directory) == 0
    assert list(directory.glob(".upgraded-*"))


def in_table(doc: Lineage) -> Lineage:
    """`doc` without what the table has no column of (`lineage_from_rows`)."""
    model = msgspec.structs.replace(doc.model, requested=None)
    trigger = msgspec.structs.replace(doc.trigger, fire_time="", logical_date="")
    return msgspec.structs.replace(doc, model=model, trigger=trigger, tasks_recorded_by="")


def test_an_older_runs_latest_attempt_is_read_back_from_the_table(tmp_path: Path) -> None:
    """What the engine answers for a run Redis no longer holds (`RunQuery.run_of`)."""
    outputs = [
        {"path": "/o/date=2026-11-01", "rows": 5, "bytes": 9, "schema": SCHEMA},
        {"path": "/o/date=2026-11-02", "rows": 6, "bytes": 10},
    ]
    first = doc("r1", outputs)
    retried = msgspec.structs.replace(
        first,
        status="failed",
        error="boom",
        trigger=lineage.classify_trigger(["triggered-by:ana"], 2, False, None, "bo"),
        tasks=[LineageTask(name="run_inference", state_name="Failed", duration_s=1.5)],
        outputs=[],
    )
    lineage_table.write_lineage_parquet(first, tmp_path)
    assert lineage_table.read_latest_lineage("r1", tmp_path) == in_table(first)
    lineage_table.write_lineage_parquet(retried, tmp_path)
    assert lineage_table.read_latest_lineage("r1", tmp_path) == in_table(retried)
    assert lineage_table.read_latest_lineage("other", tmp_path) is None
    # A file written before output schemas were recorded reads back without them.
    write_old_file(tmp_path, "old")
    read = lineage_table.read_latest_lineage("old", tmp_path)
    assert read is not None and read.outputs[0].schema is None and read.outputs[0].rows == 5


def test_one_listing_finds_each_asked_runs_attempts_in_order(tmp_path: Path) -> None:
    """What a refill of an emptied Redis reads (engine/bridge/lineage_refill.py)."""
    first = doc("r1", [])
    for attempt in (2, 10, 1):  # 10 after 2: by number, not by name
        trigger = lineage.classify_trigger(["triggered-by:ana"], attempt, False, None, "")
        lineage_table.write_lineage_parquet(
            msgspec.structs.replace(first, trigger=trigger), tmp_path
        )
    lineage_table.write_lineage_parquet(doc("r2", []), tmp_path)
    lineage_table.write_lineage_parquet(doc("r3", []), tmp_path)
    (tmp_path / ".run-r3-attempt-5.parquet.1.tmp").write_bytes(b"half written")

    found = lineage_table.lineage_files(tmp_path, ["r1", "r3", "absent"])

    assert {run: [path.name for path in paths] for run, paths in found.items()} == {
        "r1": [f"run-r1-attempt-{n}.parquet" for n in (1, 2, 10)],
        "r3": ["run-r3-attempt-1.parquet"],
    }
    read = lineage_table.read_lineage_file(found["r1"][-1])
    assert read is not None and read.trigger.attempt == 10
    assert lineage_table.lineage_files(tmp_path / "none", ["r1"]) == {}
