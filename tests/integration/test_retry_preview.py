"""The retry preview tells the truth: for each way a run can end, the dialog's Reused and
Rerun lists (computed from the mirrored docs exactly as the console computes them) are the
tasks Prefect then reports Cached and run in the retry's attempt.

Every case fixes what broke before retrying, as an operator would, so the retry reaches
every task and each one's state can be compared.
"""

from __future__ import annotations

import os
import shutil
import signal
import time
from pathlib import Path
from typing import Any

import msgspec
import pytest

from console.app import ConsoleApp
from console.screens.retry_confirm import (
    RetryConfirmScreen,
    RetryPreviews,
    preview,
    retry_previews,
)
from console.screens.run import RunScreen
from engine.contract.command_client import CommandClient
from engine.contract.documents import FlowRun, Lineage, TaskRun
from engine.contract.keys import Keys
from engine.contract.retry_plan import INFERENCE_TASKS, RetryPlan
from engine.pipeline.sample_data import ensure_demo_input
from engine.stack.launcher import EmbeddedStack
from engine.store.mirror import RedisMirror
from tests.console.conftest import wait_for as wait_pilot
from tests.integration.conftest import send_and_wait, wait_for, wait_run_final
from tests.integration.test_lineage import PROD

pytestmark = pytest.mark.integration

TASKS = INFERENCE_TASKS.order


def write_batch(state: Path, path: Path, offset: int) -> Path:
    """The demo rows rotated by `offset`: rows no other test scored, so run_inference has
    no cached result from elsewhere (offsets 1 and 2 are test_retry_from_task's)."""
    header, *lines = ensure_demo_input(state).read_text().splitlines()
    path.write_text("\n".join([header, *lines[offset:], *lines[:offset]]) + "\n")
    return path


def docs(mirror: RedisMirror, run_id: str) -> tuple[FlowRun, Lineage | None, list[TaskRun]]:
    """The run, its lineage and task runs, typed as the console decodes them."""
    run = mirror.read_flow_run(run_id)
    assert run is not None
    lineage = mirror.read_lineage(run_id)
    tasks = [msgspec.convert(t, TaskRun) for t in mirror.read_task_runs(run_id).values()]
    typed = msgspec.convert(lineage, Lineage) if lineage is not None else None
    return msgspec.convert(run, FlowRun), typed, tasks


def console_previews(mirror: RedisMirror, run_id: str) -> RetryPreviews:
    """What the run screen's `r` shows (console/screens/run.py passes the same docs)."""
    return retry_previews(*docs(mirror, run_id))


def wait_lineage(mirror: RedisMirror, run_id: str, attempt: int) -> None:
    wait_for(
        lambda: (d := mirror.read_lineage(run_id)) and d["trigger"]["attempt"] == attempt,
        30,
        f"lineage of attempt {attempt}",
    )


def attempt_outcome(mirror: RedisMirror, run_id: str, attempt: int) -> RetryPlan:
    """(Cached, ran) task names of attempt `attempt`, as Prefect reported its task runs."""

    def settled() -> dict[str, dict[str, Any]] | None:
        runs = [d for d in mirror.read_task_runs(run_id).values() if d.get("attempt") == attempt]
        by_name = {d["name"].rsplit("-", 1)[0]: d for d in runs}
        done = all(by_name.get(t, {}).get("state_type") == "COMPLETED" for t in TASKS)
        return by_name if done and len(runs) == len(TASKS) else None

    by_name = wait_for(settled, 60, f"the task runs of attempt {attempt}")
    cached = tuple(t for t in TASKS if by_name[t]["state_name"] == "Cached")
    ran = tuple(t for t in TASKS if by_name[t]["state_name"] == "Completed")
    assert set(cached) | set(ran) == set(TASKS), {t: by_name[t]["state_name"] for t in TASKS}
    return RetryPlan(cached, ran)


def retry_and_compare(
    commands: CommandClient,
    mirror: RedisMirror,
    run_id: str,
    promised: RetryPlan | None,
    params: dict[str, Any] | None = None,
) -> RetryPlan:
    """Retries through the Redis command path, waits for the attempt to finish and asserts
    that Prefect's task states are what the preview promised."""
    assert promised is not None
    before = mirror.read_flow_run(run_id)
    assert before is not None
    attempt = int(before["run_count"]) + 1
    result = send_and_wait(commands, "retry", run_id, params or {})
    assert result.ok, result.message
    wait_for(
        lambda: (d := mirror.read_flow_run(run_id)) and d["run_count"] == attempt,
        90,
        f"attempt {attempt} to start",
    )
    final = wait_run_final(mirror, run_id)
    assert final["state_type"] == "COMPLETED", final["state_message"]
    outcome = attempt_outcome(mirror, run_id, attempt)
    assert outcome == promised, f"preview {promised}, Prefect did {outcome}"
    wait_lineage(mirror, run_id, attempt)
    return outcome


