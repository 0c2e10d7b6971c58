"""Malformed and poison-pill command entries (issue 9 item 4): the decoder refuses each with
`BadCommand` naming the field, the sizes are capped, and the command decoder is fuzzed with
hypothesis (derandomized): whatever the fields, only `BadCommand` comes out.

The executor part runs over a real Redis (no Prefect: a refusal must not need it); the
real engine meeting these entries on its stream is tests/integration/test_poison_commands.py.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, cast

import pytest
import redis
from hypothesis import example, given
from hypothesis import strategies as st

from engine.commands.executor import CommandExecutor
from engine.config.registry import Registry
from engine.contract.command_client import CommandClient, ensure_group
from engine.contract.commands import (
    MAX_COMMAND_BYTES,
    MAX_FIELD_BYTES,
    MAX_PARAMS_DEPTH,
    BadCommand,
    decode_command,
    json_depth,
)
from engine.contract.keys import ENGINE_GROUP, Keys
from engine.store.off_loop import EngineStore
from tests.fuzz_yaml import fuzz

NO_PREFECT = cast(Any, None)


@pytest.fixture
def store(redis_client: redis.Redis, keys: Keys) -> Iterator[EngineStore]:
    store = EngineStore.over(redis_client, keys)
    yield store
    store.call.close()


GOOD: dict[bytes, bytes] = {
    b"id": b"c1",
    b"action": b"trigger",
    b"target": b"ai-inference-prod",
    b"params": b'{"source": "in.csv"}',
    b"user": b"ana",
    b"host": b"ops-1",
    b"ssh_client": b"",
    b"sent_at": b"2026-11-25T08:00:00+00:00",
}

POISON: dict[str, tuple[dict[bytes, bytes], str]] = {
    "unknown action": (GOOD | {b"action": b"delete"}, "unknown action 'delete'"),
    "params not JSON": (GOOD | {b"params": b"{source: x}"}, "field 'params' is not JSON"),
    "params a list": (GOOD | {b"params": b"[1, 2]"}, "field 'params' must be a JSON object"),
    "params NaN": (GOOD | {b"params": b'{"a": NaN}'}, "field 'params' is not JSON"),
    "params 100,000 deep": (
        GOOD | {b"params": b"[" * 100_000 + b"]" * 100_000},
        f"at most {MAX_FIELD_BYTES}",
    ),
    "params 5,000 deep": (
        GOOD | {b"params": b'{"a":' + b"[" * 5_000 + b"]" * 5_000 + b"}"},
        f"nests 5001 levels deep; at most {MAX_PARAMS_DEPTH}",
    ),
    "non-UTF-8 target": (GOOD | {b"target": b"ai-\xff\xfe"}, "field 'target' is not UTF-8"),
    "non-UTF-8 field name": (GOOD | {b"\xc3(": b"x"}, "a field name is not UTF-8"),
    "huge field": (GOOD | {b"host": b"h" * (MAX_FIELD_BYTES + 1)}, "field 'host' holds"),
    "huge command": (
        GOOD | {f"x{n}".encode(): b"v" * 10_000 for n in range(7)},
        f"at most {MAX_COMMAND_BYTES} are accepted",
    ),
    "missing id": ({k: v for k, v in GOOD.items() if k != b"id"}, "missing field 'id'"),
    "missing action": (
        {k: v for k, v in GOOD.items() if k != b"action"},
        "missing field 'action'",
    ),
    "huge id": (GOOD | {b"id": b"i" * 500}, "field 'id' is longer than 128"),
}


@pytest.mark.parametrize("name", POISON)
def test_each_poison_entry_is_refused_naming_why(name: str) -> None:
    fields, why = POISON[name]
    with pytest.raises(BadCommand) as refused:
        decode_command(fields, "1-0")
    assert why in str(refused.value)
    assert len(str(refused.value)) < 400, "the refusal quotes the poison"
    sent = refused.value.command
    # The sender's id when it is readable, so it gets its answer; else the entry's.
    assert sent.id == ("c1" if b"id" in fields and len(fields[b"id"]) < 100 else "entry-1-0")
    assert sent.params == {}
    assert len(json.dumps(sent.to_fields())) < 2_000


def test_a_good_entry_decodes_from_bytes_and_ignores_fields_it_does_not_know() -> None:
    command = decode_command(GOOD | {b"deadline": b"2026-11-25T08:05:00+00:00"}, "1-0")
    assert (command.id, command.action, command.params) == ("c1", "trigger", {"source": "in.csv"})
    assert command.identity.describe() == "ana@ops-1"


def test_nesting_is_measured_outside_strings() -> None:
    assert json_depth('{"a": [1, {"b": "[[[[{{"}]}') == 3
    assert json_depth(r'{"a": "\"[[[["}') == 1
    depth = MAX_PARAMS_DEPTH - 1  # inside {"a": ...}
    nested = "[" * depth + "]" * depth
    assert decode_command(GOOD | {b"params": f'{{"a": {nested}}}'.encode()}, "1-0")
    too_deep = "[" * MAX_PARAMS_DEPTH + "]" * MAX_PARAMS_DEPTH
    with pytest.raises(BadCommand, match="levels deep"):
        decode_command(GOOD | {b"params": f'{{"a": {too_deep}}}'.encode()}, "1-0")


text = st.one_of(
    st.text(max_size=40),
    st.binary(max_size=40),
    st.sampled_from(["trigger", "retry", "{}", "[]", '{"a": 1}', "NaN", "c1", ""]),
)
params = st.one_of(
    st.binary(max_size=80),
    st.text(alphabet='[]{}":,1a\\ ', max_size=200),
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
        max_leaves=20,
    ).map(lambda value: json.dumps(value).encode()),
)


@fuzz(2000)
@given(
    fields=st.dictionaries(
        st.sampled_from(["id", "action", "target", "user", "host", "sent_at"]) | text,
        text,
        max_size=8,
    ),
    raw_params=st.none() | params,
)
@example(fields={"id": "c1", "action": "trigger", "target": "d"}, raw_params=b"[" * 20_000)
def test_any_entry_decodes_or_is_refused_with_bad_command(
    fields: dict[Any, Any], raw_params: bytes | None
) -> None:
    if raw_params is not None:
        fields = fields | {"params": raw_params}
    try:
        command = decode_command(fields, "7-0")
    except BadCommand as refused:
        # The refusal can always be answered and audited.
        assert refused.command.id
        assert len(json.dumps(refused.command.to_fields())) < 3_000
        return
    assert command.action in ("trigger", "retry", "cancel", "pause", "resume", "backfill")
    assert isinstance(command.params, dict)
    json.dumps(command.params)  # the audit can write what was decoded


async def test_the_executor_answers_audits_and_acknowledges_a_poison_entry(
    store: EngineStore, redis_client: redis.Redis, keys: Keys
) -> None:
    ensure_group(redis_client, keys)
    fields, why = POISON["non-UTF-8 target"]
    redis_client.xadd(keys.commands, fields)  # type: ignore[arg-type]
    reply: Any = redis_client.xreadgroup(ENGINE_GROUP, "test", {keys.commands: ">"}, count=1)
    [(_stream, [(entry_id, raw)])] = reply

    async def unused(*_args: Any) -> None:
        raise AssertionError("a malformed command ran")

    executor = CommandExecutor(store, Registry(), unused, lambda _name: None)
    await executor.handle(NO_PREFECT, entry_id, raw)

    assert redis_client.xpending(keys.commands, ENGINE_GROUP)["pending"] == 0
    result = CommandClient(redis_client, keys).latest("c1")
    assert result is not None and result.status == "error"
    assert result.message.startswith("malformed command: ") and why in result.message
    [(_id, audit)] = cast(Any, redis_client.xrange(keys.audit))
    assert audit[b"command_id"] == b"c1" and audit[b"status"] == b"error"
    assert audit[b"user"] == b"ana"


def test_the_command_client_refuses_to_send_beyond_the_caps(
    redis_client: redis.Redis, keys: Keys
) -> None:
    client = CommandClient(redis_client, keys)
    with pytest.raises(ValueError, match=f"not sent: field 'params' holds .* {MAX_FIELD_BYTES}"):
        client.send("trigger", "ai-inference-prod", {"source": "x" * MAX_FIELD_BYTES})
    with pytest.raises(ValueError, match="not sent: field 'params' nests"):
        client.send("trigger", "ai-inference-prod", {"a": json.loads("[" * 40 + "]" * 40)})
    assert redis_client.xlen(keys.commands) == 0
