"""The date a run computes, on the real stack: a deployment whose source is templated with
`{date:%Y-%m-%d}`, served by its own `aiwf-engine run` against the session's Redis and
Prefect. A 3-day backfill reads 3 inputs and writes 3 dates; a trigger with `--date` computes
that date; a run Prefect scheduled computes its fire time; retries keep the date."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pyarrow.parquet as pq
import pytest
import redis

from engine.contract.command_client import CommandClient
from engine.contract.documents import FINAL_STATE_TYPES
from engine.contract.keys import Keys
from engine.contract.paths import bundled_config_dir
from engine.pipeline.sample_data import generate_batch
from engine.stack.launcher import EmbeddedStack, EngineProcess
from engine.store.mirror import RedisMirror
from tests.integration.conftest import send_and_wait, wait_for, wait_run_final
from tests.integration.test_config_errors_run import prefect_deployments

pytestmark = pytest.mark.integration

ZONE = "America/New_York"
NEW_YORK = ZoneInfo(ZONE)
DEPLOYMENT = """\
name: {name}
version: "1"
schedule:
  cron: "0 6 * * *"
  timezone: {zone}
flow_name: ai-inference-pipeline
parameters:
  source: "{{state_dir}}/in/{{date:%Y-%m-%d}}/batch.csv"
  target: "{{state_dir}}/out"
"""


@dataclass
class Dated:
    name: str
    state: Path
    keys: Keys
    mirror: RedisMirror
    commands: CommandClient
    client: redis.Redis

    def batch(self, day: date, rows: int) -> None:
        """That day's input: `rows` rows, half of them late ones from the day before (a
        run partitioning by its rows' timestamps would write, and overwrite, two dates)."""
        path = self.state / "in" / day.isoformat() / "batch.csv"
        generate_batch(path, rows=rows, seed=rows, days=2, start=day - timedelta(days=1))

    def partition_rows(self, day: date) -> int:
        return pq.read_table(self.state / "out" / f"date={day.isoformat()}").num_rows

    def lineage(self, run_id: str, attempt: int = 1) -> dict[str, Any]:
        def recorded() -> dict[str, Any] | None:
            doc = self.mirror.read_lineage(run_id)
            return doc if doc and doc["trigger"]["attempt"] == attempt else None

        return wait_for(recorded, 60, f"lineage of attempt {attempt} of {run_id}")


@pytest.fixture(scope="module")
def dated(stack: EmbeddedStack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dated]:
    suffix = uuid.uuid4().hex[:6]
    root = tmp_path_factory.mktemp("dated")
    config, state = root / "config", root / "state"
    (config / "deployments").mkdir(parents=True)
    shutil.copytree(bundled_config_dir() / "models", config / "models")
    state.mkdir()
    name = f"dated-{suffix}"
    (config / "deployments" / "dated.yaml").write_text(DEPLOYMENT.format(name=name, zone=ZONE))
    keys = Keys(f"dated-{suffix}")
    engine = EngineProcess(
        state_dir=state,
        redis_url=stack.redis_url,
        api_url=stack.api_url,
        config_dir=config,
        prefix=keys.prefix,
    )
    client = redis.Redis.from_url(stack.redis_url)
    try:
        engine.start(timeout=120)
        mirror = RedisMirror(client, keys)
        wait_for(lambda: mirror.read_deployment(name), 60, "the dated deployment")
        yield Dated(name, state, keys, mirror, CommandClient(client, keys), client)
    finally:
        engine.stop()
        asyncio.run(prefect_deployments(stack, suffix, delete=True))
        client.delete(*client.keys(f"{keys.prefix}:*") or ["-"])
        client.close()


def days_ago(n: int) -> date:
    return (datetime.now(NEW_YORK) - timedelta(days=n)).date()


