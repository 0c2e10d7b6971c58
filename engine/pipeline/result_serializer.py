"""Persisted task results: frames as Arrow IPC, the rest cloudpickle in one base64 call.

Prefect's `PickleSerializer` wraps the pickle with `base64.encodebytes`, which splits it
into 76-character lines in a Python loop: for the 1,000,000-row frames `load_raw_data` and
`run_inference` persist, that was 2.7 s of an 11 s flow run (docs/benchmarks.md, pipeline
row). `base64.b64encode` does the same encoding in one call. Reading accepts both forms
(`b64decode` skips the newlines), so results persisted before this change still load.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.ipc as ipc
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


ARROW_MARK = b"aiwf-arrow:"
"""Starts a frame written as an Arrow IPC stream (no base64 text holds a colon)."""

PARQUET_MARK = b"aiwf-parquet:"
"""Starts a frame written as Parquet, as records before the Arrow stream were."""

ARROW_OPTIONS = ipc.IpcWriteOptions(compression="zstd")


class FrameSerializer(FastPickleSerializer):
    """DataFrames as an Arrow IPC stream (zstd), anything else as `FastPickleSerializer`.

    The two pure tasks persist 1,000,000-row frames: as pickles those were 42 and 70 MB of
    base64 that Prefect then copies into a JSON record and writes, ~0.7 s of a ~2.2 s flow
    run (docs/benchmarks.md, pipeline). As Parquet (snappy) they were 11 and 14 MB, but
    encoding took 184 and 191 ms. The zstd Arrow stream is 10 and 18 MB, encoded in 80 and
    105 ms and decoded in a few (its buffers are the columns): serializing, the record and
    its write went from 772 to 567 ms for the two (LZ4 wrote 15 and 27 MB, whose record and
    write ate the gain). A frame Arrow cannot hold (column names that are not text,
    `attrs`, a column of mixed types) goes as a pickle. Reading takes all three: Parquet
    records of earlier runs, and `aiwf-pickle` records, which name their own serializer,
    still load.
    """

    type: str = Field(default="aiwf-frame", frozen=True)

    def dumps(self, obj: Any) -> bytes:
        stream = _as_arrow_stream(obj)
        if stream is None:
            return super().dumps(obj)
        return ARROW_MARK + base64.b64encode(stream)

    def loads(self, blob: bytes) -> Any:
        for mark, read in FRAME_READERS.items():
            if blob.startswith(mark):
                data = pa.BufferReader(base64.b64decode(memoryview(blob)[len(mark) :]))
                return read(data).to_pandas()
        return super().loads(blob)


FRAME_READERS: dict[bytes, Callable[[pa.BufferReader], pa.Table]] = {
    ARROW_MARK: lambda data: ipc.open_stream(data).read_all(),
    PARQUET_MARK: pq.read_table,
}
"""Each mark a frame record may start with, and how its table is read back."""


def _as_arrow_stream(obj: Any) -> pa.Buffer | None:
    """`obj` as an Arrow IPC stream if it is a DataFrame Arrow holds, else None."""
    if not isinstance(obj, pd.DataFrame) or obj.attrs:
        return None
    if not all(isinstance(name, str) for name in obj.columns):
        return None
    try:
        table = pa.Table.from_pandas(obj)
    except (pa.ArrowException, TypeError, ValueError):  # e.g. a column of mixed types
        return None
    sink = pa.BufferOutputStream()
    with ipc.new_stream(sink, table.schema, options=ARROW_OPTIONS) as writer:
        writer.write_table(table)
    return sink.getvalue()
