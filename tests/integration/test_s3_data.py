"""s3:// sources and targets end to end: moto's S3 server as a real process on loopback, the
real engine (`aiwf-engine run` with the S3 endpoint in its environment, the way a deployment
names one), Prefect and Redis. The batch is read from the bucket, partitions are written to
it, lineage keeps the URL as written with the object's ETag and size, an unchanged object
hits the cache and a changed one misses it; a missing key fails at once; a 503 or a dropped
connection (injected by a proxy in front of moto) is retried."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import redis

from engine.contract.command_client import CommandClient
from engine.contract.keys import Keys
from engine.pipeline.sample_data import ensure_demo_input
from engine.stack.launcher import EmbeddedStack, EngineProcess
from engine.store.mirror import RedisMirror
from tests.integration.conftest import TEST_ENGINE_ENV, send_and_wait, wait_for, wait_run_final
from tests.s3_server import FaultProxy, moto_server

pytestmark = pytest.mark.integration

BUCKET = "ai-data"
DEPLOYMENT = f"s3-batch-{uuid.uuid4().hex[:6]}"
SOURCE = f"s3://{BUCKET}/production/daily_batch.csv"
TARGET = f"s3://{BUCKET}/out"
CREDENTIALS = {
    # moto accepts any key; these are the standard variables botocore (under s3fs) reads.
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}
DEPLOYMENT_FILE = f"""\
name: {DEPLOYMENT}
version: "1"
schedule:
  cron: "0 0 29 2 *"
flow_name: ai-inference-pipeline
parameters:
  source: "{SOURCE}"
  target: "{TARGET}"
  model: scorer-v1
"""


@dataclass
class S3Engine:
    fs: Any
    """s3fs straight to moto (not through the proxy): the test's own view of the bucket."""
    proxy: FaultProxy
    mirror: RedisMirror
    commands: CommandClient
    state_dir: Path


@pytest.fixture(scope="module")
def s3_engine(stack: EmbeddedStack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Engine]:
    import s3fs

    root = tmp_path_factory.mktemp("s3")
    config, state = root / "config", root / "state"
    (config / "deployments").mkdir(parents=True)
    state.mkdir()
    (config / "deployments" / "s3-batch.yaml").write_text(DEPLOYMENT_FILE)
    models = Path(__file__).resolve().parents[2] / "config" / "models"
    (config / "models").mkdir()
    for model in models.glob("*.yaml"):
        (config / "models" / model.name).write_text(model.read_text())
    keys = Keys(f"s3-{uuid.uuid4().hex[:6]}")
    client = redis.Redis.from_url(stack.redis_url)
    with moto_server() as endpoint, FaultProxy(endpoint).serving() as proxy:
        fs = s3fs.S3FileSystem(
            key="testing", secret="testing", endpoint_url=endpoint, use_listings_cache=False
        )
        fs.mkdir(BUCKET)
        engine = EngineProcess(
            state_dir=state,
            redis_url=stack.redis_url,
            api_url=stack.api_url,
            config_dir=config,
            prefix=keys.prefix,
            extra_env=CREDENTIALS
            | TEST_ENGINE_ENV
            | {
                "AWS_ENDPOINT_URL_S3": proxy.url,
                # One HTTP attempt per call, so an injected 503 reaches the task instead of
                # being absorbed by botocore's own retries (production keeps its default).
                "AWS_MAX_ATTEMPTS": "1",
            },
        )
        engine.start(timeout=120)
        try:
            yield S3Engine(fs, proxy, RedisMirror(client, keys), CommandClient(client, keys), state)
        finally:
            engine.stop()
            client.delete(*client.keys(f"{keys.prefix}:*") or ["-"])
            client.close()


def run_to_end(engine: S3Engine, params: dict[str, Any] | None = None) -> dict[str, Any]:
    result = send_and_wait(engine.commands, "trigger", DEPLOYMENT, params, timeout=90)
    assert result.ok, result.message
    return wait_run_final(engine.mirror, result.flow_run_id, timeout=180)


def lineage_of(engine: S3Engine, run_id: str) -> dict[str, Any]:
    return wait_for(lambda: engine.mirror.read_lineage(run_id), 30, "the lineage doc")


def task_named(engine: S3Engine, run_id: str, name: str) -> dict[str, Any]:
    docs = engine.mirror.read_task_runs(run_id).values()
    return next(d for d in docs if d["name"].rsplit("-", 1)[0] == name)