def test_a_three_day_backfill_writes_three_dates_from_three_inputs(dated: Dated) -> None:
    days = [days_ago(n) for n in (22, 21, 20)]
    for i, day in enumerate(days):
        dated.batch(day, rows=11 + i)
    start = datetime(days[0].year, days[0].month, days[0].day, tzinfo=NEW_YORK)
    fires = [datetime(d.year, d.month, d.day, 6, tzinfo=NEW_YORK).isoformat() for d in days]

    result = send_and_wait(
        dated.commands,
        "backfill",
        dated.name,
        {"start": start.isoformat(), "end": (start + timedelta(days=3)).isoformat()},
    )
    assert result.ok and "3 run(s)" in result.message, result.message

    def finished() -> list[dict[str, Any]] | None:
        ids: list[bytes] = dated.client.hkeys(dated.keys.flow_runs)  # type: ignore[assignment]
        runs = [dated.mirror.read_flow_run(i.decode()) for i in ids]
        mine = [r for r in runs if r and any(t.startswith("backfill:") for t in r["tags"])]
        done = [r for r in mine if r["state_type"] in FINAL_STATE_TYPES]
        return done if len(done) == 3 else None

    runs = wait_for(finished, 180, "three finished backfill runs")
    assert {r["state_type"] for r in runs} == {"COMPLETED"}, [r["state_message"] for r in runs]
    by_fire = {next(t for t in r["tags"] if t.startswith("backfill:"))[9:]: r for r in runs}
    assert sorted(by_fire) == fires

    for i, (day, fire) in enumerate(zip(days, fires, strict=True)):
        run = by_fire[fire]
        assert run["parameters"]["logical_date"] == fire
        doc = dated.lineage(run["id"])
        assert doc["trigger"]["logical_date"] == fire
        assert doc["parameters"]["logical_date"] == fire
        expected_input = str(dated.state / "in" / day.isoformat() / "batch.csv")
        assert doc["input"]["path"] == doc["parameters"]["source"] == expected_input
        assert doc["input"]["rows"] == 11 + i
        assert [o["path"] for o in doc["outputs"]] == [
            str(dated.state / "out" / f"date={day.isoformat()}")
        ]
        assert dated.partition_rows(day) == 11 + i
    assert sorted(
        p.name for p in (dated.state / "out").iterdir() if p.name.startswith("date=")
    ) == [f"date={d.isoformat()}" for d in days]


def test_a_trigger_with_date_computes_that_date_and_its_retry_keeps_it(
    stack: EmbeddedStack, dated: Dated
) -> None:
    day = days_ago(40)
    dated.batch(day, rows=7)
    cli = subprocess.run(
        [
            sys.executable,
            "-m",
            "engine",
            "trigger",
            dated.name,
            "--date",
            day.isoformat(),
            "--prefix",
            dated.keys.prefix,
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env=os.environ | {"AIWF_REDIS_URL": stack.redis_url},
    )
    assert cli.returncode == 0, cli.stderr
    run_id = _result_run_id(cli.stdout)
    assert wait_run_final(dated.mirror, run_id)["state_type"] == "COMPLETED"
    midnight = datetime(day.year, day.month, day.day, tzinfo=NEW_YORK).isoformat()
    first = dated.lineage(run_id)
    assert first["trigger"]["logical_date"] == midnight
    assert first["input"]["rows"] == 7 and dated.partition_rows(day) == 7

    retried = send_and_wait(dated.commands, "retry", run_id)
    assert retried.ok, retried.message
    second = dated.lineage(run_id, attempt=2)
    assert second["status"] == "completed"
    assert second["trigger"]["logical_date"] == midnight
    assert second["input"]["path"] == first["input"]["path"]


def test_a_bad_date_is_refused_and_nothing_starts(dated: Dated) -> None:
    before = dated.client.hlen(dated.keys.flow_runs)
    result = send_and_wait(dated.commands, "trigger", dated.name, {"logical_date": "2026-02-30"})
    assert not result.ok
    assert (
        "'2026-02-30' is not a date" in result.message and "nothing was started" in result.message
    )
    assert dated.client.hlen(dated.keys.flow_runs) == before


async def test_a_run_prefect_scheduled_computes_its_fire_time_also_when_retried(
    dated: Dated, prefect_client: Any
) -> None:
    from prefect.states import Scheduled

    day = days_ago(50)
    dated.batch(day, rows=5)
    fire = datetime(day.year, day.month, day.day, 6, tzinfo=NEW_YORK)
    deployment = await prefect_client.read_deployment_by_name(f"ai-inference-pipeline/{dated.name}")
    # What Prefect's scheduler creates: a Scheduled run at the fire time, with the
    # deployment's own parameters (no logical_date).
    run = await prefect_client.create_flow_run_from_deployment(
        deployment.id, state=Scheduled(scheduled_time=fire)
    )
    run_id = str(run.id)
    final = await asyncio.to_thread(wait_run_final, dated.mirror, run_id)
    assert final["state_type"] == "COMPLETED", final["state_message"]
    assert "logical_date" not in (final["parameters"] or {})
    first = await asyncio.to_thread(dated.lineage, run_id)
    assert first["trigger"]["logical_date"] == fire.isoformat()
    assert first["input"]["rows"] == 5 and dated.partition_rows(day) == 5

    retried = await asyncio.to_thread(send_and_wait, dated.commands, "retry", run_id)
    assert retried.ok, retried.message
    second = await asyncio.to_thread(partial(dated.lineage, run_id, attempt=2))
    assert second["trigger"]["logical_date"] == fire.isoformat()
    assert second["outputs"][0]["path"].endswith(f"date={day.isoformat()}")


def _result_run_id(stdout: str) -> str:
    import json

    doc = json.loads(stdout)
    run_id = doc.get("flow_run_id")
    assert run_id, doc
    return str(run_id)
