"""Decoding the typed Redis documents: older engines' documents, bad ones, counting."""

from __future__ import annotations

import json

import pytest
import redis

from engine.contract.command_client import CommandClient
from engine.contract.commands import CommandResult
from engine.contract.documents import (
    REJECTED,
    AuditRecord,
    BadDocument,
    Deployment,
    FlowRun,
    Heartbeat,
    Lineage,
    LogLine,
    TaskRun,
    convert_fields,
    decode,
    decode_strict,
    encode,
)
from engine.contract.keys import Keys
from engine.store.mirror import RedisMirror

KEY = "aiwf:flow_runs[run-1]"


def test_a_flow_run_from_an_older_engine_gets_defaults_for_missing_fields() -> None:
    # Written before attempt_start_time, tags and total_run_time existed.
    raw = json.dumps({"id": "run-1", "name": "witty-fox", "state_type": "RUNNING"}).encode()
    run = decode_strict(raw, FlowRun, KEY)
    assert (run.id, run.name, run.state_type) == ("run-1", "witty-fox", "RUNNING")
    assert run.attempt_start_time is None
    assert run.tags == [] and run.total_run_time == 0.0 and run.parameters == {}


def test_a_deployment_without_the_newer_fields_reads() -> None:
    raw = json.dumps({"name": "prod", "cron": "0 2 * * *", "paused": True}).encode()
    doc = decode_strict(raw, Deployment, "aiwf:deployments[prod]")
    assert doc.paused and doc.parameter_schema == {} and doc.resume_at is None
    assert doc.last_run is None and doc.timezone == "UTC"


def test_unknown_fields_from_a_newer_engine_are_ignored() -> None:
    raw = json.dumps({"id": "t1", "flow_run_id": "run-1", "colour": "blue"})
    assert decode_strict(raw, TaskRun, "k").id == "t1"


def test_lineage_nested_parts_default_when_an_older_doc_lacks_them() -> None:
    raw = json.dumps(
        {"flow_run_id": "run-1", "outputs": [{"path": "/t/date=2026-11-01", "rows": 3}]}
    )
    doc = decode_strict(raw, Lineage, "aiwf:lineage:run-1")
    assert doc.trigger.attempt is None and doc.written is None
    assert doc.outputs[0].schema is None and doc.outputs[0].rows == 3


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        (b'{"id": "run-1", "run_count": "two"}', "Expected `int`, got `str` - at `$.run_count`"),
        (b'{"id": 7}', "Expected `str`, got `int` - at `$.id`"),
        (b'{"name": "no id"}', "missing required field `id`"),
        (b"[1, 2]", "Expected `object`, got `array`"),
        (b"not json at all", "malformed"),
        (b'{"id": "run-\xff"}', "UTF-8"),
        (b"\x80\x81\x82", "malformed"),
    ],
)
def test_bad_documents_are_rejected_with_the_key_and_field_named(raw: bytes, why: str) -> None:
    with pytest.raises(BadDocument) as caught:
        decode_strict(raw, FlowRun, KEY)
    assert caught.value.key == KEY
    assert KEY in str(caught.value) and why in str(caught.value)


def test_a_bad_document_is_counted_and_read_as_missing() -> None:
    before = REJECTED.count
    assert decode(b'{"id": 1}', FlowRun, "aiwf:flow_runs[x]") is None
    assert decode(b"\xff\xfe", Heartbeat, "aiwf:engine:heartbeat") is None
    assert REJECTED.count == before + 2
    assert "aiwf:engine:heartbeat" in REJECTED.last
    assert "aiwf:flow_runs[x]" in REJECTED.by_key


def test_an_absent_key_is_none_and_not_counted() -> None:
    before = REJECTED.count
    assert decode(None, Heartbeat, "aiwf:engine:heartbeat") is None
    assert REJECTED.count == before


def test_stream_fields_convert_from_bytes_and_bad_ones_are_counted() -> None:
    line = convert_fields({b"ts": b"2026-11-25T00:00:00+00:00", b"msg": b"hello"}, LogLine, "k")
    assert line is not None and line.msg == "hello" and line.task_run_id == ""
    before = REJECTED.count
    assert convert_fields({b"msg": b"\xff"}, AuditRecord, "aiwf:audit 1-0") is None
    assert REJECTED.count == before + 1 and "aiwf:audit 1-0" in REJECTED.last


def test_encode_writes_the_documented_field_names_sorted() -> None:
    raw = encode(FlowRun(id="run-1", name="witty-fox"))
    parsed = json.loads(raw)
    assert list(parsed) == sorted(parsed)
    assert parsed["id"] == "run-1" and parsed["attempt_start_time"] is None
    assert decode_strict(raw, FlowRun, KEY) == FlowRun(id="run-1", name="witty-fox")


def test_a_command_result_with_a_wrong_type_is_an_error_naming_the_field() -> None:
    with pytest.raises(ValueError, match=r"\$\.message"):
        CommandResult.from_json(b'{"command_id": "c", "status": "ok", "message": 3}')


def test_a_bad_result_on_a_command_key_is_skipped_and_counted(
    redis_client: redis.Redis, keys: Keys
) -> None:
    commands = CommandClient(redis_client, keys)
    key = keys.result("c1")
    good = CommandResult("c1", "ok", "triggered run witty-fox")
    redis_client.rpush(key, b"\xff not json", good.to_json())
    before = REJECTED.count
    assert commands.latest("c1") == good
    assert REJECTED.count == before + 1 and f"{key}[0]" in REJECTED.by_key


def test_the_mirror_refuses_lineage_that_breaks_the_contract(
    redis_client: redis.Redis, keys: Keys
) -> None:
    mirror = RedisMirror(redis_client, keys)
    doc = {"flow_run_id": "run-1", "deployment_name": "prod", "trigger": {"attempt": 1}}
    bad = doc | {"outputs": [{"path": "/t/date=2026-11-01", "rows": "many"}]}
    with pytest.raises(BadDocument, match=r"lineage:run-1.*\$\.outputs\[0\]\.rows"):
        mirror.write_lineage(bad)
    assert redis_client.exists(keys.lineage("run-1"), keys.partitions("prod")) == 0
    mirror.write_lineage(doc | {"outputs": [{"path": "/t/date=2026-11-01", "rows": 3}]})
    assert json.loads(redis_client.get(keys.lineage("run-1")) or b"{}")["outputs"][0]["rows"] == 3
    assert redis_client.smembers(keys.partitions("prod")) == {b"date=2026-11-01"}
