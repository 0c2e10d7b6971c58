"""The script surface of both commands, run as a user runs them (subprocesses): --version,
--json for every outcome (errors included), `status` without an engine, `runs` against a
real Redis, and shell completion through argcomplete's COMP_LINE protocol."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import redis

from engine.contract.documents import Deployment, FlowRun, encode
from engine.contract.keys import RUNS_KEPT, Keys
from engine.store.mirror import RedisMirror


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=os.environ | (env or {}),
    )


def engine(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return run("-m", "engine", *args, env=env)


def one_json(done: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    """stdout is exactly one JSON object, whose exit_code is the process's."""
    doc = json.loads(done.stdout)
    assert isinstance(doc, dict), done.stdout
    assert doc["exit_code"] == done.returncode, doc
    return doc


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_version_of_both_commands() -> None:
    from engine.contract.version import installed_version

    version = installed_version()
    assert version != "unknown"
    done = engine("--version")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"aiwf-engine {version} (prefect 3.")
    console = run("-m", "console.cli", "--version")
    assert console.returncode == 0, console.stderr
    assert console.stdout.startswith(f"aiwf-console {version} (textual ")


def test_json_when_redis_is_down_names_the_redacted_url_and_exits_1() -> None:
    url = f"redis://ops:hunter2-secret@127.0.0.1:{closed_port()}/0"
    for args in (
        ("trigger", "ai-inference-prod"),
        ("status",),
        ("runs", "--since", "24h"),
        ("backfill", "ai-inference-prod", "--start", "2026-11-01", "--end", "2026-11-02",
         "--dry-run"),
    ):  # fmt: skip
        done = engine(*args, "--redis-url", url, "--json")
        assert done.returncode == 1, (args, done.stdout, done.stderr)
        doc = one_json(done)
        assert doc["status"] == "error" and doc["error"] == "redis", doc
        assert doc["redis_url"] == f"redis://ops:***@127.0.0.1:{url.rsplit(':', 1)[1]}"
        assert "cannot reach Redis at redis://ops:***@" in str(doc["message"])
        assert "hunter2" not in done.stdout + done.stderr


def test_json_for_bad_arguments_exits_2() -> None:
    bad_param = engine("trigger", "ai-inference-prod", "-p", "rows", "--json")
    assert bad_param.returncode == 2
    doc = one_json(bad_param)
    assert doc["error"] == "usage" and "--param 'rows': expected KEY=VALUE" in str(doc["message"])

    missing = engine("trigger", "--json")
    assert missing.returncode == 2
    assert "required: deployment" in str(one_json(missing)["message"])

    since = engine("runs", "--since", "yesterday-ish", "--json")
    assert since.returncode == 2 and "--since 'yesterday-ish'" in str(one_json(since)["message"])

    watch = engine("trigger", "ai-inference-prod", "--watch", "--wait", "0", "--json")
    assert watch.returncode == 2 and "--watch" in str(one_json(watch)["message"])

    # Without --json a usage error stays argparse's text on stderr.
    text = engine("trigger", "ai-inference-prod", "-p", "rows")
    assert text.returncode == 2 and text.stdout == ""
    assert "error: --param 'rows': expected KEY=VALUE" in text.stderr


def test_validate_json_lists_deployments_and_errors(tmp_path: Path) -> None:
    from engine.contract.paths import bundled_config_dir

    good = engine("validate", "--config", str(bundled_config_dir()), "--json")
    assert good.returncode == 0, good.stderr
    assert sorted(one_json(good)["deployments"]) == ["ai-inference-canary", "ai-inference-prod"]
    (tmp_path / "deployments").mkdir()
    (tmp_path / "deployments" / "bad.yaml").write_text("name: bad\n")
    bad = engine("validate", "--config", str(tmp_path), "--json")
    assert bad.returncode == 1
    doc = one_json(bad)
    assert doc["status"] == "error" and doc["error"] == "config"
    assert any("bad.yaml" in str(error) for error in doc["errors"])


