"""The parameter schema the engine publishes, and its check of trigger overrides."""

from __future__ import annotations

from engine.config.parameter_schema import flow_parameter_schema, override_errors
from engine.pipeline.flows import FLOWS


def test_override_errors_name_the_parameter_and_ignore_unknown_names() -> None:
    schema = flow_parameter_schema(FLOWS["ai-inference-pipeline"])
    assert override_errors(schema, {"model": "scorer-v2", "refresh_cache": True}) == []
    assert override_errors(schema, {"refresh_cache": "maybe", "model": 3, "x": 1}) == [
        "parameter refresh_cache: 'maybe' is not of type 'boolean'",
        "parameter model: 3 is not of type 'string'",
    ]


def test_schema_lists_every_flow_parameter_in_order_with_defaults() -> None:
    schema = flow_parameter_schema(FLOWS["ai-inference-pipeline"])
    properties = schema["properties"]
    assert list(properties) == [
        "source",
        "target",
        "model",
        "refresh_cache",
        "from_task",
        "logical_date",
    ]
    assert schema["required"] == ["source", "target"]
    assert properties["model"]["default"] == "scorer-v1"
    assert properties["refresh_cache"]["type"] == "boolean"
