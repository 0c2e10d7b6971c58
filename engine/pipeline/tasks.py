"""The inference pipeline's pure tasks: load a CSV batch, score it with a versioned model.

Both persist their results under honest cache keys (engine/pipeline/cache_keys.py), and
retry only errors that can go away by themselves (`retry_if_transient`).
"""

from __future__ import annotations

import os
import urllib.error
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from prefect import Task, task
from prefect.client.schemas.objects import TaskRun
from prefect.states import State

from engine.pipeline import cache_keys, locations
from engine.pipeline.model import load_model
from engine.pipeline.result_serializer import FrameSerializer

REQUIRED_COLUMNS = ("timestamp", "feature_a", "feature_b")
_MAX_ROWS_IN_MESSAGE = 5


class InputDataError(ValueError):
    """The batch itself is wrong (missing columns, unparsable values). Retrying cannot help."""


class StoreRefused(ValueError):
    """A cloud store answered the request with a lasting no (a 4xx other than 404, 403 and
    429: a bad bucket name, a bad request). Retrying cannot help."""


def is_transient_error(exc: BaseException) -> bool:
    """Whether `exc` may go away if the same call is retried in a little while.

    Missing files, permission problems and bad data fail the same way on every attempt,
    so retrying them only delays the alert by a minute; network and I/O hiccups are worth
    another try. A cloud store's error is judged by its HTTP status or connection error
    (engine/pipeline/locations.py): 5xx and throttling are retried, no such key or access
    denied are not.
    """
    remote = locations.is_transient_remote_error(exc)
    if remote is not None:
        return remote
    if isinstance(exc, (FileNotFoundError, PermissionError, IsADirectoryError)):
        return False
    if isinstance(exc, NotADirectoryError):
        return False
    if isinstance(exc, urllib.error.HTTPError):
        # 5xx and "too many requests" are the server's momentary trouble; other 4xx
        # (404, 403) are answers that will not change on a retry.
        return exc.code >= 500 or exc.code == 429
    return isinstance(exc, (ConnectionError, TimeoutError, OSError))


def retry_if_transient(task: Task[..., Any], task_run: TaskRun, state: State[Any]) -> bool:
    """`retry_condition_fn` for Prefect: retry only when the failure is transient.

    Prefect's sync engine wraps the raised exception as `Failed(data=exc)` before calling
    this, so the exception is normally `state.data`. Anything we cannot identify as
    transient is not retried: a fast, clear failure beats three slow identical ones.
    """
    data = state.data
    exc = data if isinstance(data, BaseException) else getattr(data, "result", None)
    return isinstance(exc, BaseException) and is_transient_error(exc)


def _read_csv(source: str) -> pd.DataFrame:
    """The CSV at `source`; a cloud store's errors become ones that name the URL."""
    local = locations.local_path(source)
    if local is not None:
        return pd.read_csv(local if locations.protocol(source) else source)
    fs, path = locations.filesystem(source)
    try:
        with fs.open(path, "rb") as handle:
            return pd.read_csv(handle)
    except (FileNotFoundError, pd.errors.EmptyDataError, pd.errors.ParserError):
        raise
    except PermissionError as exc:
        raise PermissionError(
            f"access denied reading {source}: {exc}; check the credentials the engine runs "
            "with (AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, see "
            "config/README.md) and the bucket's policy, then retry the run"
        ) from exc
    except Exception as exc:
        transient = locations.is_transient_remote_error(exc)
        if transient is None:
            raise
        if transient:
            raise ConnectionError(
                f"the store holding {source} did not answer ({type(exc).__name__}: {exc}); "
                "load_raw_data retries this"
            ) from exc
        raise StoreRefused(f"the store refused reading {source}: {exc}") from exc


def _rows_text(labels: list[Any]) -> str:
    shown = ", ".join(str(label) for label in labels[:_MAX_ROWS_IN_MESSAGE])
    more = len(labels) - _MAX_ROWS_IN_MESSAGE
    return f"{shown} and {more} more" if more > 0 else shown


RETRY_DELAY_ENV = "AIWF_LOAD_RETRY_DELAY_SECONDS"
"""Environment variable: seconds load_raw_data waits before retrying a transient error
(default 30: long enough for a store's blip to pass, short enough for an on-call)."""


def load_retry_delay(environ: Mapping[str, str] | None = None) -> float:
    """The retry delay from `AIWF_LOAD_RETRY_DELAY_SECONDS` (read when the flow's process
    imports this module: the engine's environment, which its flow runs inherit).

    Raises:
        ValueError: the value is not a number >= 0 (names the variable).
    """
    raw = (environ if environ is not None else os.environ).get(RETRY_DELAY_ENV, "").strip()
    if not raw:
        return 30.0
    try:
        seconds = float(raw)
    except ValueError:
        seconds = -1.0
    if not seconds >= 0:
        raise ValueError(f"{RETRY_DELAY_ENV}={raw!r}: give it as a number of seconds >= 0")
    return seconds


