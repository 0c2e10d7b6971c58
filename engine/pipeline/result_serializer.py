"""Persisted task results: frames as Parquet, the rest cloudpickle in one base64 call.

Prefect's `PickleSerializer` wraps the pickle with `base64.encodebytes`, which splits it
into 76-character lines in a Python loop: for the 1,000,000-row frames `load_raw_data` and
`run_inference` persist, that was 2.7 s of an 11 s flow run (docs/benchmarks.md, pipeline
row). `base64.b64encode` does the same encoding in one call. Reading accepts both forms
(`b64decode` skips the newlines), so results persisted before this change still load.
"""

from __future__ import annotations

import base64
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from prefect.serializers import PickleSerializer
from prefect.utilities.importtools import from_qualified_name
from pydantic import Field


class FastPickleSerializer(PickleSerializer[Any]):
    """`PickleSerializer` with unwrapped base64; registered under its own `type`, so a
    result record names it and Prefect picks it when the result is read back."""

    type: str = Field(default="aiwf-pickle", frozen=True)

    def dumps(self, obj: Any) -> bytes:
        pickler = from_qualified_name(self.picklelib)
        return base64.b64encode(pickler.dumps(obj))

    def loads(self, blob: bytes) -> Any:
        pickler = from_qualified_name(self.picklelib)
        return pickler.loads(base64.b64decode(blob))


PARQUET_MARK = b"aiwf-parquet:"
"""Starts a frame written as Parquet (no base64 text holds a colon)."""


class FrameSerializer(FastPickleSerializer):
    """DataFrames as Parquet (snappy), anything else as `FastPickleSerializer` does.

    The two pure tasks persist 1,000,000-row frames: as pickles those were 42 and 70 MB of
    base64 that Prefect then copies into a JSON record and writes, ~0.7 s of a ~2.2 s flow
    run (docs/benchmarks.md, pipeline). As Parquet they are 14 and 18 MB, written and read
    in C. A frame Parquet cannot hold (column names that are not text, `attrs`, a column of
    mixed types) goes as a pickle. Reading takes both; `aiwf-pickle` records name their own
    serializer and still load with it.
    """

    type: str = Field(default="aiwf-frame", frozen=True)

    def dumps(self, obj: Any) -> bytes:
        parquet = _as_parquet(obj)
        if parquet is None:
            return super().dumps(obj)
        return PARQUET_MARK + base64.b64encode(parquet)

    def loads(self, blob: bytes) -> Any:
        if not blob.startswith(PARQUET_MARK):
            return super().loads(blob)
        data = base64.b64decode(memoryview(blob)[len(PARQUET_MARK) :])
        return pq.read_table(pa.BufferReader(data)).to_pandas()


def _as_parquet(obj: Any) -> pa.Buffer | None:
    """`obj` as Parquet if it is a DataFrame Parquet holds, else None."""
    if not isinstance(obj, pd.DataFrame) or obj.attrs:
        return None
    if not all(isinstance(name, str) for name in obj.columns):
        return None
    try:
        table = pa.Table.from_pandas(obj)
    except (pa.ArrowException, TypeError, ValueError):  # e.g. a column of mixed types
        return None
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="snappy")
    return sink.getvalue()
