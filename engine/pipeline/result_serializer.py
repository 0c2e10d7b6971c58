"""The pipeline's persisted task results: cloudpickle as Prefect's default, base64 in one C call.

Prefect's `PickleSerializer` wraps the pickle with `base64.encodebytes`, which splits it
into 76-character lines in a Python loop: for the 1,000,000-row frames `load_raw_data` and
`run_inference` persist, that was 2.7 s of an 11 s flow run (docs/benchmarks.md, pipeline
row). `base64.b64encode` does the same encoding in one call. Reading accepts both forms
(`b64decode` skips the newlines), so results persisted before this change still load.
"""

from __future__ import annotations

import base64
from typing import Any

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
