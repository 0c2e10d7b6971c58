"""The shipped systemd units (engine/systemd/): `systemd-analyze verify` accepts them without
a word, `systemd-analyze security` rates them at most 4.5 "OK", secrets come only from an
EnvironmentFile, and they restart on failure."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
UNITS = sorted((ROOT / "engine" / "systemd").glob("*.service"))
INSTALLED_BIN = "/opt/aiwf/venv/bin"
"""Where the units expect the venv (docs/operations.md installs it there)."""
MAX_EXPOSURE = 4.5
EXPOSURE = re.compile(r"Overall exposure level for \S+: (\d+\.\d+) (\w+)")
SECRET_NAMES = ("AIWF_REDIS_URL", "PREFECT_API_URL", "PREFECT_API_KEY", "PASSWORD", "://")


def systemd_analyze() -> str:
    found = shutil.which("systemd-analyze")
    if found is None:
        raise AssertionError("systemd-analyze not on PATH: run scripts/browser-deps.sh")
    return found


def as_installed_here(unit: Path, into: Path) -> Path:
    """The unit with this venv in place of /opt/aiwf/venv: `verify` checks that every
    Exec*= program exists, as it would on a host after the install steps."""
    copy = into / unit.name
    copy.write_text(unit.read_text().replace(INSTALLED_BIN, str(Path(sys.executable).parent)))
    return copy


def directives(unit: Path) -> list[tuple[str, str]]:
    pairs = []
    for line in unit.read_text().splitlines():
        if "=" in line and not line.lstrip().startswith(("#", ";", "[")):
            key, _, value = line.partition("=")
            pairs.append((key.strip(), value.strip()))
    return pairs


def test_both_units_ship_in_the_package() -> None:
    assert [unit.name for unit in UNITS] == ["aiwf-console-serve.service", "aiwf-engine.service"]
    # The wheel check (scripts/wheel-check.sh) fails a wheel without any of these files.
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        from wheel_contents import runtime_files
    finally:
        sys.path.pop(0)
    shipped = runtime_files(ROOT)
    assert all(f"engine/systemd/{unit.name}" in shipped for unit in UNITS), shipped
    for name in ("aiwf-engine", "aiwf-console"):
        assert (Path(sys.executable).parent / name).exists(), f"{name} is not installed"


@pytest.mark.parametrize("unit", UNITS, ids=lambda unit: unit.name)
def test_systemd_analyze_verify_accepts_the_unit_without_a_warning(
    unit: Path, tmp_path: Path
) -> None:
    checked = subprocess.run(
        [systemd_analyze(), "verify", str(as_installed_here(unit, tmp_path))],
        capture_output=True,
        text=True,
        timeout=60,
    )
    # verify exits 0 on unknown keys and bad values too ("ignoring"): silence is the pass.
    assert (checked.returncode, checked.stdout + checked.stderr) == (0, "")


@pytest.mark.parametrize("unit", UNITS, ids=lambda unit: unit.name)
def test_systemd_analyze_security_rates_the_unit_ok(unit: Path) -> None:
    rated = subprocess.run(
        [systemd_analyze(), "security", "--offline=true", "--no-pager", str(unit)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert rated.returncode == 0, rated.stderr
    match = EXPOSURE.search(rated.stdout)
    assert match is not None, rated.stdout[-2000:]
    exposure, verdict = float(match.group(1)), match.group(2)
    assert exposure <= MAX_EXPOSURE and verdict == "OK", rated.stdout


@pytest.mark.parametrize("unit", UNITS, ids=lambda unit: unit.name)
def test_secrets_only_from_an_environment_file_and_restart_on_failure(unit: Path) -> None:
    settings = directives(unit)
    assert ("Restart", "on-failure") in settings
    files = [value for key, value in settings if key == "EnvironmentFile"]
    assert files and all(value.startswith("/etc/aiwf/") for value in files)
    # `systemctl show` prints Environment= to every local user: nothing secret there.
    for key, value in settings:
        if key == "Environment":
            assert not any(name in value.upper() for name in SECRET_NAMES), value
    assert "User" in dict(settings), "runs as its own user, never root"
