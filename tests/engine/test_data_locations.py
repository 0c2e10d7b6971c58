"""Paths and fsspec URLs as sources and targets: which extra a protocol needs (`validate` says
so, also when s3fs is not importable), the URL kept as written, file:// read and written as a
local path, and which cloud errors are worth a retry (classified from botocore's real error
classes as s3fs translates them)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    EndpointConnectionError,
    NoCredentialsError,
    ParamValidationError,
    ReadTimeoutError,
)
from s3fs.errors import translate_boto_error

from engine.lineage import record as lineage
from engine.pipeline import cache_keys, locations
from engine.pipeline.sample_data import ensure_demo_input
from engine.pipeline.storage import save_results
from engine.pipeline.tasks import is_transient_error, load_raw_data, run_inference
from tests.s3_server import moto_server

REPO = Path(__file__).resolve().parents[2]
DEPLOYMENT = """\
name: s3-daily
version: "1"
schedule:
  cron: "0 2 * * *"
flow_name: ai-inference-pipeline
parameters:
  source: s3://ai-data/production/daily_batch.csv
  target: "{state_dir}/out"
"""


def test_protocols_and_local_paths() -> None:
    assert locations.protocol("s3://ai-data/x.csv") == "s3"
    assert locations.protocol("GS://b/x") == "gs"
    assert locations.protocol("/data/x.csv") is None
    assert locations.local_path("file:///data/x.csv") == Path("/data/x.csv")
    assert locations.local_path("data/x.csv") == Path("data/x.csv")
    assert locations.local_path("s3://ai-data/x.csv") is None


def test_support_is_checked_per_protocol() -> None:
    assert locations.missing_support("/data/x.csv") is None
    assert locations.missing_support("file:///data/x.csv") is None
    assert locations.missing_support("s3://ai-data/x.csv") is None  # s3fs is installed here
    assert locations.missing_support("memory://x.csv") is None
    assert "unknown storage protocol nope://" in str(locations.missing_support("nope://x"))


def validate(config: Path, blocked: str | None) -> subprocess.CompletedProcess[str]:
    block = f"sys.modules[{blocked!r}] = None; " if blocked else ""
    code = (
        f"import runpy, sys; {block}"
        f"sys.argv = ['aiwf-engine', 'validate', '--config', {str(config)!r}]; "
        "runpy.run_module('engine', run_name='__main__')"
    )
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=os.environ | {"PYTHONPATH": str(REPO)},
        timeout=120,
        check=False,
    )


def test_validate_names_the_extra_an_s3_url_needs_when_s3fs_is_missing(tmp_path: Path) -> None:
    (tmp_path / "deployments").mkdir()
    (tmp_path / "models").mkdir()
    for model in (REPO / "config" / "models").glob("*.yaml"):
        (tmp_path / "models" / model.name).write_text(model.read_text())
    file = tmp_path / "deployments" / "s3-daily.yaml"
    file.write_text(DEPLOYMENT)

    without = validate(tmp_path, blocked="s3fs")
    assert without.returncode == 1, without
    assert without.stderr.splitlines()[0] == (
        f"error: {file}:7: parameters.source: s3:// needs the s3 extra: "
        "pip install 'aiwf-console[s3]'"
    )
    with_s3fs = validate(tmp_path, blocked=None)
    assert with_s3fs.returncode == 0, with_s3fs
    assert f"ok: {file}: s3-daily" in with_s3fs.stdout


def client_error(status: int, code: str) -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": code}, "ResponseMetadata": {"HTTPStatusCode": status}},
        "GetObject",
    )


@pytest.mark.parametrize(
    ("status", "code", "retry", "kind"),
    [
        (404, "NoSuchKey", False, FileNotFoundError),
        (404, "NoSuchBucket", False, FileNotFoundError),
        (403, "AccessDenied", False, PermissionError),
        (400, "InvalidBucketName", False, OSError),
        (503, "ServiceUnavailable", True, OSError),
        (503, "SlowDown", True, OSError),
        (500, "InternalError", True, OSError),
        (429, "TooManyRequests", True, OSError),
    ],
)
def test_cloud_errors_as_s3fs_raises_them_are_retried_only_when_transient(
    status: int, code: str, retry: bool, kind: type[Exception]
) -> None:
    raised = translate_boto_error(client_error(status, code))
    assert isinstance(raised, kind)
    assert is_transient_error(raised) is retry


def test_connection_errors_retry_and_missing_credentials_do_not() -> None:
    assert is_transient_error(EndpointConnectionError(endpoint_url="http://127.0.0.1:9"))
    # What a store that drops the connection gives (found by the end-to-end test).
    assert is_transient_error(ConnectionClosedError(endpoint_url="http://127.0.0.1:9/b/k"))
    assert is_transient_error(ReadTimeoutError(endpoint_url="http://127.0.0.1:9/b/k"))
    assert not is_transient_error(NoCredentialsError())
    assert not is_transient_error(ParamValidationError(report="Bucket: invalid"))
    assert locations.is_transient_remote_error(ValueError("not a store's")) is None


def test_a_file_url_is_read_and_written_locally_and_kept_as_written(tmp_path: Path) -> None:
    batch = ensure_demo_input(tmp_path)
    source, target = f"file://{batch}", f"file://{tmp_path}/out"
    assert cache_keys.load_cache_key(source) == cache_keys.load_cache_key(str(batch))
    raw = load_raw_data.fn(source)
    saved = save_results.fn(run_inference.fn(raw, "scorer-v1"), target)
    assert [o["path"] for o in saved["outputs"]] == [
        f"{target}/date={d}" for d in ("2026-11-01", "2026-11-02", "2026-11-03")
    ]
    assert (
        sum(
            len(pd.read_parquet(tmp_path / "out" / f"date={d}"))
            for d in ("2026-11-01", "2026-11-02", "2026-11-03")
        )
        == 3000
    )
    doc = lineage.input_doc(source, raw, locations.content_facts(source))
    assert doc.path == source  # not file:/...
    assert doc.size_bytes == batch.stat().st_size and doc.sha256 and doc.etag is None


def test_a_missing_extra_fails_the_load_with_the_advice(tmp_path: Path) -> None:
    with pytest.raises(ImportError, match=r"needs a package|unknown storage protocol"):
        load_raw_data.fn("nope://bucket/x.csv")


def test_access_denied_by_a_real_s3_server_fails_at_once_naming_the_url(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import s3fs

    url = "s3://ai-data/production/daily_batch.csv"
    with moto_server(authenticated=True) as endpoint:
        for name, value in {
            "AWS_ACCESS_KEY_ID": "not-a-known-key",
            "AWS_SECRET_ACCESS_KEY": "wrong",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ENDPOINT_URL_S3": endpoint,
        }.items():
            monkeypatch.setenv(name, value)
        s3fs.S3FileSystem.clear_instance_cache()  # instances made under other credentials
        try:
            with pytest.raises(PermissionError) as denied:
                load_raw_data.fn(url)
            assert cache_keys.load_cache_key(url) is None  # no key for what it cannot see
        finally:
            s3fs.S3FileSystem.clear_instance_cache()
    assert str(denied.value).startswith(f"access denied reading {url}: ")
    assert "AWS_PROFILE" in str(denied.value)
    assert is_transient_error(denied.value) is False
