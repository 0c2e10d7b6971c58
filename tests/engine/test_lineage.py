"""Cache keys and lineage records, pure logic on real files (no Prefect API, no Redis)."""

from __future__ import annotations

import dataclasses
import os
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from engine.cli.main import build_parser
from engine.contract.documents import Lineage
from engine.lineage import record as lineage
from engine.lineage import table as lineage_table
from engine.pipeline import cache_keys
from engine.pipeline.model import load_model
from engine.pipeline.sample_data import generate_batch
from engine.pipeline.tasks import load_raw_data


@pytest.fixture(autouse=True)
def bundled_models(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AIWF_CONFIG_DIR", raising=False)


@pytest.fixture
def batch(tmp_path: Path) -> Path:
    return generate_batch(tmp_path / "batch.csv", rows=120, days=2, start=date(2026, 11, 1))


def test_inference_key_follows_input_bytes_and_model(batch: Path, tmp_path: Path) -> None:
    model = load_model("scorer-v1")
    df = load_raw_data.fn(str(batch))
    key = cache_keys.inference_cache_key(cache_keys.frame_fingerprint(df), model)

    same = load_raw_data.fn(str(batch))
    assert cache_keys.inference_cache_key(cache_keys.frame_fingerprint(same), model) == key

    changed = df.copy()
    changed.loc[0, "feature_a"] = float(changed.loc[0, "feature_a"]) + 1.0
    assert cache_keys.inference_cache_key(cache_keys.frame_fingerprint(changed), model) != key

    bumped = dataclasses.replace(model, version="1.0.1")
    assert cache_keys.inference_cache_key(cache_keys.frame_fingerprint(df), bumped) != key
    reweighted = dataclasses.replace(model, weights=tuple(w + 0.5 for w in model.weights))
    assert cache_keys.inference_cache_key(cache_keys.frame_fingerprint(df), reweighted) != key
    # Where the model file lives does not change a score, so it does not change the key.
    moved = dataclasses.replace(model, path=tmp_path / "elsewhere.yaml")
    assert cache_keys.inference_cache_key(cache_keys.frame_fingerprint(df), moved) == key


def test_inference_key_fn_reads_parameters(batch: Path) -> None:
    df = load_raw_data.fn(str(batch))
    params = {"df": df, "model": "scorer-v1"}
    assert cache_keys.run_inference_key_fn(None, params) == cache_keys.run_inference_key_fn(
        None, params
    )
    # No model, no key: the task runs and fails naming the model file.
    assert cache_keys.run_inference_key_fn(None, {"df": df, "model": "scorer-v9"}) is None


def test_load_key_follows_file_bytes_and_mtime(batch: Path) -> None:
    key = cache_keys.load_cache_key(str(batch))
    assert key is not None and key == cache_keys.load_cache_key(str(batch))

    stat = batch.stat()
    os.utime(batch, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    touched = cache_keys.load_cache_key(str(batch))
    assert touched != key

    text = batch.read_text()
    mtime = batch.stat().st_mtime_ns
    last = "1" if text[-2] == "0" else "0"
    batch.write_text(text[:-2] + last + "\n")  # one digit of the last row, same size
    os.utime(batch, ns=(mtime, mtime))  # same mtime: the bytes alone must change the key
    assert cache_keys.load_cache_key(str(batch)) not in (key, touched)
    assert cache_keys.load_cache_key(str(batch.with_name("missing.csv"))) is None


def test_classify_trigger() -> None:
    operator = lineage.classify_trigger(["triggered-by:ana"], 1, False, None, "")
    assert operator.kind == "operator" and operator.operator == "ana"
    scheduled = lineage.classify_trigger([], 1, True, "2026-11-25T02:00:00+00:00", "")
    assert scheduled.kind == "schedule"
    assert scheduled.expected_start_time == "2026-11-25T02:00:00+00:00"
    retry = lineage.classify_trigger(
        ["triggered-by:ana"], 2, False, None, "retry requested by bo@host"
    )
    assert retry.kind == "retry" and retry.origin == "operator"
    assert retry.attempt == 2 and retry.retry_requested_by == "bo@host"


def test_lineage_parquet_appends_one_file_per_attempt(batch: Path, tmp_path: Path) -> None:
    df = load_raw_data.fn(str(batch))
    model = load_model("scorer-v1")
    outputs = [{"path": "/out/date=2026-11-01", "rows": 60, "bytes": 100}] * 2

    def doc(run_id: str, attempt: int, outs: list[dict[str, object]]) -> Lineage:
        return lineage.new_doc(
            flow_run_id=run_id,
            flow_run_name="n",
            deployment_name="d",
            status="completed" if outs else "failed",
            error=None if outs else "boom",
            trigger=lineage.classify_trigger([], attempt, False, None, ""),
            parameters={"source": str(batch)},
            input=lineage.input_doc(str(batch), df),
            model=lineage.model_doc(model, "scorer-v1"),
            outputs=outs,
            tasks=[],
        )

    directory = tmp_path / "lineage"
    lineage_table.write_lineage_parquet(doc("a", 1, []), directory)
    lineage_table.write_lineage_parquet(doc("a", 2, outputs), directory)
    lineage_table.write_lineage_parquet(doc("b", 1, outputs), directory)
    table = pd.read_parquet(directory)
    assert len(table) == 5
    assert table.groupby(["flow_run_id", "attempt"]).size().to_dict() == {
        ("a", 1): 1,
        ("a", 2): 2,
        ("b", 1): 2,
    }
    assert set(table["input_rows"]) == {120}
    assert table["output_rows"].isna().sum() == 1


def test_cli_retry_full_flag() -> None:
    assert build_parser().parse_args(["retry", "abc", "--full"]).full is True
    assert build_parser().parse_args(["retry", "abc"]).full is False