def test_a_batch_on_s3_is_read_written_fingerprinted_and_cached_by_its_etag(
    s3_engine: S3Engine, stack_dirs: tuple[Path, Path]
) -> None:
    fs, key = s3_engine.fs, SOURCE.removeprefix("s3://")
    batch = ensure_demo_input(stack_dirs[0]).read_bytes()
    fs.pipe(key, batch)

    first = run_to_end(s3_engine)
    assert first["state_type"] == "COMPLETED", first["state_message"]
    written = sorted(fs.find(f"{BUCKET}/out"))
    assert len(written) == 3 and all(p.endswith("/part-0.parquet") for p in written)
    assert sum(len(pd.read_parquet(fs.open(p, "rb"))) for p in written) == 3000

    doc = lineage_of(s3_engine, first["id"])
    etag = fs.info(key)["ETag"].strip('"')
    assert doc["input"]["path"] == SOURCE  # as written, not s3:/ai-data/...
    assert doc["input"]["etag"] == etag and doc["input"]["size_bytes"] == len(batch)
    assert doc["input"]["sha256"] is None and doc["input"]["rows"] == 3000
    assert [o["path"] for o in doc["outputs"]] == [f"s3://{p.rsplit('/', 1)[0]}" for p in written]
    assert all(o["bytes"] == fs.du(o["path"]) > 0 for o in doc["outputs"])
    table = pd.read_parquet(s3_engine.state_dir / "lineage")
    rows = table[table["flow_run_id"] == first["id"]]
    assert set(rows["input_path"]) == {SOURCE} and set(rows["input_etag"]) == {etag}
    assert {t["name"]: t["cache_hit"] for t in doc["tasks"]}["load_raw_data"] is False

    second = run_to_end(s3_engine)
    assert second["state_type"] == "COMPLETED", second["state_message"]
    hits = {t["name"]: t["cache_hit"] for t in lineage_of(s3_engine, second["id"])["tasks"]}
    assert hits == {"load_raw_data": True, "run_inference": True, "save_results": False}

    header, *lines = batch.decode().splitlines()
    fs.pipe(key, "\n".join([header, *reversed(lines)]).encode() + b"\n")
    third = run_to_end(s3_engine)
    assert third["state_type"] == "COMPLETED", third["state_message"]
    changed = lineage_of(s3_engine, third["id"])
    assert changed["input"]["etag"] == fs.info(key)["ETag"].strip('"') != etag
    assert {t["name"]: t["cache_hit"] for t in changed["tasks"]}["load_raw_data"] is False


def test_a_missing_key_fails_at_once_naming_the_url(s3_engine: S3Engine) -> None:
    missing = f"s3://{BUCKET}/production/not-landed-{uuid.uuid4().hex[:6]}.csv"
    run = run_to_end(s3_engine, {"source": missing})
    assert run["state_type"] == "FAILED"
    doc = lineage_of(s3_engine, run["id"])
    assert f"source file not found: {missing}" in doc["error"]
    assert doc["input"]["path"] == missing and doc["input"]["etag"] is None
    load = task_named(s3_engine, run["id"], "load_raw_data")
    assert load["state_type"] == "FAILED" and load["run_count"] == 1  # no retry


@pytest.mark.parametrize("fault", ["503", "dropped connection"])
def test_a_transient_store_error_is_retried_by_load_raw_data(
    s3_engine: S3Engine, stack_dirs: tuple[Path, Path], fault: str
) -> None:
    source = f"s3://{BUCKET}/production/retry-{uuid.uuid4().hex[:6]}.csv"
    s3_engine.fs.pipe(source, ensure_demo_input(stack_dirs[0]).read_bytes())
    proxy = s3_engine.proxy
    proxy.drop = fault == "dropped connection"
    proxy.failing.set()
    try:
        result = send_and_wait(s3_engine.commands, "trigger", DEPLOYMENT, {"source": source})
        assert result.ok, result.message

        def awaiting_retry() -> bool:
            docs = s3_engine.mirror.read_task_runs(result.flow_run_id).values()
            return any(d["state_name"] == "AwaitingRetry" for d in docs)

        wait_for(awaiting_retry, 120, f"load_raw_data to wait for its retry after a {fault}")
        assert proxy.injected > 0
    finally:
        proxy.failing.clear()  # the store is back before the retry (TEST_RETRY_DELAY s later)
    run = wait_run_final(s3_engine.mirror, result.flow_run_id, timeout=180)
    assert run["state_type"] == "COMPLETED", run["state_message"]
    load = task_named(s3_engine, run["id"], "load_raw_data")
    assert load["state_type"] == "COMPLETED" and load["run_count"] == 2
    assert lineage_of(s3_engine, run["id"])["input"]["rows"] == 3000