# Results of the two pure tasks are persisted (under PREFECT_LOCAL_STORAGE_PATH, which the
# engine points at $AIWF_STATE_DIR/results) so a retried flow run reuses them: their cache
# keys name the exact input bytes and model, never a constant. See engine/pipeline/cache_keys.py.
@task(
    retries=2,
    retry_delay_seconds=load_retry_delay(),
    retry_condition_fn=retry_if_transient,
    cache_key_fn=cache_keys.load_raw_data_key_fn,
    persist_result=True,
    result_serializer=FrameSerializer(),
)
def load_raw_data(source: str) -> pd.DataFrame:
    """Read the batch CSV (a path, or an fsspec URL such as s3://bucket/key.csv) and parse its
    `timestamp` column.

    Raises:
        FileNotFoundError: `source` does not exist (not retried).
        PermissionError: the store or the file system refuses access (not retried).
        ImportError: the URL's protocol needs an extra that is not installed (not retried).
        ConnectionError: the store did not answer or answered 5xx/429 (retried).
        InputDataError: the file is empty, malformed, lacks required columns, or has
            timestamps that do not parse (not retried).
    """
    try:
        df = _read_csv(source)
    except FileNotFoundError as exc:
        raise FileNotFoundError(
            f"source file not found: {source} (the upstream batch may not have landed yet; "
            "check the producer, or put a batch at that path and rerun)"
        ) from exc
    except pd.errors.EmptyDataError as exc:
        raise InputDataError(f"source file is empty: {source}") from exc
    except pd.errors.ParserError as exc:
        raise InputDataError(f"source file is not valid CSV: {source}: {exc}") from exc

    missing = [c for c in REQUIRED_COLUMNS if c not in df.columns]
    if missing:
        raise InputDataError(
            f"{source}: missing required column(s) {', '.join(missing)}; "
            f"the file has {', '.join(map(str, df.columns))}"
        )
    if df.empty:
        raise InputDataError(f"{source}: the file has a header but no rows")

    raw = df["timestamp"]
    parsed = pd.to_datetime(raw, errors="coerce")
    bad = parsed.isna()
    if bad.any():
        # +2: one for the header line, one because CSV line numbers start at 1.
        lines = [f"line {i + 2} ({raw.iloc[i]!r})" for i in np.flatnonzero(bad.to_numpy())]
        raise InputDataError(
            f"{source}: {len(lines)} row(s) have a missing or unparsable timestamp: "
            f"{_rows_text(lines)}; fix them upstream (ISO 8601, e.g. 2026-11-01T02:00:00)"
        )
    df["timestamp"] = parsed
    print(
        f"Loaded {len(df)} rows from {source}; "
        f"timestamps {parsed.min().isoformat()} .. {parsed.max().isoformat()}"
    )
    return df


# The seed pipeline used a constant cache key, which replays the first run's predictions
# forever. This key is a fingerprint of the rows scored plus the model's name, version and
# weights hash: new data or a new model always scores for real.
@task(
    cache_key_fn=cache_keys.run_inference_key_fn,
    persist_result=True,
    result_serializer=FrameSerializer(),
)
def run_inference(df: pd.DataFrame, model: str) -> pd.DataFrame:
    """Score every row; returns a copy with `prediction` (float) and `model_version` added.

    Raises:
        ValueError: some rows have missing or non-numeric feature values.
        engine.pipeline.model.ModelError: the model file is missing or invalid, or the frame lacks
            a feature column.
    """
    scorer = load_model(model)
    missing = [f for f in scorer.features if f not in df.columns]
    if missing:
        raise InputDataError(
            f"model {scorer.name} {scorer.version} ({scorer.path}) needs column(s) "
            f"{', '.join(missing)} that the input does not have"
        )
    features = df[list(scorer.features)].apply(pd.to_numeric, errors="coerce")
    bad = features.isna().any(axis=1)
    if bad.any():
        labels = list(df.index[bad.to_numpy()])
        raise InputDataError(
            f"{int(bad.sum())} row(s) have missing or non-numeric values in "
            f"{', '.join(scorer.features)}: row index {_rows_text(labels)}; "
            "fix or drop them upstream, the model cannot score them"
        )

    out = df.copy()
    out["prediction"] = scorer.score(features).astype(np.float64)
    out["model_version"] = scorer.version
    print(
        f"Scored {len(out)} rows with model {scorer.name} {scorer.version} "
        f"(weights {scorer.weights_hash[:12]})"
    )
    return out