def trigger(commands: CommandClient, mirror: RedisMirror, **params: str) -> str:
    result = send_and_wait(commands, "trigger", PROD, params)
    assert result.ok, result.message
    return str(result.flow_run_id)


def trigger_final(commands: CommandClient, mirror: RedisMirror, state: str, **params: str) -> str:
    run_id = trigger(commands, mirror, **params)
    done = wait_run_final(mirror, run_id)
    assert done["state_type"] == state, done["state_message"]
    return run_id


def test_failed_at_load_raw_data_reruns_everything(
    stack_dirs: tuple[Path, Path], mirror: RedisMirror, commands: CommandClient, tmp_path: Path
) -> None:
    state, _ = stack_dirs
    source = tmp_path / "late.csv"  # the upstream batch has not landed
    run_id = trigger_final(
        commands, mirror, "FAILED", source=str(source), target=str(tmp_path / "out")
    )
    wait_lineage(mirror, run_id, 1)
    promised = console_previews(mirror, run_id).retry
    assert promised == RetryPlan((), TASKS)
    write_batch(state, source, 101)  # it lands
    retry_and_compare(commands, mirror, run_id, promised)


def test_failed_at_run_inference_reuses_the_load(
    stack_dirs: tuple[Path, Path], mirror: RedisMirror, commands: CommandClient, tmp_path: Path
) -> None:
    state, config = stack_dirs
    model = tmp_path / "scorer.yaml"  # not there yet: run_inference fails
    run_id = trigger_final(
        commands,
        mirror,
        "FAILED",
        source=str(write_batch(state, tmp_path / "b.csv", 102)),
        target=str(tmp_path / "out"),
        model=str(model),
    )
    wait_lineage(mirror, run_id, 1)
    promised = console_previews(mirror, run_id).retry
    assert promised == RetryPlan(("load_raw_data",), ("run_inference", "save_results"))
    shutil.copy(config / "models" / "scorer-v1.yaml", model)
    retry_and_compare(commands, mirror, run_id, promised)


def test_failed_at_save_results_reuses_load_and_inference(
    stack_dirs: tuple[Path, Path], mirror: RedisMirror, commands: CommandClient, tmp_path: Path
) -> None:
    state, _ = stack_dirs
    target = tmp_path / "out"
    target.write_text("a file where the partitions should go\n")
    run_id = trigger_final(
        commands,
        mirror,
        "FAILED",
        source=str(write_batch(state, tmp_path / "b.csv", 103)),
        target=str(target),
    )
    wait_lineage(mirror, run_id, 1)
    promised = console_previews(mirror, run_id).retry
    assert promised == RetryPlan(("load_raw_data", "run_inference"), ("save_results",))
    target.unlink()
    retry_and_compare(commands, mirror, run_id, promised)
    assert any(target.rglob("*.parquet"))


async def test_completed_run_then_from_each_task_then_full_rerun(
    stack: EmbeddedStack,
    stack_keys: Keys,
    stack_dirs: tuple[Path, Path],
    mirror: RedisMirror,
    commands: CommandClient,
    tmp_path: Path,
) -> None:
    state, _ = stack_dirs
    run_id = trigger_final(
        commands,
        mirror,
        "COMPLETED",
        source=str(write_batch(state, tmp_path / "b.csv", 104)),
        target=str(tmp_path / "out"),
    )
    wait_lineage(mirror, run_id, 1)
    # The bug this guards: save_results was listed as reused, then reran.
    promised = console_previews(mirror, run_id).retry
    assert promised == RetryPlan(("load_raw_data", "run_inference"), ("save_results",))
    # The dialog itself shows the same lists (the console's own store and screen).
    app = ConsoleApp(stack.redis_url, stack_keys, command_timeout=60)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_pilot(pilot, lambda: run_id in app.store.flow_runs, "the run", 20)
        await app.push_screen(RunScreen(app.ctx, run_id))
        await wait_pilot(pilot, lambda: len(app.store.tasks_of(run_id)) == 3, "its tasks", 20)
        await pilot.press("r")
        await wait_pilot(pilot, lambda: isinstance(app.screen, RetryConfirmScreen), "dialog")
        dialog = app.screen
        assert isinstance(dialog, RetryConfirmScreen)
        assert (tuple(dialog.reused), tuple(dialog.rerun)) == (promised.reused, promised.rerun)
        await pilot.press("escape")
    retry_and_compare(commands, mirror, run_id, promised)

    for task in TASKS:
        promised = console_previews(mirror, run_id).from_task[task]
        assert promised.rerun == TASKS[TASKS.index(task) :]
        retry_and_compare(commands, mirror, run_id, promised, {"from_task": task})

    full = preview(*_flow_and_docs(mirror, run_id), refresh_cache=True)
    assert full == RetryPlan((), TASKS)
    retry_and_compare(commands, mirror, run_id, full, {"refresh_cache": True})


