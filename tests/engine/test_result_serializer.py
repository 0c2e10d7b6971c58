"""The pipeline's result serializer: what it writes loads back, old records too."""

from __future__ import annotations

import base64

import cloudpickle
import pandas as pd
from prefect.serializers import Serializer

from engine.pipeline.result_serializer import FastPickleSerializer
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


def test_the_persisted_tasks_use_it() -> None:
    for task in (load_raw_data, run_inference):
        assert isinstance(task.result_serializer, FastPickleSerializer)
