"""`aiwf-engine validate` and `aiwf-engine run` agree on what is valid: a deployment whose
cron never fires (30 February) is refused by both, with the same error, and `run` serves the
other deployments (before, it registered it and then exited on its next fire time)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import redis

from engine.contract.keys import Keys
from engine.stack.launcher import EmbeddedStack, EngineProcess
from engine.store.mirror import RedisMirror
from tests.integration.conftest import wait_for

pytestmark = pytest.mark.integration

FLOW = "ai-inference-pipeline"
TEMPLATE = """\
name: {name}
version: "1"
schedule:
  cron: "{cron}"
flow_name: ai-inference-pipeline
parameters:
  source: "{{state_dir}}/in.csv"
  target: "{{state_dir}}/out"
"""


def test_a_cron_that_never_fires_is_refused_by_validate_and_skipped_by_run(
    stack: EmbeddedStack, tmp_path: Path
) -> None:
    suffix = uuid.uuid4().hex[:6]
    good_name, never_name = f"cfg-good-{suffix}", f"cfg-never-{suffix}"
    config = tmp_path / "config"
    (config / "deployments").mkdir(parents=True)
    # 29 February: valid, and it will not fire while the other tests run.
    good = config / "deployments" / "a-good.yaml"
    good.write_text(TEMPLATE.format(name=good_name, cron="0 0 29 2 *"))
    never = config / "deployments" / "b-never.yaml"
    never.write_text(TEMPLATE.format(name=never_name, cron="0 0 30 2 *"))
    expected = (
        f"{never}:4: schedule.cron: '0 0 30 2 *' never fires: no date matches its "
        "day-of-month and month (such as 30 February, or 31 April); fix the day or the month"
    )

    validate = subprocess.run(
        [sys.executable, "-m", "engine", "validate", "--config", str(config)],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        timeout=120,
    )
    assert validate.returncode == 1, validate
    assert validate.stderr.splitlines()[0] == f"error: {expected}"
    assert f"ok: {good}: {good_name}" in validate.stdout

    keys = Keys(f"cfgerr-{suffix}")
    engine = EngineProcess(
        state_dir=tmp_path / "state",
        redis_url=stack.redis_url,
        api_url=stack.api_url,
        config_dir=config,
        prefix=keys.prefix,
    )
    (tmp_path / "state").mkdir()
    client = redis.Redis.from_url(stack.redis_url)
    try:
        engine.start(timeout=120)  # raises if the engine exits before its first heartbeat
        mirror = RedisMirror(client, keys)
        doc = wait_for(lambda: mirror.read_deployment(good_name), 60, "the good deployment")
        assert len(doc["next_fire_times"]) == 5
        assert doc["next_fire_times"][0].startswith("2028-02-29")
        raw = client.get(keys.heartbeat)
        assert raw is not None
        beat = json.loads(raw)
        assert beat["config_errors"] == [expected]
        assert beat["deployments"] == 1
        assert mirror.read_deployment(never_name) is None
        assert engine.proc is not None and engine.proc.poll() is None, "the engine exited"
        assert asyncio.run(prefect_deployments(stack, suffix)) == [good_name]
    finally:
        engine.stop()
        asyncio.run(prefect_deployments(stack, suffix, delete=True))
        client.delete(*client.keys(f"{keys.prefix}:*") or ["-"])
        client.close()


async def prefect_deployments(stack: EmbeddedStack, suffix: str, delete: bool = False) -> list[str]:
    """This test's deployments in the shared Prefect server (deleted with `delete`)."""
    from prefect.client.orchestration import PrefectClient
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterName

    async with PrefectClient(api=stack.api_url) as prefect:
        found = await prefect.read_deployments(
            deployment_filter=DeploymentFilter(name=DeploymentFilterName(like_=suffix))
        )
        if delete:
            for deployment in found:
                await prefect.delete_deployment(deployment.id)
        return sorted(d.name for d in found)
