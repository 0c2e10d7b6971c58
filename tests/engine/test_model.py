"""The model loader and scorer on real files; expected scores computed by hand."""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from engine.contract.paths import bundled_config_dir
from engine.pipeline.model import Model, ModelError, load_model

MODEL_YAML = """\
name: tiny
version: "0.1.0"
kind: logistic
features: [x, y]
weights:
  x: 1.5
  y: -2.0
bias: 0.25
threshold: 0.5
"""


def sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


def write_model(directory: Path, text: str, name: str = "tiny.yaml") -> Path:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


def test_bundled_scorer_loads_by_name() -> None:
    model = load_model("scorer-v1", models_dir=bundled_config_dir() / "models")

    assert model.name == "scorer"
    assert model.version == "1.0.0"
    assert model.features == ("feature_a", "feature_b")
    assert model.weights == (2.1, -1.4)
    assert (model.bias, model.threshold) == (-0.3, 0.5)
    assert model.path == bundled_config_dir() / "models" / "scorer-v1.yaml"


def test_models_dir_follows_aiwf_config_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "models").mkdir()
    write_model(tmp_path / "models", MODEL_YAML)
    monkeypatch.setenv("AIWF_CONFIG_DIR", str(tmp_path))

    assert load_model("tiny").path == tmp_path / "models" / "tiny.yaml"
    with pytest.raises(ModelError, match=r"scorer-v1\.yaml: model file not found"):
        load_model("scorer-v1")


def test_load_by_path(tmp_path: Path) -> None:
    path = write_model(tmp_path, MODEL_YAML)
    assert load_model(str(path)).name == "tiny"


def test_score_matches_hand_computation(tmp_path: Path) -> None:
    model = load_model(str(write_model(tmp_path, MODEL_YAML)))
    frame = pd.DataFrame({"y": [0.0, 1.0, 0.5], "x": [0.0, 2.0, -1.0], "other": ["a", "b", "c"]})

    scores = model.score(frame)

    expected = [
        sigmoid(1.5 * 0.0 - 2.0 * 0.0 + 0.25),
        sigmoid(1.5 * 2.0 - 2.0 * 1.0 + 0.25),
        sigmoid(1.5 * -1.0 - 2.0 * 0.5 + 0.25),
    ]
    assert scores.dtype == np.float64
    assert scores.tolist() == pytest.approx(expected, rel=1e-12)


def test_score_is_stable_for_extreme_inputs(tmp_path: Path) -> None:
    model = load_model(str(write_model(tmp_path, MODEL_YAML)))
    scores = model.score(pd.DataFrame({"x": [1e6, -1e6], "y": [0.0, 0.0]}))
    assert scores.tolist() == [1.0, 0.0]


def test_score_names_missing_columns(tmp_path: Path) -> None:
    model = load_model(str(write_model(tmp_path, MODEL_YAML)))
    with pytest.raises(ModelError, match=r"no column.*y"):
        model.score(pd.DataFrame({"x": [1.0]}))


def test_weights_hash_is_sha256_of_canonical_json(tmp_path: Path) -> None:
    model = load_model(str(write_model(tmp_path, MODEL_YAML)))
    canonical = (
        '{"bias":0.25,"features":["x","y"],"name":"tiny","version":"0.1.0","weights":[1.5,-2.0]}'
    )
    assert model.weights_hash == hashlib.sha256(canonical.encode()).hexdigest()
    assert json.loads(canonical)["weights"] == list(model.weights)

    changed = Model(**{**model.__dict__, "bias": 0.3})
    assert changed.weights_hash != model.weights_hash
    # The threshold does not change a score, so it does not change the hash either.
    assert Model(**{**model.__dict__, "threshold": 0.7}).weights_hash == model.weights_hash


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        pytest.param(MODEL_YAML + "colour: red\n", ":10: colour: unknown key", id="unknown-key"),
        pytest.param(MODEL_YAML + "bais: 1\n", "did you mean 'bias'", id="typo-key"),
        pytest.param(
            MODEL_YAML.replace("threshold: 0.5\n", ""),
            "missing required key(s): threshold",
            id="missing-key",
        ),
        pytest.param(
            MODEL_YAML.replace("  y: -2.0\n", ""),
            ":5: weights: no weight for y",
            id="weight-missing",
        ),
        pytest.param(
            MODEL_YAML.replace("  y: -2.0\n", "  y: -2.0\n  z: 1\n"),
            "weight for unknown feature(s) z",
            id="weight-extra",
        ),
        pytest.param(
            MODEL_YAML.replace("x: 1.5", "x: heavy"),
            ":6: weights.x: 'heavy' is not a number",
            id="weight-not-numeric",
        ),
        pytest.param(
            MODEL_YAML.replace("bias: 0.25", "bias: true"),
            ":8: bias: True is not a number",
            id="bias-bool",
        ),
        pytest.param(
            MODEL_YAML.replace('version: "0.1.0"', "version: 0.1"),
            ":2: version: 0.1 was read",
            id="version-number",
        ),
        pytest.param(
            MODEL_YAML.replace("kind: logistic", "kind: forest"),
            ":3: kind: 'forest'",
            id="kind",
        ),
        pytest.param(
            MODEL_YAML.replace("bias: 0.25\n", "bias: 0.25\nbias: 1\n"),
            ":9: bias: duplicate key",
            id="duplicate-key",
        ),
        pytest.param(
            MODEL_YAML.replace("threshold: 0.5", "threshold: 1.5"),
            ":9: threshold: 1.5",
            id="threshold-range",
        ),
        pytest.param("features: [x\n", "invalid YAML", id="broken-yaml"),
        pytest.param("- a\n", "must be a mapping", id="not-a-mapping"),
    ],
)
def test_invalid_model_files(tmp_path: Path, text: str, needle: str) -> None:
    path = write_model(tmp_path, text)
    with pytest.raises(ModelError) as info:
        load_model(str(path))
    message = str(info.value)
    assert message.startswith(str(path))
    assert needle in message


def test_missing_model_lists_the_available_ones(tmp_path: Path) -> None:
    write_model(tmp_path, MODEL_YAML)
    with pytest.raises(ModelError, match=r"model file not found \(models in .*: tiny\)"):
        load_model("absent", models_dir=tmp_path)


def test_model_name_with_path_separators_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="neither a model name"):
        load_model("../secrets", models_dir=tmp_path)
