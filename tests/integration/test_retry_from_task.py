"""Retry from a chosen task on the real stack: which tasks reran, by task states and by the
mtimes of the persisted results and the parquet partitions."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from console.app import ConsoleApp
from console.screens.retry_confirm import RetryConfirmScreen
from console.screens.run import RunScreen
from engine.contract.command_client import CommandClient
from engine.contract.keys import Keys
from engine.pipeline.cache_keys import load_cache_key
from engine.pipeline.sample_data import ensure_demo_input
from engine.stack.launcher import EmbeddedStack
from engine.store.mirror import RedisMirror
from tests.console.conftest import wait_for as wait_pilot
from tests.integration.conftest import send_and_wait, wait_for, wait_run_final
from tests.integration.test_lineage import PROD, task_states

pytestmark = pytest.mark.integration


def mtimes(paths: list[Path]) -> dict[Path, int]:
    return {p: p.stat().st_mtime_ns for p in paths}


def parquet_files(target: Path) -> list[Path]:
    return sorted(target.rglob("*.parquet"))


def test_retry_from_run_inference_reuses_load_and_reruns_the_rest(
    stack: EmbeddedStack,
    stack_dirs: tuple[Path, Path],
    mirror: RedisMirror,
    commands: CommandClient,
    tmp_path: Path,
) -> None:
    state, _ = stack_dirs
    # The demo rows rotated by one: bytes no other test has cached.
    header, *lines = ensure_demo_input(state).read_text().splitlines()
    source = tmp_path / "batch.csv"
    source.write_text("\n".join([header, *lines[1:], lines[0]]) + "\n")
    target = tmp_path / "out"
    results = state / "results"
    results.mkdir(parents=True, exist_ok=True)
    before = {p.name for p in results.iterdir()}

    first = send_and_wait(commands, "trigger", PROD, {"source": str(source), "target": str(target)})
    assert first.ok, first.message
    run_id = first.flow_run_id
    assert wait_run_final(mirror, run_id)["state_type"] == "COMPLETED"
    assert task_states(mirror, run_id, 1) == dict.fromkeys(
        ("load_raw_data", "run_inference", "save_results"), "Completed"
    )
    # The two persisted results of this run: the load result is named by its cache key.
    load_result = results / str(load_cache_key(str(source)))
    assert load_result.is_file()
    new = [results / n for n in {p.name for p in results.iterdir()} - before]
    inference = [p for p in new if p.name.startswith("run_inference-")]
    assert len(inference) == 1, new
    inference_result = inference[0]
    parts = parquet_files(target)
    assert parts
    then = mtimes([load_result, inference_result, *parts])

    # Unknown task names are refused, naming the valid ones; nothing is retried.
    bad = send_and_wait(commands, "retry", run_id, {"from_task": "train"})
    assert not bad.ok
    assert "'train'" in bad.message and "load_raw_data, run_inference, save_results" in bad.message
    both = send_and_wait(
        commands, "retry", run_id, {"from_task": "run_inference", "refresh_cache": True}
    )
    assert not both.ok and "not both" in both.message

    retry = send_and_wait(commands, "retry", run_id, {"from_task": "run_inference"})
    assert retry.ok, retry.message
    assert "from run_inference" in retry.message
    wait_for(
        lambda: (d := mirror.read_flow_run(run_id)) and d["run_count"] == 2 and d,
        90,
        "the retry to start",
    )
    assert wait_run_final(mirror, run_id)["state_type"] == "COMPLETED"
    assert task_states(mirror, run_id, 2) == {
        "load_raw_data": "Cached",
        "run_inference": "Completed",
        "save_results": "Completed",
    }
    now = mtimes([load_result, inference_result])
    assert now[load_result] == then[load_result], "load_raw_data reran"
    assert now[inference_result] > then[inference_result], "run_inference did not rerun"
    newest_before = max(then[p] for p in parts)
    assert all(p.stat().st_mtime_ns > newest_before for p in parquet_files(target))
    assert pd.read_parquet(target).shape[0] == 3000

    doc = wait_for(
        lambda: (d := mirror.read_lineage(run_id)) and d["trigger"]["attempt"] == 2 and d,
        30,
        "lineage of the retry",
    )
    assert doc["parameters"]["from_task"] == "run_inference"
    assert {t["name"]: t["cache_hit"] for t in doc["tasks"]} == {
        "load_raw_data": True,
        "run_inference": False,
        "save_results": False,
    }
    assert all(o["schema"]["prediction"] == "double" for o in doc["outputs"])

    # from_task does not stick: a plain retry reuses both cached tasks again, through the
    # CLI this time.
    env = os.environ | {"AIWF_REDIS_URL": stack.redis_url}
    done = subprocess.run(
        [sys.executable, "-m", "engine", "retry", run_id],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    wait_for(
        lambda: (d := mirror.read_flow_run(run_id)) and d["run_count"] == 3 and d,
        90,
        "the third attempt to start",
    )
    assert wait_run_final(mirror, run_id)["state_type"] == "COMPLETED"
    assert task_states(mirror, run_id, 3)["run_inference"] == "Cached"
    assert inference_result.stat().st_mtime_ns == now[inference_result]


def test_cli_retry_from_task_reports_the_engine_refusal(stack: EmbeddedStack) -> None:
    env = os.environ | {"AIWF_REDIS_URL": stack.redis_url}
    done = subprocess.run(
        [sys.executable, "-m", "engine", "retry", "no-such-run", "--from-task", "run_inference"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert done.returncode == 1
    assert "no flow run 'no-such-run'" in done.stderr


async def test_console_retry_from_task_reruns_from_there(
    stack: EmbeddedStack,
    stack_dirs: tuple[Path, Path],
    stack_keys: Keys,
    mirror: RedisMirror,
    commands: CommandClient,
    tmp_path: Path,
) -> None:
    state, _ = stack_dirs
    header, *lines = ensure_demo_input(state).read_text().splitlines()
    source = tmp_path / "batch.csv"
    source.write_text("\n".join([header, *lines[2:], *lines[:2]]) + "\n")  # uncached bytes
    first = send_and_wait(
        commands, "trigger", PROD, {"source": str(source), "target": str(tmp_path / "out")}
    )
    assert first.ok, first.message
    run_id = first.flow_run_id
    assert wait_run_final(mirror, run_id)["state_type"] == "COMPLETED"
    wait_for(lambda: mirror.read_lineage(run_id), 30, "lineage")

    app = ConsoleApp(stack.redis_url, stack_keys, command_timeout=60)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_pilot(pilot, lambda: run_id in app.store.flow_runs, "the run", 20)
        await app.push_screen(RunScreen(app.ctx, run_id))
        await wait_pilot(pilot, lambda: run_id in app.store.lineage, "its lineage", 20)
        await pilot.press("r")
        await wait_pilot(pilot, lambda: isinstance(app.screen, RetryConfirmScreen), "dialog")
        assert isinstance(app.screen, RetryConfirmScreen)
        assert app.screen.tasks == ["load_raw_data", "run_inference", "save_results"]
        await pilot.press("3")  # save_results: both earlier tasks come from the cache
        await wait_pilot(
            pilot,
            lambda: (run := app.store.flow_runs.get(run_id)) is not None and run.run_count == 2,
            "the retry",
            60,
        )
    assert wait_run_final(mirror, run_id)["state_type"] == "COMPLETED"
    assert task_states(mirror, run_id, 2) == {
        "load_raw_data": "Cached",
        "run_inference": "Cached",
        "save_results": "Completed",
    }
    doc = wait_for(
        lambda: (d := mirror.read_lineage(run_id)) and d["trigger"]["attempt"] == 2 and d,
        30,
        "lineage of the retry",
    )
    assert doc["parameters"]["from_task"] == "save_results"
