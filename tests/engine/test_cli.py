"""`aiwf-engine validate` and argument handling, as a user runs them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from engine.cli.main import parse_params
from engine.contract.paths import bundled_config_dir, state_dir


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "engine", *args], capture_output=True, text=True, timeout=120
    )


def test_validate_bundled_config_passes() -> None:
    done = run_cli("validate", "--config", str(bundled_config_dir()))
    assert done.returncode == 0, done.stderr
    assert "2 deployment file(s) valid" in done.stdout


def test_validate_prints_every_error_with_file_line_field_and_exits_1(tmp_path: Path) -> None:
    deployments = tmp_path / "deployments"
    deployments.mkdir()
    (deployments / "bad.yaml").write_text(
        "name: bad\nversion: '1'\nschedule:\n  cron: '61 * * * *'\n  timezone: Mars/Base\n"
        "flow_name: ai-inference-pipeline\nparameters:\n  source: a.csv\n  target: out\n"
    )
    (deployments / "good.yaml").write_text(
        (bundled_config_dir() / "deployments" / "ai-inference-prod.yaml").read_text()
    )
    done = run_cli("validate", "--config", str(tmp_path))
    assert done.returncode == 1
    bad = str(deployments / "bad.yaml")
    assert f"{bad}:4: schedule.cron:" in done.stderr
    assert f"{bad}:5: schedule.timezone:" in done.stderr
    assert "ok: " in done.stdout and "ai-inference-prod" in done.stdout


def test_help_answers() -> None:
    done = run_cli("trigger", "--help")
    assert done.returncode == 0
    assert "KEY=VALUE" in done.stdout and "AIWF_REDIS_URL" not in done.stderr


def test_params_parse_as_yaml_scalars() -> None:
    assert parse_params(["rows=10", "flag=true", "path=/x y"]) == {
        "rows": 10,
        "flag": True,
        "path": "/x y",
    }
    with pytest.raises(ValueError, match="KEY=VALUE"):
        parse_params(["novalue"])


def test_state_dir_follows_xdg_and_the_override(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AIWF_STATE_DIR", raising=False)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg"))
    assert state_dir() == tmp_path / "xdg" / "aiwf-console"
    monkeypatch.setenv("AIWF_STATE_DIR", str(tmp_path / "mine"))
    assert state_dir() == tmp_path / "mine" and state_dir().is_dir()


def test_params_that_yaml_reads_as_dates_stay_strings() -> None:
    params = parse_params(["d=2026-11-01", "t=2026-11-01 10:00:00+01:00", "l=[2026-11-01, 3]"])
    assert params == {"d": "2026-11-01", "t": "2026-11-01 10:00:00+01:00", "l": ["2026-11-01", 3]}