def _flow_and_docs(mirror: RedisMirror, run_id: str) -> tuple[str, Lineage | None, list[TaskRun]]:
    run, lineage, task_runs = docs(mirror, run_id)
    return run.flow_name, lineage, task_runs


def _blocked_in_run_inference(
    state: Path, mirror: RedisMirror, commands: CommandClient, tmp_path: Path, offset: int
) -> tuple[str, Path]:
    """A run that finished load_raw_data and is stuck in run_inference: its model is a
    FIFO nobody writes, so reading it blocks. Returns (run id, model path)."""
    model = tmp_path / "stuck.yaml"
    os.mkfifo(model)
    run_id = trigger(
        commands,
        mirror,
        source=str(write_batch(state, tmp_path / "b.csv", offset)),
        target=str(tmp_path / "out"),
        model=str(model),
    )

    def load_done() -> bool:
        runs = mirror.read_task_runs(run_id).values()
        return any(
            d["name"].startswith("load_raw_data") and d["state_type"] == "COMPLETED" for d in runs
        )

    wait_for(load_done, 90, "load_raw_data to finish")
    doc = mirror.read_flow_run(run_id)
    assert doc is not None and doc["state_type"] == "RUNNING"
    return run_id, model


def _fix_model(config: Path, model: Path) -> None:
    model.unlink()  # the FIFO
    shutil.copy(config / "models" / "scorer-v1.yaml", model)


def test_cancelled_in_run_inference_reuses_the_load(
    stack_dirs: tuple[Path, Path], mirror: RedisMirror, commands: CommandClient, tmp_path: Path
) -> None:
    state, config = stack_dirs
    run_id, model = _blocked_in_run_inference(state, mirror, commands, tmp_path, 105)
    cancel = send_and_wait(commands, "cancel", run_id)
    assert cancel.ok, cancel.message
    assert wait_run_final(mirror, run_id, timeout=120)["state_type"] == "CANCELLED"
    promised = console_previews(mirror, run_id).retry
    assert promised == RetryPlan(("load_raw_data",), ("run_inference", "save_results"))
    _fix_model(config, model)
    retry_and_compare(commands, mirror, run_id, promised)


def flow_run_processes(run_id: str) -> list[int]:
    """Pids of the processes the runner started for flow run `run_id` (Linux /proc)."""
    marker = f"PREFECT__FLOW_RUN_ID={run_id}".encode()
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if marker in environ.split(b"\0"):
            pids.append(int(entry.name))
    return pids


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs Linux /proc")
def test_crashed_in_run_inference_reuses_the_load(
    stack_dirs: tuple[Path, Path], mirror: RedisMirror, commands: CommandClient, tmp_path: Path
) -> None:
    state, config = stack_dirs
    run_id, model = _blocked_in_run_inference(state, mirror, commands, tmp_path, 106)
    pids = wait_for(lambda: flow_run_processes(run_id), 30, "the flow run's process")
    # The process dies without a word, as on an OOM kill: Prefect calls that Crashed.
    for pid in pids:
        os.kill(pid, signal.SIGKILL)
    started = time.monotonic()
    done = wait_run_final(mirror, run_id, timeout=120)
    assert done["state_type"] == "CRASHED", (done, time.monotonic() - started)
    promised = console_previews(mirror, run_id).retry
    assert promised == RetryPlan(("load_raw_data",), ("run_inference", "save_results"))
    _fix_model(config, model)
    retry_and_compare(commands, mirror, run_id, promised)
