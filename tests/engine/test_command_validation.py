"""What the engine refuses before it asks Prefect anything: commands that do not decode
from their stream fields, and parameters that a trigger, retry, pause or backfill does not
take. Each refusal names the field and what to send instead.

The executor is built over a real Redis with no Prefect client at all (`None`): every
check here must answer without one, and a check that reached Prefect would fail with an
AttributeError instead of the refusal the test expects. The checks that need a run read
from Prefect (a retry's run state, an unknown `from_task` of that run) are covered on the
real stack in tests/integration/test_retry_from_task.py.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, cast

import pytest
import redis

from engine.commands.executor import CommandExecutor
from engine.commands.validation import (
    CommandRejected,
    check_retryable,
    check_task,
    pause_until,
    retry_options,
)
from engine.config.parameter_schema import flow_parameter_schema
from engine.config.registry import RegisteredDeployment, Registry
from engine.config.spec import DeploymentSpec
from engine.contract.command_client import ensure_group
from engine.contract.commands import ACTIONS, Command, CommandResult
from engine.contract.documents import decode_doc, encode_doc
from engine.contract.identity import Identity
from engine.contract.keys import ENGINE_GROUP, Keys
from engine.pipeline.flows import FLOW_TASKS, FLOWS
from engine.store.off_loop import EngineStore

FLOW = "ai-inference-pipeline"
DEPLOYMENT = "ai-inference-prod"
DEPLOYMENT_ID = "0b7e5a3c-0000-4000-8000-000000000001"
NO_PREFECT = cast(Any, None)
"""Stands where the Prefect client goes: a check that used it would raise."""


def fields_of(**overrides: str) -> dict[str, str]:
    """The stream fields of a valid retry command, with `overrides` applied."""
    command = Command(
        "retry",
        "run-1",
        {"from_task": "run_inference"},
        identity=Identity("ana", "ops-1", "10.0.0.7"),
        id="c1",
        sent_at="2026-11-25T08:00:00+00:00",
        deadline="2026-11-25T08:05:00+00:00",
    )
    return command.to_fields() | overrides


# Decoding a command from the stream.


def test_a_command_survives_the_stream_fields_unchanged() -> None:
    command = Command.from_fields(fields_of())
    assert command == Command(
        "retry",
        "run-1",
        {"from_task": "run_inference"},
        identity=Identity("ana", "ops-1", "10.0.0.7"),
        id="c1",
        sent_at="2026-11-25T08:00:00+00:00",
        deadline="2026-11-25T08:05:00+00:00",
    )
    assert Command.from_fields(command.to_fields()) == command


@pytest.mark.parametrize("name", ["id", "action", "target"])
def test_a_missing_or_empty_field_is_named(name: str) -> None:
    missing = fields_of()
    del missing[name]
    with pytest.raises(ValueError, match=f"command is missing field '{name}'"):
        Command.from_fields(missing)
    with pytest.raises(ValueError, match=f"command is missing field '{name}'"):
        Command.from_fields(fields_of(**{name: ""}))


def test_an_unknown_action_is_named_with_the_known_ones() -> None:
    with pytest.raises(ValueError) as refused:
        Command.from_fields(fields_of(action="delete"))
    assert "unknown action 'delete'" in str(refused.value)
    assert all(action in str(refused.value) for action in ACTIONS)


@pytest.mark.parametrize(
    ("params", "why"),
    [
        ("{from_task: x}", "field 'params' is not JSON"),
        ('["from_task"]', "field 'params' must be a JSON object"),
        ('"run_inference"', "field 'params' must be a JSON object"),
        ("null", "field 'params' must be a JSON object"),
    ],
)
def test_params_must_be_a_json_object(params: str, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        Command.from_fields(fields_of(params=params))


def test_absent_params_and_identity_read_as_empty_and_unknown() -> None:
    bare = {"id": "c2", "action": "cancel", "target": "run-9"}
    command = Command.from_fields(bare)
    assert command.params == {}
    assert command.identity == Identity("?", "?", "")
    assert command.identity.describe() == "?@?"
    assert command.sent_at == ""


def test_a_result_from_a_newer_engine_still_reads() -> None:
    result = CommandResult("c1", "cancelling", "cancel sent", flow_run_id="run-1")
    assert CommandResult.from_json(result.to_json()) == result
    newer = json.loads(result.to_json()) | {"took_ms": 12}
    read = CommandResult.from_json(json.dumps(newer).encode())
    assert read == result and not read.final and not read.ok


@pytest.mark.parametrize(
    "raw",
    [None, b"", b"{not json", b"\xff\xfe", b"[1, 2]", b'"a string"', b"null", "42"],
    ids=["absent", "empty", "corrupt", "not-utf8", "list", "string", "null", "number"],
)
def test_a_state_document_that_is_not_an_object_reads_as_missing(raw: str | bytes | None) -> None:
    assert decode_doc(raw) is None


def test_a_state_document_survives_encoding() -> None:
    doc = {
        "name": "ai-inference-prod",
        "paused": False,
        "at": datetime(2026, 11, 25, tzinfo=timezone.utc),
    }
    assert decode_doc(encode_doc(doc)) == doc | {"at": "2026-11-25 00:00:00+00:00"}
    assert decode_doc(encode_doc(doc).encode()) == decode_doc(encode_doc(doc))


# The executor, over a real Redis and no Prefect.


@pytest.fixture
def executor(redis_client: redis.Redis, keys: Keys) -> Iterator[CommandExecutor]:
    spec = DeploymentSpec(
        name=DEPLOYMENT,
        version="1",
        cron="0 2 * * *",
        timezone="UTC",
        flow_name=FLOW,
        parameters={},
        path=Path("deployments/ai-inference-prod.yaml"),
    )
    registry = Registry()
    registry.add(
        RegisteredDeployment(
            spec, DEPLOYMENT_ID, {}, parameter_schema=flow_parameter_schema(FLOWS[FLOW])
        )
    )

    async def run_changed(_prefect: Any, _run_id: str) -> None:
        raise AssertionError("a refused command changed a run")

    def deployment_changed(_name: str) -> None:
        raise AssertionError("a refused command changed a deployment")

    yield CommandExecutor(
        EngineStore.over(redis_client, keys),
        registry,
        on_run_changed=run_changed,
        on_deployment_changed=deployment_changed,
    )
    assert not redis_client.exists(keys.auto_resume), "a refused pause set a window"


async def refusal(executor: CommandExecutor, action: str, target: str, **params: Any) -> str:
    result = await executor.execute(NO_PREFECT, Command(action, target, params))
    assert result.status == "error", result
    assert "AttributeError" not in result.message, "the check reached for Prefect"
    return result.message


async def test_a_command_for_a_deployment_not_served_names_the_served_ones(
    executor: CommandExecutor,
) -> None:
    for action in ("trigger", "pause", "resume", "backfill"):
        message = await refusal(executor, action, "ai-inference-dev")
        assert message == f"unknown deployment 'ai-inference-dev' (served: {DEPLOYMENT})"


async def test_trigger_refuses_parameters_the_flow_does_not_take(
    executor: CommandExecutor,
) -> None:
    message = await refusal(executor, "trigger", DEPLOYMENT, modle="scorer-v2", batch=64)
    assert message.startswith(f"{FLOW} does not accept parameter(s) batch, modle; it accepts ")
    assert "model" in message and "source" in message


async def test_trigger_refuses_values_of_the_wrong_type_and_starts_nothing(
    executor: CommandExecutor,
) -> None:
    message = await refusal(executor, "trigger", DEPLOYMENT, model=3, refresh_cache="maybe")
    assert "parameter model: 3 is not of type 'string'" in message
    assert "parameter refresh_cache: 'maybe' is not of type 'boolean'" in message
    assert message.endswith("; nothing was started")


async def test_trigger_refuses_a_source_url_this_install_cannot_open(
    executor: CommandExecutor,
) -> None:
    message = await refusal(executor, "trigger", DEPLOYMENT, source="nope://bucket/batch.csv")
    assert message == (
        "parameter source: unknown storage protocol nope://; use a plain path, file://, s3:// "
        "or gs:// (or another protocol fsspec knows); nothing was started"
    )


@pytest.mark.parametrize(
    ("params", "why"),
    [
        ({"from": "run_inference"}, "retry does not accept parameter(s) from; it accepts "),
        ({"refresh_cache": "yes"}, "retry: refresh_cache must be true or false, not 'yes'"),
        ({"from_task": 2}, "retry: from_task must be a task name, not 2"),
        (
            {"from_task": "run_inference", "refresh_cache": True},
            "retry: refresh_cache reruns every task already; send it or from_task, not both",
        ),
    ],
)
async def test_retry_refuses_bad_options_before_reading_the_run(
    executor: CommandExecutor, params: dict[str, Any], why: str
) -> None:
    message = await refusal(executor, "retry", "5a0e7c1e-0000-4000-8000-000000000002", **params)
    assert message.startswith(why)
    if "does not accept" in why:
        assert message.endswith("from_task, refresh_cache")


def test_from_task_must_be_a_task_of_the_runs_flow(executor: CommandExecutor) -> None:
    tasks = FLOW_TASKS[FLOW]
    for task in tasks:
        check_task(executor.registry, DEPLOYMENT_ID, task)
    with pytest.raises(CommandRejected) as unknown:
        check_task(executor.registry, DEPLOYMENT_ID, "train")
    assert str(unknown.value) == (
        f"retry: unknown task 'train' for from_task; {FLOW} has {', '.join(tasks)}"
    )
    with pytest.raises(CommandRejected, match="is not served by this engine"):
        check_task(executor.registry, "0b7e5a3c-0000-4000-8000-00000000beef", tasks[0])


async def test_pause_refuses_options_and_windows_it_cannot_keep(
    executor: CommandExecutor,
) -> None:
    past = (datetime.now(timezone.utc) - timedelta(minutes=5)).isoformat()
    cases: dict[str, dict[str, Any]] = {
        "pause does not accept parameter(s) until; it accepts resume_at": {"until": "2h"},
        "pause: resume_at must be an ISO time string, not 7200": {"resume_at": 7200},
        "pause: resume_at 'in 2h' is not an ISO time": {"resume_at": "in 2h"},
        "pause: resume_at '2099-01-01T06:00' needs an offset": {"resume_at": "2099-01-01T06:00"},
        f"pause: resume_at '{past}' is already past; nothing was paused": {"resume_at": past},
    }
    for why, params in cases.items():
        assert (await refusal(executor, "pause", DEPLOYMENT, **params)).startswith(why)


async def test_backfill_refuses_a_window_it_cannot_plan(executor: CommandExecutor) -> None:
    future = (datetime.now(timezone.utc) + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    cases: dict[str, dict[str, Any]] = {
        "does not accept parameter(s) concurrency": {"concurrency": 2},
        "must be after start": {"start": "2026-11-20", "end": "2026-11-10"},
        "is in the future": {"start": "2026-11-20", "end": future},
        "max_concurrent must be a whole number, not '2'": {
            "start": "2026-11-10",
            "end": "2026-11-12",
            "max_concurrent": "2",
        },
    }
    for why, params in cases.items():
        message = await refusal(executor, "backfill", DEPLOYMENT, **params)
        assert message.startswith(f"backfill {DEPLOYMENT}: ") and why in message, message
    assert executor.backfills.tasks == {}


async def test_a_malformed_entry_is_answered_and_acknowledged(
    executor: CommandExecutor, redis_client: redis.Redis, keys: Keys
) -> None:
    ensure_group(redis_client, keys)
    redis_client.xadd(keys.commands, fields_of(action="delete"))  # type: ignore[arg-type]
    reply: Any = redis_client.xreadgroup(ENGINE_GROUP, "test", {keys.commands: ">"}, count=1)
    [(_stream, [(entry_id, raw)])] = reply
    fields = {k.decode(): v.decode() for k, v in raw.items()}
    assert redis_client.xpending(keys.commands, ENGINE_GROUP)["pending"] == 1

    await executor.handle(NO_PREFECT, entry_id, fields)

    assert redis_client.xpending(keys.commands, ENGINE_GROUP)["pending"] == 0
    # Answered, so the sender does not time out (before issue 9: dropped, no result).
    result: Any = redis_client.lindex(keys.result("c1"), 0)
    assert CommandResult.from_json(result).status == "error"
    assert "unknown action 'delete'" in CommandResult.from_json(result).message


# -- the checks themselves (engine/commands/validation.py), without an executor ------------


def test_retry_options_read_what_a_retry_may_send() -> None:
    assert retry_options({}) == (False, "")
    assert retry_options({"refresh_cache": True}) == (True, "")
    assert retry_options({"from_task": "save_results"}) == (False, "save_results")
    with pytest.raises(CommandRejected, match="send it or from_task, not both"):
        retry_options({"refresh_cache": True, "from_task": "save_results"})


def test_only_a_finished_run_of_a_deployment_is_retryable() -> None:
    check_retryable("brisk-fox", "FAILED", DEPLOYMENT_ID)
    with pytest.raises(CommandRejected, match=r"^run brisk-fox is RUNNING; only finished runs"):
        check_retryable("brisk-fox", "RUNNING", DEPLOYMENT_ID)
    with pytest.raises(CommandRejected, match="run brisk-fox has no deployment to run it again"):
        check_retryable("brisk-fox", "COMPLETED", None)


def test_a_pause_without_a_window_pauses_until_resumed() -> None:
    now = datetime(2026, 11, 25, 8, 0, tzinfo=timezone.utc)
    assert pause_until({}, now) is None
    assert pause_until({"resume_at": None}, now) is None
    assert pause_until({"resume_at": "2026-11-25T10:00:00+00:00"}, now) == now + timedelta(hours=2)
