"""A retried run's duration is its latest attempt: the engine mirrors when that attempt
began (`attempt_start_time`), as Prefect's state history says, and the console shows the
latest attempt with the total beside it instead of the wall time from the first start."""

from __future__ import annotations

import shutil
import time
from datetime import datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import msgspec
import pytest

from console.text.formatting import run_durations
from engine.contract.command_client import CommandClient
from engine.contract.documents import FlowRun
from engine.contract.times import parse_iso
from engine.store.mirror import RedisMirror
from tests.integration.conftest import send_and_wait, wait_for, wait_run_final

pytestmark = pytest.mark.integration

PROD = "ai-inference-prod"
GAP_SECONDS = 4.0
"""Between the failed attempt and the retry: wall time that is no attempt's."""


async def test_a_retried_run_mirrors_its_latest_attempts_start(
    stack_dirs: tuple[Path, Path],
    mirror: RedisMirror,
    commands: CommandClient,
    prefect_client: Any,
) -> None:
    _, config = stack_dirs
    model = "scorer-for-attempts"
    result = send_and_wait(commands, "trigger", PROD, {"model": model})
    assert result.ok, result.message
    failed = wait_run_final(mirror, result.flow_run_id)
    assert failed["state_type"] == "FAILED"
    first_end = parse_iso(failed["end_time"])
    assert first_end is not None
    time.sleep(GAP_SECONDS)  # setup: an idle gap before the retry, not a wait for a result

    shutil.copy(config / "models" / "scorer-v1.yaml", config / "models" / f"{model}.yaml")
    assert send_and_wait(commands, "retry", failed["id"]).ok

    def completed() -> dict[str, Any] | None:
        doc = mirror.read_flow_run(failed["id"])
        ok = doc and doc["state_type"] == "COMPLETED" and doc.get("attempt_start_time")
        return doc if ok else None

    done = wait_for(completed, 90, "the retried run to complete with its attempt start")
    assert done["run_count"] == 2
    attempt = parse_iso(done["attempt_start_time"])
    start, end = parse_iso(done["start_time"]), parse_iso(done["end_time"])
    assert attempt is not None and start is not None and end is not None
    assert attempt > first_end  # the retry's own start, after the idle gap
    # What Prefect says: the latest RUNNING state.
    states = await prefect_client.read_flow_run_states(UUID(failed["id"]))
    running = [s.timestamp for s in states if s.type.value == "RUNNING"]
    assert len(running) == 2
    assert abs((attempt - max(running)).total_seconds()) < 0.001

    durations = run_durations(msgspec.convert(done, FlowRun), datetime.now(attempt.tzinfo))
    assert durations.latest is not None and durations.total is not None
    assert durations.latest == pytest.approx((end - attempt).total_seconds())
    wall = (end - start).total_seconds()
    # Neither figure counts the idle gap; the total is Prefect's sum of both attempts.
    assert durations.latest < durations.total <= wall - GAP_SECONDS + 0.5
    run = await prefect_client.read_flow_run(UUID(failed["id"]))
    assert durations.total == pytest.approx(run.total_run_time.total_seconds(), abs=0.01)
