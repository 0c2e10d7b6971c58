"""The pipeline's task functions on real files (called through `.fn`, no Prefect API)."""

from __future__ import annotations

import math
import urllib.error
from collections.abc import Iterator
from datetime import date
from email.message import Message
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq
import pytest
from prefect.client.schemas.objects import TaskRun
from prefect.states import Failed, State

from engine.pipeline.flows import FLOWS
from engine.pipeline.inference import ai_inference_pipeline
from engine.pipeline.model import load_model
from engine.pipeline.sample_data import generate_batch
from engine.pipeline.storage import save_results
from engine.pipeline.tasks import (
    RETRY_DELAY_ENV,
    InputDataError,
    is_transient_error,
    load_raw_data,
    load_retry_delay,
    retry_if_transient,
    run_inference,
)


@pytest.fixture(autouse=True)
def bundled_models(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # `scorer-v1` must resolve to the bundled model whatever the developer's shell exports.
    monkeypatch.delenv("AIWF_CONFIG_DIR", raising=False)
    yield


@pytest.fixture
def batch(tmp_path: Path) -> Path:
    return generate_batch(tmp_path / "in" / "batch.csv", rows=300, days=3, start=date(2026, 11, 1))


def read_dataset(target: Path) -> pd.DataFrame:
    return pq.read_table(target).to_pandas()


def test_flow_is_registered_and_deployable() -> None:
    flow = FLOWS["ai-inference-pipeline"]
    assert flow is ai_inference_pipeline
    assert flow.name == "ai-inference-pipeline"
    assert flow.log_prints is True
    # A module-level function is what Prefect's runner needs to import the flow by path.
    assert flow.fn.__module__ == "engine.pipeline.inference"
    assert flow.fn.__qualname__ == "ai_inference_pipeline"


def test_load_score_save_writes_one_partition_per_date(
    batch: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "out"

    raw = load_raw_data.fn(str(batch))
    scored = run_inference.fn(raw, "scorer-v1")
    summary = save_results.fn(scored, str(target))

    out = capsys.readouterr().out
    assert "Loaded 300 rows" in out and "2026-11-01T" in out and "2026-11-03T" in out
    assert "Scored 300 rows with model scorer 1.0.0" in out
    assert "Saved 300 records to" in out and "3 partitions: date=2026-11-01" in out

    assert pd.api.types.is_datetime64_any_dtype(raw["timestamp"])
    assert "prediction" not in raw.columns  # the input frame is not mutated
    assert summary["rows"] == 300
    assert summary["partitions"] == [f"{target}/date=2026-11-0{d}" for d in (1, 2, 3)]
    outputs = summary["outputs"]
    assert [o["path"] for o in outputs] == summary["partitions"]
    assert sum(o["rows"] for o in outputs) == 300 and all(o["bytes"] > 0 for o in outputs)
    for output in outputs:
        assert len(pd.read_parquet(output["path"])) == output["rows"]
    for partition in summary["partitions"]:
        assert list(Path(partition).glob("*.parquet"))

    written = read_dataset(target)
    assert len(written) == 300
    per_day = written.groupby(written["date"].astype(str)).size().to_dict()
    assert per_day == {"2026-11-01": 100, "2026-11-02": 100, "2026-11-03": 100}
    assert written["prediction"].between(0, 1, inclusive="neither").all()
    assert written["prediction"].nunique() > 250  # real scores, not a constant
    assert set(written["model_version"]) == {"1.0.0"}

    # The stored prediction for one row equals the logistic formula on its features.
    model = load_model("scorer-v1")
    row = written.sort_values("id").iloc[0]
    z = row["feature_a"] * 2.1 + row["feature_b"] * -1.4 - 0.3
    assert row["prediction"] == pytest.approx(1 / (1 + math.exp(-z)), rel=1e-12)
    assert model.version == "1.0.0"


def test_rerun_into_same_target_replaces_instead_of_duplicating(
    batch: Path, tmp_path: Path
) -> None:
    target = tmp_path / "out"
    other_day = generate_batch(tmp_path / "other.csv", rows=40, days=1, start=date(2026, 12, 24))

    for source in (batch, other_day, batch):
        save_results.fn(run_inference.fn(load_raw_data.fn(str(source)), "scorer-v1"), str(target))

    written = read_dataset(target)
    # 300 rows of the batch once (not twice), and the untouched other day kept.
    assert len(written) == 340
    assert written["id"].astype(int).value_counts().max() <= 2  # ids repeat only across batches
    assert (written["date"].astype(str) == "2026-12-24").sum() == 40


def test_missing_file_fails_with_a_hint(tmp_path: Path) -> None:
    missing = tmp_path / "not-landed.csv"
    with pytest.raises(FileNotFoundError) as info:
        load_raw_data.fn(str(missing))
    assert f"source file not found: {missing}" in str(info.value)
    assert "may not have landed" in str(info.value)


def test_missing_columns_are_named(tmp_path: Path) -> None:
    source = tmp_path / "cols.csv"
    source.write_text("id,timestamp,feature_x\n1,2026-11-01T00:00:00,0.5\n")
    with pytest.raises(InputDataError, match=r"missing required column\(s\) feature_a, feature_b"):
        load_raw_data.fn(str(source))


def test_unparsable_timestamps_name_the_lines(tmp_path: Path) -> None:
    source = tmp_path / "ts.csv"
    source.write_text(
        "id,timestamp,feature_a,feature_b\n"
        "1,2026-11-01T00:00:00,0.1,0.2\n"
        "2,not-a-time,0.1,0.2\n"
        "3,2026-11-01T01:00:00,0.1,0.2\n"
        "4,,0.1,0.2\n"
    )
    with pytest.raises(InputDataError) as info:
        load_raw_data.fn(str(source))
    message = str(info.value)
    assert "2 row(s)" in message
    assert "line 3 ('not-a-time')" in message and "line 5" in message


def test_header_only_file_is_an_error(tmp_path: Path) -> None:
    source = tmp_path / "empty.csv"
    source.write_text("id,timestamp,feature_a,feature_b\n")
    with pytest.raises(InputDataError, match="header but no rows"):
        load_raw_data.fn(str(source))


def test_nan_features_name_the_rows(batch: Path) -> None:
    raw = load_raw_data.fn(str(batch))
    raw.loc[[4, 17], "feature_b"] = float("nan")
    raw["feature_a"] = raw["feature_a"].astype(object)
    raw.loc[250, "feature_a"] = "n/a"

    with pytest.raises(ValueError) as info:
        run_inference.fn(raw, "scorer-v1")
    assert "3 row(s)" in str(info.value)
    assert "row index 4, 17, 250" in str(info.value)


def test_unknown_model_fails_before_scoring(batch: Path) -> None:
    raw = load_raw_data.fn(str(batch))
    with pytest.raises(ValueError, match="model file not found"):
        run_inference.fn(raw, "scorer-v9")


def task_run() -> TaskRun:
    return TaskRun(task_key="load_raw_data", dynamic_key="0")


@pytest.mark.parametrize(
    ("exc", "retry"),
    [
        (FileNotFoundError("gone"), False),
        (PermissionError("denied"), False),
        (IsADirectoryError("dir"), False),
        (InputDataError("bad rows"), False),
        (ValueError("bad"), False),
        (urllib.error.HTTPError("http://x", 404, "Not Found", Message(), None), False),
        (ConnectionResetError("reset by peer"), True),
        (TimeoutError("read timed out"), True),
        (OSError(5, "Input/output error"), True),
        (urllib.error.HTTPError("http://x", 503, "Unavailable", Message(), None), True),
    ],
)
def test_retry_condition_retries_only_transient_errors(exc: Exception, retry: bool) -> None:
    # Called the way Prefect's task engine calls it: (task, task_run, Failed(data=exc)).
    state: State[Any] = Failed(
        data=exc, message=f"Task run encountered unexpected exception: {exc!r}"
    )
    assert load_raw_data.retry_condition_fn is retry_if_transient
    assert retry_if_transient(load_raw_data, task_run(), state) is retry
    assert is_transient_error(exc) is retry


def test_retry_condition_does_not_retry_unidentified_failures() -> None:
    state: State[Any] = Failed(message="failed without an exception")
    assert retry_if_transient(load_raw_data, task_run(), state) is False


def test_the_retry_delay_comes_from_the_environment_and_a_bad_one_is_named() -> None:
    assert load_retry_delay({}) == 30.0
    assert load_retry_delay({RETRY_DELAY_ENV: " 2.5 "}) == 2.5
    assert load_retry_delay({RETRY_DELAY_ENV: "0"}) == 0.0
    for bad in ("soon", "-1", "nan"):
        with pytest.raises(ValueError, match=f"{RETRY_DELAY_ENV}='{bad}'"):
            load_retry_delay({RETRY_DELAY_ENV: bad})
