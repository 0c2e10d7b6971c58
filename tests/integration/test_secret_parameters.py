"""A deployment with a secret parameter, run for real (issue 9 item 6): the flow gets the
value (Prefect holds it), and nothing this product stores holds it: not one key of Redis
(documents, results, audit, logs, lineage, the command stream), not audit.jsonl, not the
command result, not the lineage parquet. Each holds the value's fingerprint instead."""

from __future__ import annotations

import asyncio
import shutil
import uuid
from functools import partial
from pathlib import Path
from typing import Any, cast
from uuid import UUID

import pandas as pd
import pytest
import redis

from engine.contract.command_client import CommandClient
from engine.contract.history import HistoryClient, new_query
from engine.contract.keys import Keys
from engine.contract.paths import bundled_config_dir
from engine.contract.secrets import fingerprint
from engine.lineage.record import file_sha256
from engine.pipeline.sample_data import generate_batch
from engine.stack.launcher import EmbeddedStack, EngineProcess
from engine.store.audit_log import AUDIT_FILE
from engine.store.mirror import RedisMirror
from tests.integration.conftest import send_and_wait, wait_for, wait_run_final
from tests.integration.test_config_errors_run import prefect_deployments

pytestmark = pytest.mark.integration

DEPLOYMENT = """\
name: {name}
version: "1"
schedule:
  cron: "0 0 29 2 *"   # 29 February: it will not fire during the test
flow_name: ai-inference-pipeline
parameters:
  source: "{source}"
  target: "{{state_dir}}/out"
# The source is a pre-signed URL in real life; here a path with a token in it.
secret_parameters: [source]
"""


def every_value(client: redis.Redis) -> bytes:
    """Every key of the Redis, with its value, whatever its type, as one blob."""
    parts: list[bytes] = []
    for key in client.scan_iter(count=1000):
        kind = cast(bytes, client.type(key)).decode()
        value: Any
        if kind == "string":
            value = client.get(key)
        elif kind == "hash":
            value = client.hgetall(key)
        elif kind == "list":
            value = client.lrange(key, 0, -1)
        elif kind == "set":
            value = client.smembers(key)
        elif kind == "zset":
            value = client.zrange(key, 0, -1)
        elif kind == "stream":
            value = client.xrange(key)
        else:
            value = b""
        parts.append(key + b"=" + repr(value).encode())
    return b"\n".join(parts)


def log_has(client: redis.Redis, key: str, text: bytes) -> bool:
    entries = cast("list[tuple[bytes, dict[bytes, bytes]]]", client.xrange(key))
    return any(text in fields.get(b"msg", b"") for _id, fields in entries)


async def prefect_parameters(stack: EmbeddedStack, run_id: str) -> dict[str, Any]:
    """The run's parameters as Prefect reports them (what the flow was called with)."""
    from prefect.client.orchestration import PrefectClient

    async with PrefectClient(api=stack.api_url) as prefect:
        return dict((await prefect.read_flow_run(UUID(run_id))).parameters)


