"""The mirror's task-run writes keep the newest state of each task (real Redis)."""

from __future__ import annotations

import uuid

import redis

from engine.contract.documents import TaskRun
from engine.contract.keys import Keys
from engine.store.mirror import RedisMirror


def test_a_read_without_a_state_does_not_replace_a_task_s_state(
    redis_client: redis.Redis,
) -> None:
    mirror = RedisMirror(redis_client, Keys(f"upsert-{uuid.uuid4().hex[:6]}"))
    run = str(uuid.uuid4())
    done = TaskRun(
        id="t1", flow_run_id=run, state_type="COMPLETED", updated="2026-12-05T10:00:00+00:00"
    )
    stateless = TaskRun(id="t1", flow_run_id=run, updated="2026-12-05T10:00:02+00:00")
    assert mirror.upsert_task_runs([done]) == 1

    assert mirror.upsert_task_runs([stateless]) == 0
    assert mirror.read_task_runs(run)["t1"]["state_type"] == "COMPLETED"
    # A task Redis holds no state of yet is written, stateless or not.
    assert mirror.upsert_task_runs([TaskRun(id="t2", flow_run_id=run, updated=None)]) == 1
    later = TaskRun(
        id="t2", flow_run_id=run, state_type="RUNNING", updated="2026-12-05T10:00:03+00:00"
    )
    assert mirror.upsert_task_runs([later]) == 1
    assert mirror.read_task_runs(run)["t2"]["state_type"] == "RUNNING"
