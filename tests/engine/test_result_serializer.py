"""The pipeline's result serializer: what it writes loads back, old records too."""

from __future__ import annotations

import base64

import cloudpickle
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from prefect.serializers import Serializer

from engine.pipeline.result_serializer import (
    ARROW_MARK,
    PARQUET_MARK,
    FastPickleSerializer,
    FrameSerializer,
)
from engine.pipeline.tasks import load_raw_data, run_inference


def frame() -> pd.DataFrame:
    return pd.DataFrame({"id": range(5000), "prediction": [n / 5000 for n in range(5000)]})


def test_a_frame_round_trips_without_line_breaks() -> None:
    blob = FastPickleSerializer().dumps(frame())
    assert b"\n" not in blob  # one b64encode, not encodebytes' 76-character lines
    pd.testing.assert_frame_equal(FastPickleSerializer().loads(blob), frame())


def test_a_record_written_by_prefects_pickle_serializer_still_loads() -> None:
    old = base64.encodebytes(cloudpickle.dumps(frame()))
    pd.testing.assert_frame_equal(FastPickleSerializer().loads(old), frame())


def test_prefect_finds_it_by_the_type_a_result_record_names() -> None:
    found = Serializer(type="aiwf-pickle")
    assert isinstance(found, FastPickleSerializer)
    pd.testing.assert_frame_equal(found.loads(found.dumps(frame())), frame())


def test_the_persisted_tasks_use_the_frame_serializer() -> None:
    for task in (load_raw_data, run_inference):
        assert isinstance(task.result_serializer, FrameSerializer)


def scored() -> pd.DataFrame:
    """A frame as `run_inference` returns it: timestamps, floats, a text column."""
    return pd.DataFrame(
        {
            "id": range(5000),
            "timestamp": pd.date_range("2026-11-01", periods=5000, freq="s", tz="UTC"),
            "prediction": [n / 5000 for n in range(5000)],
            "model_version": ["1.0.0"] * 5000,
        }
    ).iloc[10:]  # an index that is not 0..n


def test_a_frame_goes_as_an_arrow_stream_and_comes_back_equal() -> None:
    blob = FrameSerializer().dumps(scored())
    assert blob.startswith(ARROW_MARK)
    assert len(blob) < len(FastPickleSerializer().dumps(scored()))
    pd.testing.assert_frame_equal(FrameSerializer().loads(blob), scored())


def test_what_arrow_cannot_hold_goes_as_a_pickle() -> None:
    mixed = pd.DataFrame({"value": [1, "two", 3.0]})
    numbered = pd.DataFrame({0: [1, 2], 1: [3, 4]})
    tagged = frame()
    tagged.attrs["source"] = "batch.csv"
    for obj in (mixed, numbered, tagged, {"rows": 3}, None):
        blob = FrameSerializer().dumps(obj)
        assert not blob.startswith(ARROW_MARK)
        back = FrameSerializer().loads(blob)
        if isinstance(obj, pd.DataFrame):
            pd.testing.assert_frame_equal(back, obj)
            assert back.attrs == obj.attrs
        else:
            assert back == obj


def test_prefect_finds_the_frame_serializer_by_its_type_and_old_records_still_load() -> None:
    found = Serializer(type="aiwf-frame")
    assert isinstance(found, FrameSerializer)
    pd.testing.assert_frame_equal(found.loads(found.dumps(scored())), scored())
    older = FastPickleSerializer().dumps(scored())  # an `aiwf-pickle` record's bytes
    pd.testing.assert_frame_equal(found.loads(older), scored())


def test_a_frame_persisted_as_parquet_by_an_earlier_version_still_loads() -> None:
    """What `FrameSerializer` wrote before the Arrow stream: the mark, then base64 Parquet."""
    sink = pa.BufferOutputStream()
    pq.write_table(pa.Table.from_pandas(scored()), sink, compression="snappy")
    older = PARQUET_MARK + base64.b64encode(sink.getvalue())
    pd.testing.assert_frame_equal(FrameSerializer().loads(older), scored())