def test_a_secret_parameter_reaches_the_flow_and_nothing_we_store(
    stack: EmbeddedStack, tmp_path: Path
) -> None:
    suffix = uuid.uuid4().hex[:6]
    name = f"secret-{suffix}"
    configured_token, typed_token = f"tokcfg{uuid.uuid4().hex}", f"toktyped{uuid.uuid4().hex}"
    state = tmp_path / "state"
    batch = state / "in" / configured_token / "batch.csv"
    batch.parent.mkdir(parents=True)
    generate_batch(batch, rows=30)
    override = state / "in" / typed_token / "batch.csv"
    override.parent.mkdir(parents=True)
    shutil.copy(batch, override)
    config = tmp_path / "config"
    (config / "deployments").mkdir(parents=True)
    shutil.copytree(bundled_config_dir() / "models", config / "models")
    (config / "deployments" / "secret.yaml").write_text(DEPLOYMENT.format(name=name, source=batch))
    keys = Keys(f"secret-{suffix}")
    engine = EngineProcess(
        state_dir=state,
        redis_url=stack.redis_url,
        api_url=stack.api_url,
        config_dir=config,
        prefix=keys.prefix,
        # Not a test of the Prefect budget (test_prefect_down is): on a loaded host Prefect
        # answered a trigger later than the default 8 s, and the trigger failed for that.
        extra_env={"AIWF_CONFIG_DIR": str(config), "AIWF_PREFECT_COMMAND_SECONDS": "60"},
    )
    client = redis.Redis.from_url(stack.redis_url)
    mirror, commands = RedisMirror(client, keys), CommandClient(client, keys)
    try:
        engine.start(timeout=120)
        doc = wait_for(lambda: mirror.read_deployment(name), 60, "the deployment document")
        assert doc["secret_parameters"] == ["source"]
        assert doc["parameters"]["source"] == fingerprint(str(batch))
        assert doc["parameter_schema"]["properties"]["source"]["writeOnly"] is True

        plain = send_and_wait(commands, "trigger", name, timeout=90)
        typed = send_and_wait(commands, "trigger", name, {"source": str(override)}, timeout=90)
        assert plain.ok and typed.ok, (plain.message, typed.message)
        assert fingerprint(str(override)) in typed.message  # "with {'source': 'secret:...'}"
        for result in (plain, typed):
            assert wait_run_final(mirror, result.flow_run_id, 120)["state_type"] == "COMPLETED"

        # The flow got the real values: Prefect ran it with them, and it read the files.
        real = {plain.flow_run_id: batch, typed.flow_run_id: override}
        for run_id, path in real.items():
            assert asyncio.run(prefect_parameters(stack, run_id))["source"] == str(path)
            lineage = wait_for(partial(mirror.read_lineage, run_id), 60, "lineage")
            assert lineage["parameters"]["source"] == fingerprint(str(path))
            assert lineage["input"]["path"] == fingerprint(str(path))
            assert lineage["input"]["sha256"] == file_sha256(path)
            run_doc = mirror.read_flow_run(run_id)
            assert run_doc is not None
            assert run_doc["parameters"]["source"] == fingerprint(str(path))
            # The flow prints the source; the mirrored log line has its fingerprint.
            wanted = fingerprint(str(path)).encode()
            wait_for(partial(log_has, client, keys.logs(run_id), wanted), 60, "the log line")

        # A page of the run history (what the console shows for a filtered view) comes from
        # Prefect, which holds the real values: the engine fingerprints them there too.
        page = HistoryClient(client, keys).ask(new_query(deployment_id=doc["id"]), 30)
        assert page is not None and page.ok, page
        assert {run.id: run.parameters["source"] for run in page.runs} == {
            run_id: fingerprint(str(path)) for run_id, path in real.items()
        }

        # One run as a run screen asks for it when the mirror no longer holds it (run_of).
        for run_id, path in real.items():
            one = HistoryClient(client, keys).ask(new_query(run_of=run_id), 30)
            assert one is not None and one.ok and len(one.task_runs) == 3, one
            assert one.runs[0].parameters["source"] == fingerprint(str(path))

        # A copy of a run's whole log from Prefect (the log screen's `P`) is scrubbed too.
        for run_id, path in real.items():
            copy = HistoryClient(client, keys).ask(new_query(log_copy_of=run_id), 60)
            assert copy is not None and copy.ok and copy.total > 0, copy
            assert log_has(client, keys.log_copy(copy.query_id), fingerprint(str(path)).encode())

        tokens = (configured_token.encode(), typed_token.encode())
        stored = every_value(client)  # the page's result key and the log copies among them
        assert keys.prefix.encode() in stored and fingerprint(str(override)).encode() in stored
        leaks = [line[:600] for line in stored.split(b"\n") if any(t in line for t in tokens)]
        assert not leaks, f"a secret value is in Redis: {leaks}"
        audit = (state / AUDIT_FILE).read_bytes()
        assert fingerprint(str(override)).encode() in audit
        assert not [t for t in tokens if t in audit], "a secret value is in audit.jsonl"
        for result in (plain, typed):
            assert not [t for t in tokens if t.decode() in result.message]
        table = pd.read_parquet(state / "lineage")
        assert set(table["flow_run_id"]) == set(real)
        cells = [str(cell) for cell in table.to_numpy().ravel()]
        assert not [c for c in cells for t in tokens if t.decode() in c], "a value in parquet"
        assert fingerprint(str(batch)) in set(table["input_path"])
    finally:
        engine.stop()
        asyncio.run(prefect_deployments(stack, suffix, delete=True))
        client.delete(*client.keys(f"{keys.prefix}:*") or ["-"])
        client.close()
