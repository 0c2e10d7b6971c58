"""A retried flow run's latest attempt: when it began, as the engine mirrors it.

Prefect keeps the first attempt's `start_time` and sums every attempt in
`total_run_time`; the console shows the latest attempt, so the engine records
`attempt_start_time` (docs/redis-keys.md).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any
from uuid import uuid4

import redis
from prefect.client.schemas.objects import FlowRun, State, StateType

from engine.bridge.documents import attempt_start, flow_run_doc, latest_attempt_start
from engine.contract.keys import Keys
from engine.store.mirror import RedisMirror

T0 = datetime(2026, 11, 25, 8, 0, tzinfo=timezone.utc)


def _at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def _state(kind: StateType, minutes: float) -> State[Any]:
    return State(type=kind, timestamp=_at(minutes))


def _run(kind: StateType, minutes: float, run_count: int) -> FlowRun:
    return FlowRun(
        id=uuid4(),
        name="brave-otter",
        flow_id=uuid4(),
        state=_state(kind, minutes),
        run_count=run_count,
        start_time=_at(0),  # type: ignore[arg-type]  # pydantic takes a datetime
    )


def test_the_latest_attempt_starts_at_its_running_state() -> None:
    states = [
        _state(StateType.SCHEDULED, -1),
        _state(StateType.PENDING, -0.5),
        _state(StateType.RUNNING, 0),
        _state(StateType.FAILED, 2),
        _state(StateType.SCHEDULED, 600),  # retried ten hours later
        _state(StateType.PENDING, 600.5),
        _state(StateType.RUNNING, 601),
        _state(StateType.PAUSED, 602),
        _state(StateType.RUNNING, 610),  # a resume: the same attempt
        _state(StateType.COMPLETED, 612),
    ]
    assert latest_attempt_start(reversed(states)) == _at(601)
    assert latest_attempt_start(states[:2]) is None


def test_the_document_says_when_it_can_tell() -> None:
    assert attempt_start(_run(StateType.RUNNING, 601, 2)) == _at(601).isoformat()
    assert attempt_start(_run(StateType.COMPLETED, 5, 1)) == _at(0).isoformat()
    # A finished retry: only the state history knows (the bridge reads it).
    assert attempt_start(_run(StateType.COMPLETED, 612, 2)) is None
    assert flow_run_doc(_run(StateType.RUNNING, 601, 2), "prod").attempt_start_time == (
        _at(601).isoformat()
    )


def _doc(
    state: str, run_count: int, attempt_start: datetime | None, updated: float
) -> dict[str, Any]:
    return {
        "id": "run-1",
        "state_type": state,
        "run_count": run_count,
        "start_time": _at(0).isoformat(),
        "attempt_start_time": attempt_start.isoformat() if attempt_start else None,
        "updated": _at(updated).isoformat(),
    }


def test_the_mirror_keeps_an_attempts_start_until_the_next_attempt(
    redis_client: redis.Redis, keys: Keys
) -> None:
    mirror = RedisMirror(redis_client, keys)
    mirror.upsert_flow_run(_doc("RUNNING", 2, _at(601), 601))
    # The final read of the same attempt does not carry it; the mirror keeps it.
    mirror.upsert_flow_run(_doc("COMPLETED", 2, None, 612))
    stored = mirror.read_flow_run("run-1")
    assert stored is not None and stored["attempt_start_time"] == _at(601).isoformat()
    # A resume's later RUNNING time is the same attempt: the first one stays.
    mirror.upsert_flow_run(_doc("RUNNING", 2, _at(610), 613))
    stored = mirror.read_flow_run("run-1")
    assert stored is not None and stored["attempt_start_time"] == _at(601).isoformat()
    # The next attempt brings its own.
    mirror.upsert_flow_run(_doc("RUNNING", 3, _at(900), 900))
    stored = mirror.read_flow_run("run-1")
    assert stored is not None and stored["attempt_start_time"] == _at(900).isoformat()
