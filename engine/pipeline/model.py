"""Versioned logistic scorer loaded from `config/models/<name>.yaml`.

A model file is small and strict on purpose: every prediction the pipeline writes carries
the model version, and `Model.weights_hash` pins the exact numbers, so an edit to the
weights without a version bump is visible in run summaries.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from engine.contract.checked_yaml import CheckedFile, Entry, read_checked
from engine.contract.paths import default_config_dir

_REQUIRED_KEYS = ("name", "version", "kind", "features", "weights", "bias", "threshold")
_KINDS = ("logistic",)
_MODEL_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


class ModelError(ValueError):
    """A model file is missing or invalid. The message names the file and the field."""


@dataclass(frozen=True)
class Model:
    """A logistic scorer: `sigmoid(weights . features + bias)`."""

    name: str
    version: str
    features: tuple[str, ...]
    weights: tuple[float, ...]
    """Aligned with `features`: `weights[i]` multiplies column `features[i]`."""
    bias: float
    threshold: float
    """Score at or above which a row counts as positive; reported, not applied to scores."""
    path: Path

    @property
    def weights_hash(self) -> str:
        """sha256 of the canonical JSON of everything that changes a score."""
        canonical = json.dumps(
            {
                "name": self.name,
                "version": self.version,
                "features": list(self.features),
                "weights": list(self.weights),
                "bias": self.bias,
            },
            sort_keys=True,
            separators=(",", ":"),
        )
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()

    def score(self, frame: pd.DataFrame) -> np.ndarray:
        """Score every row of `frame`; returns float64 probabilities in (0, 1).

        NaN features propagate to NaN scores: callers that must not write NaN check first
        (the pipeline's `run_inference` does, and names the rows).

        Raises:
            ModelError: `frame` lacks some of the model's feature columns.
        """
        missing = [f for f in self.features if f not in frame.columns]
        if missing:
            raise ModelError(
                f"{self.path}: features: input has no column(s) {', '.join(missing)} "
                f"needed by model {self.name} {self.version}; "
                f"columns present: {', '.join(map(str, frame.columns))}"
            )
        x = frame[list(self.features)].to_numpy(dtype=np.float64)
        z = x @ np.asarray(self.weights, dtype=np.float64) + self.bias
        # 1 / (1 + exp(-z)) overflows for very negative z; this form is exact and stable.
        return np.asarray(np.exp(-np.logaddexp(0.0, -z)), dtype=np.float64)


def default_models_dir() -> Path:
    """`$AIWF_CONFIG_DIR/models` if that variable is set, else the bundled `config/models`."""
    return default_config_dir() / "models"


def resolve_model_path(name_or_path: str, models_dir: Path | None = None) -> Path:
    """A model name (`scorer-v1`) becomes `<models_dir>/scorer-v1.yaml`; a value ending in
    `.yaml`/`.yml` is taken as a path (relative to the working directory)."""
    if name_or_path.endswith((".yaml", ".yml")):
        return Path(name_or_path).expanduser()
    if not _MODEL_NAME_RE.match(name_or_path):
        raise ModelError(
            f"model {name_or_path!r} is neither a model name (letters, digits, '.', '_', '-') "
            "nor a path ending in .yaml; use e.g. 'scorer-v1' or 'models/scorer-v1.yaml'"
        )
    base = models_dir if models_dir is not None else default_models_dir()
    return base / f"{name_or_path}.yaml"


def load_model(name_or_path: str, models_dir: Path | None = None) -> Model:
    """Load and validate a model file.

    Raises:
        ModelError: the file is missing, is not valid YAML, or breaks the schema. The
            message names the file, the line where there is one, and the field.
    """
    path = resolve_model_path(name_or_path, models_dir)
    if not path.exists():
        known = sorted(p.stem for p in path.parent.glob("*.yaml")) if path.parent.is_dir() else []
        hint = f"models in {path.parent}: {', '.join(known)}" if known else "no models there"
        raise ModelError(f"{path}: model file not found ({hint})")
    return _parse_model(read_checked(path))


def _parse_model(check: CheckedFile) -> Model:
    path = check.path
    top = check.top(
        _REQUIRED_KEYS,
        expected=f"keys ({', '.join(_REQUIRED_KEYS)})",
        empty=f"file is empty; a model needs {', '.join(_REQUIRED_KEYS)} (see config/models/)",
    )
    weights_entry = top.get("weights") if top else None
    weight_entries: dict[str, Entry] = {}
    if weights_entry is not None and isinstance(weights_entry.node, yaml.MappingNode):
        weight_entries = check.mapping(weights_entry.node, "weights.", None)
    if top is None or check.errors:
        raise ModelError("\n".join(str(error) for error in check.sorted_errors()))
    values = {key: entry.value for key, entry in top.items()}
    # Point at the key: for a block mapping the value only starts on the next line.
    lines = {key: entry.key_line for key, entry in top.items()}
    weight_lines = {entry.key: entry.value_line for entry in weight_entries.values()}

    missing = [k for k in _REQUIRED_KEYS if k not in values]
    if missing:
        raise ModelError(f"{path}: missing required key(s): {', '.join(missing)}")

    def fail(key: str, message: str) -> ModelError:
        line = weight_lines.get(key) or lines[key.split(".")[0]]
        return ModelError(f"{path}:{line}: {key}: {message}")

    name, version, kind = values["name"], values["version"], values["kind"]
    if not isinstance(name, str) or not name:
        raise fail("name", "must be a non-empty string")
    if isinstance(version, (int, float)) and not isinstance(version, bool):
        raise fail("version", f'{version!r} was read as a number; quote it, e.g. version: "1.0.0"')
    if not isinstance(version, str) or not version:
        raise fail("version", 'must be a non-empty string such as "1.0.0"')
    if kind not in _KINDS:
        raise fail("kind", f"{kind!r} is not supported; supported kinds: {', '.join(_KINDS)}")

    features = values["features"]
    if (
        not isinstance(features, list)
        or not features
        or not all(isinstance(f, str) and f for f in features)
    ):
        raise fail("features", "must be a non-empty list of column names")
    if len(set(features)) != len(features):
        raise fail("features", "lists a column more than once")

    weights = values["weights"]
    if not isinstance(weights, dict):
        raise fail("weights", "must be a mapping of feature name -> number")
    extra = [str(k) for k in weights if k not in features]
    absent = [f for f in features if f not in weights]
    if extra or absent:
        parts = []
        if absent:
            parts.append(f"no weight for {', '.join(absent)}")
        if extra:
            parts.append(f"weight for unknown feature(s) {', '.join(extra)}")
        raise fail("weights", "; ".join(parts) + " (weights must name exactly the features)")

    def number(key: str, value: object) -> float:
        # bool is an int subclass in Python; `true` as a weight is a typo, not 1.0.
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise fail(key, f"{value!r} is not a number")
        if not math.isfinite(value):
            raise fail(key, f"{value!r} is not a finite number")
        return float(value)

    weight_values = [number(f"weights.{f}", weights[f]) for f in features]
    bias = number("bias", values["bias"])
    threshold = number("threshold", values["threshold"])
    if not 0.0 < threshold < 1.0:
        raise fail("threshold", f"{threshold} is outside (0, 1); a logistic score never reaches it")

    return Model(
        name=name,
        version=version,
        features=tuple(features),
        weights=tuple(weight_values),
        bias=bias,
        threshold=threshold,
        path=path,
    )
