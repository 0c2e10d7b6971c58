"""Honest cache keys for the inference pipeline's tasks.

Keys are built only from what changes a task's output: the bytes of the input file, or a
remote object's ETag, size and modification time (load_raw_data), and the scored rows plus
the model's name, version and weights hash (run_inference), never a constant. Persisted
results are stored under these keys, so changing how one is computed invalidates every
operator's cache: bump CACHE_KEY_VERSION on purpose, never by accident
(tests/engine/test_lineage.py pins them).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

import pandas as pd

from engine.lineage.record import file_sha256
from engine.pipeline import locations
from engine.pipeline.model import Model, ModelError, load_model

CACHE_KEY_VERSION = "1"
"""Bump when the meaning of a cached result changes (e.g. a task's output shape)."""


def frame_fingerprint(df: pd.DataFrame) -> str:
    """sha256 over the frame's column names, dtypes and every row's values and index."""
    digest = hashlib.sha256()
    digest.update(json.dumps([[str(c), str(t)] for c, t in df.dtypes.items()]).encode())
    digest.update(pd.util.hash_pandas_object(df, index=True).to_numpy().tobytes())
    return digest.hexdigest()


def _key(kind: str, parts: Mapping[str, Any]) -> str:
    canonical = json.dumps(dict(parts), sort_keys=True, separators=(",", ":"))
    return f"{kind}-{hashlib.sha256(canonical.encode()).hexdigest()}"


def load_cache_key(source: str) -> str | None:
    """Key for load_raw_data: resolved path, size, mtime and sha256 of the file's bytes; for a
    remote object (s3://, gs://) its URL as written, size, ETag, modification time and
    version, read from the store's listing (the ETag changes whenever the bytes do).

    None (no caching) when the file cannot be read: the task then fails on its own terms.
    """
    path = locations.local_path(source)
    if path is None:
        return _remote_cache_key(source)
    try:
        info = path.stat()
        sha = file_sha256(path)
    except OSError:
        return None
    return _key(
        "load_raw_data",
        {
            "v": CACHE_KEY_VERSION,
            "path": str(path.resolve()),
            "size": info.st_size,
            "mtime_ns": info.st_mtime_ns,
            "sha256": sha,
        },
    )


def _remote_cache_key(url: str) -> str | None:
    try:
        identity = locations.remote_identity(url)
    except Exception:
        # Missing object, store down, no credentials, no s3fs: no caching; the task itself
        # then fails and says which (or retries, if it was transient).
        return None
    if identity.etag is None and identity.modified is None:
        return None  # nothing that would change with the content: never reuse
    return _key(
        "load_raw_data",
        {
            "v": CACHE_KEY_VERSION,
            "url": url,
            "size": identity.size,
            "etag": identity.etag,
            "modified": identity.modified,
            "version_id": identity.version_id,
        },
    )


def inference_cache_key(input_fingerprint: str, model: Model) -> str:
    """Key for run_inference: the scored rows and everything about the model that
    changes a score. The model's file path is left out on purpose: a copy scores the same."""
    return _key(
        "run_inference",
        {
            "v": CACHE_KEY_VERSION,
            "input": input_fingerprint,
            "model_name": model.name,
            "model_version": model.version,
            "weights_hash": model.weights_hash,
        },
    )


def load_raw_data_key_fn(context: Any, parameters: dict[str, Any]) -> str | None:
    """Prefect `cache_key_fn` for load_raw_data."""
    return load_cache_key(str(parameters["source"]))


def run_inference_key_fn(context: Any, parameters: dict[str, Any]) -> str | None:
    """Prefect `cache_key_fn` for run_inference. None (no caching) if the model does not
    load, so the task itself fails and names the model file."""
    try:
        model = load_model(str(parameters["model"]))
    except ModelError:
        return None
    df = parameters["df"]
    if not isinstance(df, pd.DataFrame):
        return None
    return inference_cache_key(frame_fingerprint(df), model)
