"""Secret parameters: the deployment file's `secret_parameters`, the fingerprint rule, and
what the bridge, the executor and lineage store in place of a value."""

from __future__ import annotations

from pathlib import Path

from engine.commands.secret_params import shown
from engine.config.registry import RegisteredDeployment, Registry
from engine.config.spec import DeploymentSpec
from engine.contract.commands import Command, CommandResult
from engine.contract.secrets import (
    fingerprint,
    mark_secret_schema,
    mask_parameters,
    scrub,
    secret_names_in_schema,
)
from engine.lineage import record as lineage
from tests.engine.test_config import GOOD, load_deployment_file, only_error, write

TOKEN = "tok-6c1f0e9b2d"


def test_a_fingerprint_is_stable_short_and_never_the_value() -> None:
    mark = fingerprint(TOKEN)
    assert mark == fingerprint(TOKEN) and mark.startswith("secret:sha256:")
    assert len(mark) == len("secret:sha256:") + 12 and TOKEN not in mark
    assert fingerprint(mark) == mark  # a stored fingerprint is not fingerprinted again
    assert fingerprint({"key": TOKEN}) != fingerprint(TOKEN)
    assert mask_parameters({"token": TOKEN, "n": 1}, {"token"}) == {"token": mark, "n": 1}
    assert scrub(f"401 for {TOKEN}!", [TOKEN]) == f"401 for {mark}!"


def test_secret_parameters_are_read_from_the_deployment_file(tmp_path: Path) -> None:
    path = write(tmp_path, "d.yaml", GOOD + "secret_parameters: [source]\n")
    spec, errors = load_deployment_file(path)
    assert errors == [] and spec is not None
    assert spec.secret_parameters == {"source"}
    plain, _ = load_deployment_file(write(tmp_path, "p.yaml", GOOD))
    assert plain is not None and plain.secret_parameters == frozenset()


def test_a_secret_the_flow_does_not_take_names_file_line_and_key(tmp_path: Path) -> None:
    path = write(tmp_path, "d.yaml", GOOD + "secret_parameters:\n  - source\n  - api_tokn\n")
    error = only_error(path)
    assert (error.path, error.line, error.field) == (path, 12, "secret_parameters")
    assert "has no parameter 'api_tokn'" in error.message
    wrong = only_error(write(tmp_path, "w.yaml", GOOD + "secret_parameters: source\n"))
    assert wrong.field == "secret_parameters" and "list of parameter names" in wrong.message
    typo = only_error(write(tmp_path, "t.yaml", GOOD + "secret_parameter: [source]\n"))
    assert typo.field == "secret_parameter" and typo.line == 10


def test_the_schema_marks_secrets_for_the_flow_and_prefects_ui() -> None:
    schema = {"properties": {"token": {"type": "string", "default": TOKEN}, "n": {}}}
    marked = mark_secret_schema(schema, {"token"})
    assert marked["properties"]["token"]["format"] == "password"
    assert marked["properties"]["token"]["default"] == fingerprint(TOKEN)
    assert secret_names_in_schema(marked) == {"token"}
    assert schema["properties"]["token"]["default"] == TOKEN  # the original is left alone


def test_lineage_holds_fingerprints_wherever_the_value_was() -> None:
    record = lineage.new_doc(
        flow_run_id="r",
        status="failed",
        error=f"FileNotFoundError: /in/{TOKEN}/batch.csv",
        trigger=lineage.classify_trigger([], 1, False, None, ""),
        parameters={"source": f"/in/{TOKEN}/batch.csv", "model": "scorer-v1"},
        input=lineage.input_doc(f"/in/{TOKEN}/batch.csv", None),
        model=lineage.model_doc(None, "scorer-v1"),
    )
    masked = lineage.masked(record, frozenset({"source"}))
    mark = fingerprint(f"/in/{TOKEN}/batch.csv")
    assert masked.parameters == {"source": mark, "model": "scorer-v1"}
    assert masked.input.path == mark and masked.error == f"FileNotFoundError: {mark}"
    assert lineage.masked(record, frozenset()) is record


def test_a_command_as_stored_has_the_override_as_a_fingerprint() -> None:
    spec = DeploymentSpec(
        name="d",
        version="1",
        cron="0 2 * * *",
        timezone="UTC",
        flow_name="ai-inference-pipeline",
        parameters={"source": "/configured"},
        path=Path("d.yaml"),
        secret_parameters=frozenset({"source"}),
    )
    registry = Registry()
    registry.add(RegisteredDeployment(spec, "id", {"source": "/configured"}))
    command = Command("trigger", "d", {"source": TOKEN, "model": "m"})
    result = CommandResult(command.id, "error", f"parameter source: {TOKEN!r} is bad")
    stored, message = shown(registry, command, result)
    assert stored.params == {"source": fingerprint(TOKEN), "model": "m"}
    assert TOKEN not in message.message and fingerprint(TOKEN) in message.message
    pause = Command("pause", "d", {})
    assert shown(registry, pause, result) == (pause, result)
