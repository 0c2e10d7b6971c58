"""The trigger form's logic: fields from the schema, typed checks, overrides, preview."""

from __future__ import annotations

import msgspec

from console.text.param_form import (
    check_form,
    fields_from_schema,
    hidden_fields,
    initial_text,
    placeholder,
    preview,
)
from engine.contract.documents import Deployment
from tests.console.param_schemas import FLOW_SCHEMA, RICH_SCHEMA


def test_fields_follow_the_signature_with_kinds_defaults_and_required_marks() -> None:
    fields = fields_from_schema(RICH_SCHEMA, {"source": "s3://in", "batch": 128})
    assert [(f.name, f.kind) for f in fields] == [
        ("source", "str"),
        ("batch", "int"),
        ("threshold", "float"),
        ("mode", "enum"),
        ("limit", "int"),
        ("dry_run", "bool"),
        ("tags", "json"),
    ]
    by_name = {f.name: f for f in fields}
    assert by_name["source"].required and not by_name["batch"].required
    assert by_name["batch"].default == 128  # the deployment's value wins over the flow's
    assert by_name["mode"].choices == ("fast", "exact")
    assert by_name["limit"].nullable and by_name["limit"].type_word == "whole number or empty"
    assert [initial_text(f) for f in fields] == ["s3://in", "128", "0.5", "fast", "", "False", "[]"]


def test_missing_or_broken_schema_gives_no_fields() -> None:
    assert fields_from_schema(None, {}) == []
    assert fields_from_schema({"properties": "x"}, {}) == []


def test_type_errors_are_named_per_field() -> None:
    fields = fields_from_schema(RICH_SCHEMA, {})
    check = check_form(
        fields,
        {
            "source": " ",
            "batch": "12.5",
            "threshold": "high",
            "mode": "fast",
            "limit": "",
            "dry_run": False,
            "tags": "{",
        },
    )
    assert check.errors == {
        "source": "required: type a value",
        "batch": "must be a whole number, not '12.5'",
        "threshold": "must be a number, not 'high'",
        "tags": "must be JSON: Expecting property name enclosed in double quotes at column 2",
    }
    assert not check.ok


def test_only_changed_values_become_overrides_and_unknown_names_are_dropped() -> None:
    fields = fields_from_schema(RICH_SCHEMA, {"source": "s3://in"})
    check = check_form(
        fields,
        {
            "source": "s3://in",
            "batch": "64",
            "threshold": "0.75",
            "mode": "exact",
            "limit": "",
            "dry_run": True,
            "tags": '["a"]',
            "sourse": "typo",
        },
    )
    assert check.ok
    assert check.overrides == {"threshold": 0.75, "mode": "exact", "dry_run": True, "tags": ["a"]}
    assert "sourse" not in check.values
    assert check.values["limit"] is None and check.values["batch"] == 64


def test_preview_shows_version_final_parameters_and_the_diff() -> None:
    doc = {
        "name": "ai-inference-prod",
        "version": "1.0.0",
        "flow_name": "ai-inference-pipeline",
        "parameter_schema": FLOW_SCHEMA,
    }
    fields = fields_from_schema(FLOW_SCHEMA, {"source": "a.csv", "target": "out"})
    check = check_form(
        fields, {"source": "a.csv", "target": "out", "model": "scorer-v2", "refresh_cache": False}
    )
    shown = preview(msgspec.convert(doc, Deployment), fields, check)
    assert shown.changed == 1
    assert shown.lines[0] == "Deployment: ai-inference-prod   Version: 1.0.0"
    assert ' * model         = "scorer-v2"' in shown.lines
    assert '   source        = "a.csv"' in shown.lines
    assert '   model: "scorer-v1" → "scorer-v2"' in shown.lines
    # Not in the form, still part of the run (the flow's defaults), never an override.
    assert "   refresh_cache = false" in shown.lines
    same = check_form(
        fields, {"source": "a.csv", "target": "out", "model": "scorer-v1", "refresh_cache": False}
    )
    assert same.overrides == {}
    assert (
        preview(msgspec.convert(doc, Deployment), fields, same)
        .lines[-1]
        .startswith("No changes: runs with the deployment")
    )


def test_retry_controls_are_not_trigger_fields() -> None:
    fields = fields_from_schema(FLOW_SCHEMA, {"source": "a.csv", "target": "out"})
    assert [f.name for f in fields] == ["source", "target", "model", "logical_date"]
    assert hidden_fields(FLOW_SCHEMA) == ["refresh_cache", "from_task"]
    assert hidden_fields(RICH_SCHEMA) == [] and hidden_fields(None) == []
    # Entered anyway (e.g. a stale form state), they are not sent.
    check = check_form(fields, {"source": "a.csv", "target": "out", "from_task": "x"})
    assert check.ok and "from_task" not in check.overrides and "from_task" not in check.values
    everything = fields_from_schema(FLOW_SCHEMA, {}, hidden=frozenset())
    assert [f.name for f in everything][-3:] == ["refresh_cache", "from_task", "logical_date"]


def test_placeholders_say_what_empty_means_and_never_look_like_a_value() -> None:
    by_name = {f.name: f for f in fields_from_schema(RICH_SCHEMA, {})}
    assert placeholder(by_name["source"]) == "empty: required, type text"
    assert placeholder(by_name["batch"]) == "empty: type a whole number"
    assert placeholder(by_name["threshold"]) == "empty: type a number"
    assert placeholder(by_name["limit"]) == "empty: sends null"
    assert placeholder(by_name["tags"]) == "empty: type JSON"
    model = fields_from_schema(FLOW_SCHEMA, {})[2]
    assert placeholder(model) == "empty: sends empty text"
    for param in by_name.values():
        assert placeholder(param).startswith("empty: ")
        assert placeholder(param) not in (param.type_word, initial_text(param))


def test_preview_resolves_date_templates_with_the_date_typed_or_says_now() -> None:
    doc = {
        "name": "dated",
        "flow_name": "ai-inference-pipeline",
        "timezone": "America/New_York",
        "parameters": {"source": "in/{date:%Y-%m-%d}/b.csv", "target": "out"},
        "parameter_schema": FLOW_SCHEMA,
    }
    deployment = msgspec.convert(doc, Deployment)
    fields = fields_from_schema(FLOW_SCHEMA, doc["parameters"])
    dated = check_form(
        fields,
        {
            "source": "in/{date:%Y-%m-%d}/b.csv",
            "target": "out",
            "logical_date": "2026-11-01T03:00+00:00",
        },
    )
    lines = preview(deployment, fields, dated).lines
    # 03:00 UTC is still 31 October in New York.
    assert any('= "in/{date:%Y-%m-%d}/b.csv"  → "in/2026-10-31/b.csv"' in line for line in lines)
    undated = check_form(fields, {"source": "in/{date:%Y-%m-%d}/b.csv", "target": "out"})
    assert any(
        line.startswith("   logical_date ") and line.endswith('= ""  (now, in America/New_York)')
        for line in preview(deployment, fields, undated).lines
    )
    assert check_form(fields, {"source": "s", "target": "t", "logical_date": "soon"}).errors == {
        "logical_date": "logical date 'soon' is not a date: write YYYY-MM-DD (e.g. 2026-11-01) "
        "or an ISO datetime (2026-11-01T02:00, or with an offset: 2026-11-01T02:00+01:00)"
    }
