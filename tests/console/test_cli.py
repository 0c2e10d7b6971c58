"""`aiwf-console` arguments, help and failures (the app itself is tested with a pilot)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from console import cli
from engine.stack.launcher import LaunchError


def test_help_explains_flags_and_environment() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "console.cli", "--help"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    for word in (
        "--demo",
        "--theme",
        "--redis-url",
        "--prefix",
        "--config",
        "--read-only",
        "aiwf-dark",
        "aiwf-light",
        "aiwf-high-contrast",
        "aiwf-colorblind",
        "AIWF_CONFIG_DIR",
        "AIWF_REDIS_URL",
        "AIWF_REDIS_PREFIX",
        "AIWF_STATE_DIR",
        "PREFECT_API_URL",
    ):
        assert word in done.stdout


def test_unknown_theme_lists_the_themes_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(["--theme", "neon"])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "unknown theme 'neon'" in err and "aiwf-dark" in err and "aiwf-light" in err


def test_attach_url_order(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("AIWF_STATE_DIR", str(tmp_path))
    monkeypatch.delenv("AIWF_REDIS_URL", raising=False)
    assert cli.attach_url(None) == f"unix://{tmp_path}/redis/redis.sock"
    monkeypatch.setenv("AIWF_REDIS_URL", "redis://env:6379/0")
    assert cli.attach_url(None) == "redis://env:6379/0"
    assert cli.attach_url("redis://flag:6379/1") == "redis://flag:6379/1"


def test_demo_launch_error_is_one_line_and_exit_1(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def failing_start(*_args: object) -> None:
        raise LaunchError("Prefect server did not start in 120s; see /state/prefect/server.log")

    monkeypatch.setattr(cli, "start_demo", failing_start)
    assert cli.main(["--demo"]) == 1
    err = capsys.readouterr().err
    assert "Prefect server did not start" in err and "Traceback" not in err


def test_progress_lines_carry_elapsed_time(capsys: pytest.CaptureFixture[str]) -> None:
    progress = cli.progress_printer()
    progress("Redis: starting")
    assert capsys.readouterr().err.strip().endswith("s] Redis: starting")
