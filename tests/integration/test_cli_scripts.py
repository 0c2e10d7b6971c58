"""`aiwf-engine trigger --watch`, `status` and `runs` against the real stack (Redis, Prefect
server, engine), run as subprocesses the way a script or cron job runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from engine.contract.command_client import CommandClient
from engine.stack.launcher import EmbeddedStack
from engine.store.mirror import RedisMirror
from tests.integration.conftest import wait_for
from tests.integration.test_backfill import cli  # `aiwf-engine ARGS` against the stack

PROD = "ai-inference-prod"
CANARY = "ai-inference-canary"


def cli_env(stack: EmbeddedStack) -> dict[str, str]:
    return os.environ | {"AIWF_REDIS_URL": stack.redis_url, "AIWF_REDIS_PREFIX": stack.prefix}


def one_json(done: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    doc = json.loads(done.stdout)
    assert doc["exit_code"] == done.returncode, doc
    return doc


def watch_blocked_run(
    stack: EmbeddedStack, state: Path, name: str, *extra: str
) -> tuple[subprocess.Popen[str], Path]:
    """`trigger --watch` of a run reading a FIFO with no writer: it stays Running until
    cancelled or fed."""
    fifo = state / name
    if not fifo.exists():
        os.mkfifo(fifo)
    watcher = subprocess.Popen(
        [sys.executable, "-m", "engine", "trigger", PROD, "-p", f"source={fifo}", "--watch",
         *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=cli_env(stack),
    )  # fmt: skip
    return watcher, fifo


def running_run(mirror: RedisMirror, fifo: Path) -> str | None:
    """The id of the mirrored run reading `fifo`, once it is Running."""
    for raw in mirror.client.hvals(mirror.keys.flow_runs):
        doc = json.loads(raw)
        if doc["parameters"].get("source") == str(fifo) and doc["state_type"] == "RUNNING":
            return str(doc["id"])
    return None


@dataclass
class Watched:
    completed: subprocess.CompletedProcess[str]
    failed: subprocess.CompletedProcess[str]


@pytest.fixture(scope="module")
def watched(stack: EmbeddedStack) -> Watched:
    """One prod run watched as text and one canary run (no batch: fails) watched as JSON."""
    return Watched(
        completed=cli(stack, "trigger", PROD, "--watch", "--wait", "60"),
        failed=cli(stack, "trigger", CANARY, "--watch", "--wait", "60", "--json"),
    )


async def test_watch_streams_the_log_and_exits_0_when_completed(
    watched: Watched, prefect_client: Any
) -> None:
    done = watched.completed
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    said = "\n".join(lines)
    assert lines[0].startswith(f"ok: triggered {PROD}: run ")
    name = lines[0].rsplit(" ", 1)[1]
    assert f"--- {name}: Running" in lines, said
    # Loaded, or reused from an earlier run of the same batch in this session (Cached).
    loaded = ("Loaded 3000 rows", "Finished in state Cached")
    assert any("load_raw_data" in ln and any(w in ln for w in loaded) for ln in lines), said
    assert any("save_results" in line and "Saved 3000 records" in line for line in lines), said
    assert lines[-1] == f"run {name} Completed", said
    # The outcome is Prefect's: the run it named is Completed there.
    runs = await prefect_client.read_flow_runs()
    assert [r.state.type.value for r in runs if r.name == name] == ["COMPLETED"]


async def test_watch_exits_1_when_the_run_fails_with_one_json_object(
    watched: Watched, prefect_client: Any
) -> None:
    done = watched.failed
    assert done.returncode == 1, done.stdout + done.stderr
    doc = one_json(done)
    assert doc["state_type"] == "FAILED" and doc["error"] == "run_failed"
    assert "canary_batch.csv" in doc["state_message"] and doc["log_lines"] > 0
    # With --json the log lines go to stderr, so stdout stays one object.
    assert "source file not found" in done.stderr
    run = await prefect_client.read_flow_run(doc["flow_run_id"])
    assert run.state.type.value == "FAILED"


async def test_watch_exits_4_when_another_client_cancels_the_run(
    stack: EmbeddedStack,
    stack_dirs: tuple[Path, Path],
    mirror: RedisMirror,
    commands: CommandClient,
    prefect_client: Any,
) -> None:
    watcher, fifo = watch_blocked_run(stack, stack_dirs[0], "watch-cancel.csv", "--json")
    try:
        run_id = wait_for(lambda: running_run(mirror, fifo), 90, "the watched run to be running")
        cancel = commands.send("cancel", run_id)
        out, err = watcher.communicate(timeout=180)
    finally:
        watcher.kill()
    assert watcher.returncode == 4, out + err
    doc = json.loads(out)
    assert doc["exit_code"] == 4 and doc["state_type"] == "CANCELLED"
    assert doc["flow_run_id"] == run_id and doc["error"] == "run_cancelled"
    assert "Cancelling" in err  # the state changes were streamed while watching
    assert (await prefect_client.read_flow_run(run_id)).state.type.value == "CANCELLED"
    final = commands.wait_final(cancel.id, 60)
    assert final is not None and final.ok, final


def test_status_reports_engine_redis_prefect_and_deployments(stack: EmbeddedStack) -> None:
    done = cli(stack, "status", "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    doc = one_json(done)
    assert doc["status"] == "ok" and doc["problems"] == []
    assert doc["engine"]["alive"] is True and doc["engine"]["deployments"] == 2
    assert doc["prefect"] == {"api_url": stack.api_url, "reachable": True, "http_status": 200}
    by_name = {d["name"]: d for d in doc["deployments"]}
    # The rest of the estate (other test engines' deployments on this Prefect) is listed too.
    assert {PROD, CANARY} <= set(by_name)
    assert by_name[PROD]["next_run"] and not by_name[PROD]["paused"]

    text = cli(stack, "status")
    assert text.returncode == 0, text.stderr
    assert (
        "engine    alive:" in text.stdout and f"prefect   {stack.api_url}: reachable" in text.stdout
    )


def test_runs_filters_by_deployment_state_and_age(stack: EmbeddedStack, watched: Watched) -> None:
    failed_id = one_json(watched.failed)["flow_run_id"]
    canary = one_json(
        cli(stack, "runs", "--deployment", CANARY, "--state", "failed", "--since", "1h", "--json")
    )
    assert failed_id in [r["id"] for r in canary["runs"]]
    assert {(r["deployment"], r["state_type"]) for r in canary["runs"]} == {(CANARY, "FAILED")}
    assert canary["complete"] is True and canary["source"] == "redis"

    completed = one_json(cli(stack, "runs", "-d", PROD, "-s", "completed,crashed", "--json"))
    assert completed["runs"] and {r["state_name"] for r in completed["runs"]} <= {"Completed"}
    assert one_json(cli(stack, "runs", "--since", "2026-01-01T00:00:00+00:00", "--json"))["runs"]

    # The same question asked of Prefect finds the same failed run.
    prefect = one_json(
        cli(
            stack, "runs", "-d", CANARY, "-s", "Failed", "--since", "1h", "--from-prefect", "--json"
        )
    )
    assert prefect["source"] == "prefect"
    assert failed_id in [r["id"] for r in prefect["runs"]]

    text = cli(stack, "runs", "-d", CANARY, "--state", "failed")
    assert text.returncode == 0 and failed_id in text.stdout and "Failed" in text.stdout


def test_unknown_deployment_is_one_json_error_from_the_engine(stack: EmbeddedStack) -> None:
    done = cli(stack, "trigger", "no-such-deployment", "--json")
    assert done.returncode == 1
    doc = one_json(done)
    assert doc["status"] == "error" and "unknown deployment 'no-such-deployment'" in doc["message"]
    assert doc["command_id"]


def test_watch_goes_on_through_a_redis_restart(
    stack: EmbeddedStack, stack_dirs: tuple[Path, Path], mirror: RedisMirror
) -> None:
    """Redis going away does not end the watch: the run goes on, and so does the watcher."""
    from tests.integration.test_restarts import restart_redis

    state, _ = stack_dirs
    watcher, fifo = watch_blocked_run(stack, state, "watch-restart.csv")
    try:
        wait_for(lambda: running_run(mirror, fifo), 90, "the watched run to be running")
        restart_redis(stack, empty=False)
        # The run was blocked reading the FIFO: feed it the demo batch, and it completes.
        batch = (state / "demo" / "input" / "daily_batch.csv").read_text()
        with open(fifo, "w") as writer:
            writer.write(batch)
        out, err = watcher.communicate(timeout=180)
    finally:
        watcher.kill()
    assert watcher.returncode == 0, out + err
    assert "lost Redis" in err and "Redis is back" in out
    assert "Saved 3000 records" in out and out.rstrip().endswith("Completed")


def test_ctrl_c_stops_watching_but_not_the_run(
    stack: EmbeddedStack,
    stack_dirs: tuple[Path, Path],
    mirror: RedisMirror,
    commands: CommandClient,
) -> None:
    import signal

    watcher, fifo = watch_blocked_run(stack, stack_dirs[0], "watch-interrupt.csv", "--json")
    try:
        run_id = wait_for(lambda: running_run(mirror, fifo), 90, "the watched run to be running")
        watcher.send_signal(signal.SIGINT)
        out, err = watcher.communicate(timeout=60)
    finally:
        watcher.kill()
    assert watcher.returncode == 130, out + err
    doc = json.loads(out)
    assert doc["error"] == "interrupted" and doc["flow_run_id"] == run_id
    assert f"aiwf-engine cancel {run_id}" in doc["message"]
    assert running_run(mirror, fifo) == run_id  # the run goes on without its watcher
    cancel = commands.send("cancel", run_id)
    final = commands.wait_final(cancel.id, 120)
    assert final is not None and final.ok, final
