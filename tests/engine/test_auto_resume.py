"""The auto-resumer's bookkeeping in a real Redis (the Prefect side: tests/integration)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

import redis

from engine.config.registry import Registry
from engine.contract.keys import Keys
from engine.contract.pause_window import AutoResumeStore
from engine.serve.auto_resume import AutoResumer
from engine.store.off_loop import EngineStore


async def test_a_window_of_a_deployment_no_longer_served_is_dropped_and_audited(
    redis_client: redis.Redis, keys: Keys
) -> None:
    store = AutoResumeStore(redis_client, keys)
    now = datetime.now(timezone.utc)
    store.set("gone", now - timedelta(seconds=1))
    store.set("later", now + timedelta(hours=1))
    changed: list[str] = []
    resumer = AutoResumer(EngineStore.over(redis_client, keys), Registry(), changed.append)

    # No Prefect call is made for a deployment the engine does not serve.
    prefect: Any = None
    results = await resumer.resume_due(prefect, now)

    assert [(r.status, r.message.split(";")[0]) for r in results] == [
        ("error", "auto-resume: gone is not served by this engine any more")
    ]
    assert store.when("gone") is None
    assert store.when("later") is not None  # not due yet: untouched
    assert changed == ["gone"]
    entries: Any = redis_client.xrange(keys.audit)
    audit = [{k.decode(): v.decode() for k, v in fields.items()} for _, fields in entries]
    assert [(a["action"], a["target"], a["user"], a["status"]) for a in audit] == [
        ("resume", "gone", "engine", "error")
    ]
    assert json.loads(audit[0]["params"]) == {
        "auto_resume": (now - timedelta(seconds=1)).isoformat()
    }
