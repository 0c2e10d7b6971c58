"""The deployment loader on real files: the bundled config, and one file per mistake."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from engine.config.loader import (
    ConfigError,
    DeploymentSpec,
    load_deployment_file,
    load_deployments,
)
from engine.contract.paths import bundled_config_dir

GOOD = """\
name: good
version: "2.0"
schedule:
  cron: "0 2,14 * * *"
  timezone: Asia/Shanghai
flow_name: ai-inference-pipeline
parameters:
  source: "{state_dir}/in.csv"
  target: "{state_dir}/out"
"""


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def only_error(path: Path) -> ConfigError:
    spec, errors = load_deployment_file(path)
    assert spec is None
    assert len(errors) == 1, [str(e) for e in errors]
    return errors[0]


def test_bundled_config_loads() -> None:
    result = load_deployments(bundled_config_dir())

    assert result.errors == []
    by_name = {s.name: s for s in result.specs}
    assert [s.name for s in result.specs] == ["ai-inference-canary", "ai-inference-prod"]
    prod = by_name["ai-inference-prod"]
    assert prod.version == "1.0.0"
    assert prod.cron == "0 2,14 * * *"
    assert prod.timezone == "Asia/Shanghai"
    assert prod.flow_name == "ai-inference-pipeline"
    assert prod.parameters == {
        "source": "{state_dir}/demo/input/daily_batch.csv",
        "target": "{state_dir}/demo/output/predictions",
        "model": "scorer-v1",
    }
    assert prod.path == bundled_config_dir() / "deployments" / "ai-inference-prod.yaml"
    canary = by_name["ai-inference-canary"]
    assert (canary.cron, canary.timezone) == ("30 9 * * 1-5", "Europe/London")
    assert canary.parameters["source"] == "{state_dir}/demo/input/canary_batch.csv"
    assert "canary_batch.csv" in canary.description


def test_good_file_with_defaults(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "d.yaml",
        """\
        name: minimal
        version: "1"
        schedule: {cron: "*/5 * * * *"}
        flow_name: ai-inference-pipeline
        parameters: {source: a.csv, target: out}
        """,
    )
    spec, errors = load_deployment_file(path)
    assert errors == []
    assert spec == DeploymentSpec(
        name="minimal",
        version="1",
        cron="*/5 * * * *",
        timezone="UTC",
        flow_name="ai-inference-pipeline",
        parameters={"source": "a.csv", "target": "out"},
        path=path,
    )


@pytest.mark.parametrize(
    ("text", "line", "field", "needle"),
    [
        pytest.param(GOOD + "nmae: x\n", 10, "nmae", "did you mean 'name'", id="unknown-top-key"),
        pytest.param(
            GOOD.replace("  cron:", "  crn:"),
            4,
            "schedule.crn",
            "did you mean 'cron'",
            id="unknown-nested-key",
        ),
        pytest.param(
            GOOD.replace("0 2,14 * * *", "61 * * * *"),
            4,
            "schedule.cron",
            "'61 * * * *' is not a valid cron expression",
            id="bad-cron",
        ),
        pytest.param(
            GOOD.replace("0 2,14 * * *", "0 0 2 * * *"),
            4,
            "schedule.cron",
            "5 fields",
            id="six-field-cron",
        ),
        pytest.param(
            GOOD.replace("Asia/Shanghai", "Asia/Shangai"),
            5,
            "schedule.timezone",
            "did you mean 'Asia/Shanghai'",
            id="unknown-timezone",
        ),
        pytest.param(
            GOOD.replace("flow_name: ai-inference-pipeline", "flow_name: nope"),
            6,
            "flow_name",
            "known flows: ai-inference-pipeline",
            id="unknown-flow",
        ),
        pytest.param(
            GOOD + "  batch_size: 10\n",
            10,
            "parameters.batch_size",
            "has no parameter 'batch_size'",
            id="unknown-parameter",
        ),
        pytest.param(
            GOOD + "  model: 3\n",
            10,
            "parameters.model",
            "expects str",
            id="parameter-type",
        ),
        pytest.param(
            GOOD.replace('version: "2.0"', "version: 2.0"),
            2,
            "version",
            'quote it: version: "2.0"',
            id="version-number",
        ),
        pytest.param(GOOD + "name: again\n", 10, "name", "duplicate key", id="duplicate-key"),
        pytest.param(
            GOOD.replace('version: "2.0"\n', ""),
            1,
            "version",
            "required key is missing",
            id="missing-required-key",
        ),
        pytest.param(
            GOOD.replace('  target: "{state_dir}/out"\n', ""),
            7,
            "parameters",
            "requires parameter(s) target",
            id="missing-flow-parameter",
        ),
        pytest.param(
            GOOD.replace("{state_dir}/out", "{stat_dir}/out"),
            9,
            "parameters.target",
            "unknown placeholder {stat_dir}",
            id="unknown-placeholder",
        ),
        pytest.param(
            GOOD + "protected: yes please\n",
            10,
            "protected",
            "true or false",
            id="protected-not-bool",
        ),
        pytest.param(
            GOOD.replace("name: good", "name: Good Deploy"),
            1,
            "name",
            "not a valid deployment",
            id="bad-name",
        ),
    ],
)
def test_bad_file_names_file_line_and_field(
    tmp_path: Path, text: str, line: int, field: str, needle: str
) -> None:
    path = write(tmp_path, "bad.yaml", text)

    error = only_error(path)

    assert (error.path, error.line, error.field) == (path, line, field)
    assert needle in error.message
    assert str(error).startswith(f"{path}:{line}: {field}: ")


def test_broken_yaml_reports_the_yaml_line(tmp_path: Path) -> None:
    path = write(
        tmp_path, "broken.yaml", GOOD.replace("  timezone: Asia/Shanghai", "  timezone: [x")
    )

    error = only_error(path)

    assert error.field == ""
    assert error.line is not None and error.line >= 5
    assert "invalid YAML" in error.message
    assert str(error).startswith(f"{path}:{error.line}: invalid YAML")


@pytest.mark.parametrize("text", ["", "# only a comment\n"])
def test_empty_file(tmp_path: Path, text: str) -> None:
    path = write(tmp_path, "empty.yaml", text)

    error = only_error(path)

    # No line to point at: the whole file is the problem.
    assert (error.line, error.field) == (None, "")
    assert "empty" in error.message
    assert str(error).startswith(f"{path}: file is empty")


def test_non_mapping_document(tmp_path: Path) -> None:
    path = write(tmp_path, "list.yaml", "- name: x\n")
    error = only_error(path)
    assert (error.line, error.field) == (1, "")
    assert "got a list" in error.message


def test_all_errors_of_a_file_are_reported(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "many.yaml",
        """\
        name: many
        version: 1.0
        schedule:
          cron: "99 * * * *"
          timezone: Nowhere/Land
        flow_name: ai-inference-pipeline
        parameters:
          source: a.csv
          target: out
          colour: blue
        extra: 1
        """,
    )
    spec, errors = load_deployment_file(path)
    assert spec is None
    assert sorted((e.line, e.field) for e in errors) == [
        (2, "version"),
        (4, "schedule.cron"),
        (5, "schedule.timezone"),
        (10, "parameters.colour"),
        (11, "extra"),
    ]


def test_duplicate_name_across_files_is_an_error_on_the_later_file(tmp_path: Path) -> None:
    deployments = tmp_path / "deployments"
    deployments.mkdir()
    first = write(deployments, "a.yaml", GOOD)
    second = write(deployments, "b.yml", GOOD)

    result = load_deployments(tmp_path)

    assert [s.path for s in result.specs] == [first]
    assert len(result.errors) == 1
    error = result.errors[0]
    assert (error.path, error.line, error.field) == (second, 1, "name")
    assert str(first) in error.message


def test_one_bad_file_does_not_stop_the_good_one(tmp_path: Path) -> None:
    deployments = tmp_path / "deployments"
    deployments.mkdir()
    bad = write(deployments, "a-bad.yaml", GOOD.replace("name: good", "name: bad") + "oops: 1\n")
    good = write(deployments, "b-good.yaml", GOOD)
    write(deployments, "notes.txt", "not a deployment")
    write(deployments, ".#b-good.yaml", "editor lock file")

    result = load_deployments(tmp_path)

    assert [s.path for s in result.specs] == [good]
    assert [(e.path, e.line, e.field) for e in result.errors] == [(bad, 10, "oops")]


def test_missing_deployments_dir(tmp_path: Path) -> None:
    result = load_deployments(tmp_path)
    assert result.specs == []
    assert len(result.errors) == 1
    assert result.errors[0].path == tmp_path / "deployments"
    assert "deployments directory not found" in str(result.errors[0])


def test_placeholder_expansion(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "p.yaml",
        GOOD + '  model: "{config_dir}/models/custom.yaml"\n',
    )
    spec, errors = load_deployment_file(path)
    assert errors == [] and spec is not None

    resolved = spec.resolved_parameters(Path("/var/state"), Path("/etc/aiwf"))

    assert resolved == {
        "source": "/var/state/in.csv",
        "target": "/var/state/out",
        "model": "/etc/aiwf/models/custom.yaml",
    }
    # The spec keeps what the file says; expansion happens per call.
    assert spec.parameters["source"] == "{state_dir}/in.csv"
