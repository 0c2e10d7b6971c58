"""Which Prefect API `aiwf-engine run` takes from Prefect's own settings, and where from.

Each case runs Prefect's settings loader in a fresh process (Prefect reads its settings once
per process) with a PREFECT_HOME of its own, so the user's profile is never read.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

PROBE = """
import json
from engine.cli.prefect_choice import configured_prefect, prefect_environment
choice = configured_prefect()
print(json.dumps({"url": choice.api_url, "source": choice.source,
                  "env": prefect_environment(choice, choice.api_url or "http://embedded/api")}))
"""


def probe(home: Path, cwd: Path, **env: str) -> dict[str, Any]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    done = subprocess.run(
        [sys.executable, "-c", PROBE],
        env=base | {"PREFECT_HOME": str(home)} | env,
        cwd=cwd,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def write_profile(home: Path, **settings: str) -> None:
    home.mkdir(parents=True, exist_ok=True)
    lines = ['active = "work"', "", "[profiles.work]"]
    lines += [f'{name} = "{value}"' for name, value in settings.items()]
    (home / "profiles.toml").write_text("\n".join(lines) + "\n")


@pytest.fixture
def dirs(tmp_path: Path) -> tuple[Path, Path]:
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    return tmp_path / "home", cwd


def test_nothing_configured_means_the_embedded_server_with_the_engines_defaults(
    dirs: tuple[Path, Path],
) -> None:
    home, cwd = dirs
    result = probe(home, cwd)
    assert result["url"] == ""
    assert result["env"]["PREFECT_API_URL"] == "http://embedded/api"
    assert result["env"]["PREFECT_LOGGING_TO_API_BATCH_INTERVAL"] == "0.5"
    assert result["env"]["PREFECT_SERVER_ALLOW_EPHEMERAL_MODE"] == "false"


def test_a_profile_url_is_used_and_its_other_settings_are_kept(dirs: tuple[Path, Path]) -> None:
    home, cwd = dirs
    write_profile(
        home,
        PREFECT_API_URL="http://prefect.internal:4200/api",
        PREFECT_LOGGING_TO_API_BATCH_INTERVAL="3",
    )
    result = probe(home, cwd)
    assert result["url"] == "http://prefect.internal:4200/api"
    assert result["source"].startswith("Prefect profile 'work' (")
    assert str(home / "profiles.toml") in result["source"]
    # The profile's value, not the engine's default of 0.5.
    assert result["env"]["PREFECT_LOGGING_TO_API_BATCH_INTERVAL"] == "3"
    assert result["env"]["PREFECT_RUNNER_POLL_FREQUENCY"] == "2"


def test_the_environment_wins_over_the_profile(dirs: tuple[Path, Path]) -> None:
    home, cwd = dirs
    write_profile(home, PREFECT_API_URL="http://from-profile:4200/api")
    result = probe(home, cwd, PREFECT_API_URL="http://from-env:4200/api")
    assert result["url"] == "http://from-env:4200/api"
    assert result["source"] == "the environment (PREFECT_API_URL)"


def test_a_dot_env_file_in_the_working_directory_counts(dirs: tuple[Path, Path]) -> None:
    home, cwd = dirs
    (cwd / ".env").write_text("PREFECT_API_URL=http://from-dotenv:4200/api\n")
    result = probe(home, cwd)
    assert result["url"] == "http://from-dotenv:4200/api"
    assert ".env" in result["source"]