def test_status_without_an_engine_is_degraded_exit_5(
    redis_url: str, redis_client: redis.Redis, keys: Keys
) -> None:
    deployment = Deployment(name="nightly", next_fire_times=["2026-12-03T06:00:00+00:00"])
    redis_client.hset(keys.deployments, "nightly", encode(deployment))
    done = engine("status", "--redis-url", redis_url, "--prefix", keys.prefix, "--json")
    assert done.returncode == 5, done.stderr
    doc = one_json(done)
    assert doc["status"] == "degraded"
    assert doc["engine"]["alive"] is False
    assert doc["redis"]["reachable"] is True
    assert doc["deployments"][0]["next_run"] == "2026-12-03T06:00:00+00:00"
    assert any("no engine heartbeat" in p for p in doc["problems"])

    text = engine("status", "--redis-url", redis_url, "--prefix", keys.prefix)
    assert text.returncode == 5
    assert "engine    NOT RUNNING" in text.stdout and "nightly" in text.stdout
    assert "degraded: no engine heartbeat" in text.stderr


def test_runs_says_when_the_mirror_no_longer_holds_the_window(
    redis_url: str, redis_client: redis.Redis, keys: Keys
) -> None:
    mirror = RedisMirror(redis_client, keys)
    redis_client.hset(keys.deployments, "nightly", encode(Deployment(name="nightly")))
    now = datetime.now(timezone.utc)
    for n in range(RUNS_KEPT):  # a full mirror: its oldest run is RUNS_KEPT hours old
        when = (now - timedelta(hours=n)).isoformat()
        state = ("FAILED", "Failed") if n % 10 == 0 else ("COMPLETED", "Completed")
        mirror.upsert_flow_run(
            FlowRun(
                id=f"run-{n}", name=f"run-{n}", deployment_name="nightly", state_type=state[0],
                state_name=state[1], expected_start_time=when, updated=when,
            )
        )  # fmt: skip
    base = ("runs", "--redis-url", redis_url, "--prefix", keys.prefix, "--json")

    recent = one_json(engine(*base, "--since", "2d", "--state", "failed", "--limit", "500"))
    ids = [r["id"] for r in recent["runs"]]
    assert ids == ["run-0", "run-10", "run-20", "run-30", "run-40"]  # newest first, < 48 h old
    assert recent["complete"] is True and recent["source"] == "redis"

    newest = one_json(engine(*base, "--limit", "3"))  # a full page needs nothing older
    assert [r["id"] for r in newest["runs"]] == ["run-0", "run-1", "run-2"]
    assert newest["complete"] is True and "warnings" not in newest

    old = one_json(engine(*base, "--since", "60d", "--state", "failed", "--limit", "500"))
    assert len(old["runs"]) == RUNS_KEPT // 10
    assert old["complete"] is False
    assert any("--from-prefect" in w for w in old["warnings"])

    unknown = engine(*base, "--deployment", "no-such")
    assert unknown.returncode == 1
    doc = one_json(unknown)
    assert doc["error"] == "unknown_deployment" and "known: nightly" in str(doc["message"])


def complete(
    module: str, line: str, tmp_path: Path, env: dict[str, str] | None = None
) -> list[str]:
    """What argcomplete offers for `line`, as bash would ask for it (COMP_LINE protocol)."""
    out = tmp_path / "completions"
    done = run(
        "-m",
        module,
        env={
            "_ARGCOMPLETE": "1",
            "COMP_LINE": line,
            "COMP_POINT": str(len(line)),
            "_ARGCOMPLETE_IFS": "\n",
            "_ARGCOMPLETE_STDOUT_FILENAME": str(out),
            **(env or {}),
        },
    )
    assert done.returncode == 0, done.stderr
    return [word.strip() for word in out.read_text().split("\n")]


def test_completion_offers_subcommands_options_and_deployments(
    tmp_path: Path, redis_url: str, redis_client: redis.Redis, keys: Keys
) -> None:
    assert complete("engine", "aiwf-engine st", tmp_path) == ["status"]
    assert {"runs", "retry", "resume", "run"} <= set(complete("engine", "aiwf-engine r", tmp_path))
    assert complete("engine", "aiwf-engine runs --s", tmp_path) == ["--state", "--since"]
    redis_client.hset(keys.deployments, "nightly-eu", encode(Deployment(name="nightly-eu")))
    env = {"AIWF_REDIS_URL": redis_url, "AIWF_REDIS_PREFIX": keys.prefix}
    assert complete("engine", "aiwf-engine trigger night", tmp_path, env) == ["nightly-eu"]
    assert complete("console.cli", "aiwf-console --ver", tmp_path) == ["--version"]
    from themes import THEMES

    assert complete("console.cli", "aiwf-console --theme ", tmp_path) == list(THEMES)
