"""Lineage and honest caching on the real stack: real parquet, Prefect, Redis and engine."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import redis

from engine.contract.command_client import CommandClient
from engine.contract.keys import Keys
from engine.pipeline.sample_data import ensure_demo_input
from engine.stack.launcher import EmbeddedStack
from engine.store.mirror import RedisMirror
from tests.integration.conftest import send_and_wait, wait_for, wait_run_final

pytestmark = pytest.mark.integration

PROD = "ai-inference-prod"
CANARY = "ai-inference-canary"
TASKS = ("load_raw_data", "run_inference", "save_results")


def task_states(mirror: RedisMirror, run_id: str, attempt: int) -> dict[str, str]:
    """Final state name of each task's run within flow-run attempt `attempt`.

    Task runs of every attempt share the flow run's hash; they are told apart by the order
    they finished in (three new task runs per attempt).
    """

    def ready() -> list[dict[str, Any]] | None:
        docs = list(mirror.read_task_runs(run_id).values())
        final = [d for d in docs if d["state_type"] in ("COMPLETED", "FAILED")]
        return final if len(final) >= 3 * attempt else None

    docs = wait_for(ready, 30, f"task runs of attempt {attempt}")
    # Cached task runs never start, so order by the time of their final state.
    ordered = sorted(docs, key=lambda d: d["updated"] or "")
    latest = {d["name"].rsplit("-", 1)[0]: d for d in ordered}  # the last of each name
    return {name: latest[name]["state_name"] for name in TASKS if name in latest}


def log_messages(client: redis.Redis, keys: Keys, run_id: str) -> list[str]:
    entries: Any = client.xrange(keys.logs(run_id))
    return [f[b"msg"].decode() for _, f in entries]


def lineage_updates(client: redis.Redis, keys: Keys, run_id: str) -> list[dict[str, Any]]:
    entries: Any = client.xrange(keys.updates)
    return [
        json.loads(f[b"doc"])
        for _, f in entries
        if f[b"kind"] == b"lineage" and f[b"id"].decode() == run_id
    ]


def test_completed_run_records_lineage_in_redis_and_parquet(
    stack: EmbeddedStack,
    stack_dirs: tuple[Path, Path],
    mirror: RedisMirror,
    commands: CommandClient,
    stack_redis: redis.Redis,
    stack_keys: Keys,
    tmp_path: Path,
) -> None:
    state, _ = stack_dirs
    source = ensure_demo_input(state)
    target = tmp_path / "out"
    result = send_and_wait(
        commands, "trigger", CANARY, {"source": str(source), "target": str(target)}
    )
    assert result.ok, result.message
    run = wait_run_final(mirror, result.flow_run_id)
    assert run["state_type"] == "COMPLETED", run["state_message"]

    doc = wait_for(lambda: mirror.read_lineage(run["id"]), 30, "the lineage doc")
    assert doc["status"] == "completed" and doc["deployment_name"] == CANARY
    assert doc["input"]["sha256"] == hashlib.sha256(source.read_bytes()).hexdigest()
    assert doc["input"]["size_bytes"] == source.stat().st_size
    assert doc["input"]["rows"] == 3000
    assert doc["input"]["min_timestamp"] < doc["input"]["max_timestamp"]
    assert doc["model"]["name"] == "scorer" and doc["model"]["version"] == "1.0.0"
    assert doc["model"]["requested"] == "scorer-v1" and len(doc["model"]["weights_hash"]) == 64
    assert doc["trigger"]["kind"] == "operator" and doc["trigger"]["operator"]
    assert doc["trigger"]["attempt"] == 1
    assert doc["parameters"]["target"] == str(target)
    outputs = doc["outputs"]
    assert len(outputs) == 3 and sum(o["rows"] for o in outputs) == 3000
    for output in outputs:
        assert pd.read_parquet(output["path"]).shape[0] == output["rows"]
        assert output["bytes"] > 0
    assert [t["name"] for t in doc["tasks"]] == list(TASKS)
    assert all(t["duration_s"] >= 0 for t in doc["tasks"])
    assert lineage_updates(stack_redis, stack_keys, run["id"])

    table = pd.read_parquet(state / "lineage")
    rows = table[table["flow_run_id"] == run["id"]]
    assert len(rows) == 3
    assert rows["output_rows"].sum() == 3000
    assert set(rows["input_sha256"]) == {doc["input"]["sha256"]}
    assert set(rows["model_version"]) == {"1.0.0"}


def test_retry_after_failed_save_reuses_cached_tasks_and_full_retry_reruns_all(
    stack: EmbeddedStack,
    stack_dirs: tuple[Path, Path],
    mirror: RedisMirror,
    commands: CommandClient,
    stack_redis: redis.Redis,
    stack_keys: Keys,
    tmp_path: Path,
) -> None:
    state, _ = stack_dirs
    # The demo batch with its rows reversed: same 3000 rows, different bytes and row order,
    # so no other test's run has filled the cache for it (same bytes would be a real hit).
    header, *lines = ensure_demo_input(state).read_text().splitlines()
    source = tmp_path / "batch.csv"
    source.write_text("\n".join([header, *reversed(lines)]) + "\n")
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where the output directory should be\n")
    target = blocker / "out"  # fails for root too: the parent is a regular file

    result = send_and_wait(
        commands, "trigger", PROD, {"source": str(source), "target": str(target)}
    )
    assert result.ok, result.message
    failed = wait_run_final(mirror, result.flow_run_id)
    run_id = failed["id"]
    assert failed["state_type"] == "FAILED"
    first = task_states(mirror, run_id, 1)
    assert first == {
        "load_raw_data": "Completed",
        "run_inference": "Completed",
        "save_results": "Failed",
    }
    failed_lineage = wait_for(lambda: mirror.read_lineage(run_id), 30, "lineage of the failure")
    assert failed_lineage["status"] == "failed" and failed_lineage["outputs"] == []

    blocker.unlink()  # fix the cause in place: now the directory can be created
    retry = send_and_wait(commands, "retry", run_id)
    assert retry.ok, retry.message
    wait_for(
        lambda: (d := mirror.read_flow_run(run_id)) and d["state_type"] == "COMPLETED" and d,
        90,
        "the retried run to complete",
    )
    second = task_states(mirror, run_id, 2)
    assert second == {
        "load_raw_data": "Cached",
        "run_inference": "Cached",
        "save_results": "Completed",
    }
    doc = wait_for(
        lambda: (d := mirror.read_lineage(run_id)) and d["trigger"]["attempt"] == 2 and d,
        30,
        "lineage of the retry",
    )
    assert doc["status"] == "completed" and doc["trigger"]["kind"] == "retry"
    assert doc["trigger"]["retry_requested_by"]
    assert {t["name"]: t["cache_hit"] for t in doc["tasks"]} == {
        "load_raw_data": True,
        "run_inference": True,
        "save_results": False,
    }
    assert sum(o["rows"] for o in doc["outputs"]) == 3000
    assert pd.read_parquet(target).shape[0] == 3000
    # The cached results live in the state dir the engine gave its runs.
    assert any(p.is_file() for p in (state / "results").iterdir())

    def counts() -> tuple[int, int, int] | None:
        msgs = log_messages(stack_redis, stack_keys, run_id)
        loaded = sum(m.startswith("Loaded 3000 rows") for m in msgs)
        scored = sum(m.startswith("Scored 3000 rows") for m in msgs)
        saved = sum(m.startswith("Saved 3000 records") for m in msgs)
        return (loaded, scored, saved) if saved >= 1 else None

    # The input was read and scored once over both attempts; only the save ran again.
    assert wait_for(counts, 30, "the save log line") == (1, 1, 1)

    full = send_and_wait(commands, "retry", run_id, {"refresh_cache": True})
    assert full.ok, full.message
    wait_for(
        lambda: (d := mirror.read_flow_run(run_id)) and d["run_count"] == 3 and d,
        90,
        "the full rerun to start",
    )
    done = wait_run_final(mirror, run_id)
    assert done["state_type"] == "COMPLETED", done["state_message"]
    third = task_states(mirror, run_id, 3)
    assert third == dict.fromkeys(TASKS, "Completed")
    assert wait_for(
        lambda: (c := counts()) and c[2] == 2 and c, 30, "the second save log line"
    ) == (2, 2, 2)

    # refresh_cache does not stick: the next plain retry uses the (refreshed) cache again.
    again = send_and_wait(commands, "retry", run_id)
    assert again.ok, again.message
    wait_for(
        lambda: (d := mirror.read_flow_run(run_id)) and d["run_count"] == 4 and d,
        90,
        "the fourth attempt to start",
    )
    assert wait_run_final(mirror, run_id)["state_type"] == "COMPLETED"
    assert task_states(mirror, run_id, 4) == {
        "load_raw_data": "Cached",
        "run_inference": "Cached",
        "save_results": "Completed",
    }

    def attempts() -> list[int] | None:
        table = pd.read_parquet(state / "lineage")
        seen = sorted(set(table.loc[table["flow_run_id"] == run_id, "attempt"]))
        return seen if seen and seen[-1] == 4 else None

    assert wait_for(attempts, 30, "the lineage row of attempt 4") == [1, 2, 3, 4]


def test_retry_rejects_unknown_or_malformed_params(
    stack: EmbeddedStack, commands: CommandClient
) -> None:
    # Parameters are checked before the run is looked up, so any id will do.
    result = send_and_wait(commands, "retry", "no-such-run", {"bogus": 1})
    assert not result.ok and "bogus" in result.message and "refresh_cache" in result.message
    result = send_and_wait(commands, "retry", "no-such-run", {"refresh_cache": "yes"})
    assert not result.ok and "true or false" in result.message
