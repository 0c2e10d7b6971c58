"""The config lookup order (AIWF_CONFIG_DIR > user config dir > bundled) and `aiwf-engine init`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from engine.cli.init import bundled_files, write_config
from engine.contract.paths import (
    FROM_BUNDLE,
    FROM_ENV,
    FROM_USER_DIR,
    bundled_config_dir,
    config_location,
    default_config_dir,
    user_config_dir,
)

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def xdg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private XDG config home with no aiwf-console dir yet, and no AIWF_CONFIG_DIR."""
    home = tmp_path / "xdg-config"
    home.mkdir()
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home))
    monkeypatch.delenv("AIWF_CONFIG_DIR", raising=False)
    return home


def run_engine(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "engine", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(REPO), **env},
    )


def test_the_bundle_is_the_source_trees_config_from_a_checkout() -> None:
    assert bundled_config_dir() == REPO / "config"


def test_without_a_user_dir_or_env_the_bundle_is_used(xdg: Path) -> None:
    assert user_config_dir() == xdg / "aiwf-console"
    assert config_location().origin == FROM_BUNDLE
    assert default_config_dir() == bundled_config_dir()


def test_an_existing_user_dir_wins_over_the_bundle(xdg: Path) -> None:
    (xdg / "aiwf-console").mkdir()
    location = config_location()
    assert (location.path, location.origin) == (xdg / "aiwf-console", FROM_USER_DIR)


def test_aiwf_config_dir_wins_over_the_user_dir(
    xdg: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (xdg / "aiwf-console").mkdir()
    monkeypatch.setenv("AIWF_CONFIG_DIR", str(tmp_path / "mine"))
    location = config_location()
    assert (location.path, location.origin) == (tmp_path / "mine", FROM_ENV)


def test_write_config_copies_every_bundled_file(tmp_path: Path) -> None:
    target = tmp_path / "copy"
    written = write_config(target, force=False)
    names = bundled_files(bundled_config_dir())
    assert Path("deployments/ai-inference-prod.yaml") in names
    assert Path("console.yaml") in names
    assert written == [target / name for name in names]
    for name in names:
        assert (target / name).read_bytes() == (bundled_config_dir() / name).read_bytes()


def test_write_config_refuses_to_overwrite_and_writes_nothing(tmp_path: Path) -> None:
    target = tmp_path / "copy"
    (target / "deployments").mkdir(parents=True)
    mine = target / "deployments" / "ai-inference-prod.yaml"
    mine.write_text("my edits\n")
    with pytest.raises(FileExistsError, match=r"ai-inference-prod\.yaml"):
        write_config(target, force=False)
    assert mine.read_text() == "my edits\n"
    assert not (target / "console.yaml").exists()  # nothing else written either
    write_config(target, force=True)
    assert mine.read_bytes() == (bundled_config_dir() / "deployments" / mine.name).read_bytes()


def test_init_then_validate_reads_the_user_dir(xdg: Path, tmp_path: Path) -> None:
    env = {"XDG_CONFIG_HOME": str(xdg), "AIWF_STATE_DIR": str(tmp_path / "state")}
    done = run_engine("init", env=env)
    assert done.returncode == 0, done.stderr
    user = xdg / "aiwf-console"
    assert f"wrote {user / 'deployments' / 'ai-inference-prod.yaml'}" in done.stdout
    assert "next: edit the files above, then run `aiwf-engine validate`" in done.stdout
    # The copy is now the config in use: an edit to it shows in `validate`.
    prod = user / "deployments" / "ai-inference-prod.yaml"
    prod.write_text(prod.read_text().replace("name: ai-inference-prod", "name: my-prod"))
    checked = run_engine("validate", env=env)
    assert checked.returncode == 0, checked.stderr
    assert f"ok: {prod}: my-prod" in checked.stdout
    assert f"valid in {user}" in checked.stdout


def test_init_refuses_a_second_time_without_force(xdg: Path, tmp_path: Path) -> None:
    target = tmp_path / "cfg"
    env = {"XDG_CONFIG_HOME": str(xdg)}
    assert run_engine("init", str(target), env=env).returncode == 0
    (target / "console.yaml").write_text("read_only: true\n")
    again = run_engine("init", str(target), env=env)
    assert again.returncode == 1
    assert f"exists: {target / 'console.yaml'}" in again.stderr
    assert "--force" in again.stderr
    assert (target / "console.yaml").read_text() == "read_only: true\n"
    forced = run_engine("init", "--force", str(target), env=env)
    assert forced.returncode == 0, forced.stderr
    assert f"export AIWF_CONFIG_DIR={target}" in forced.stdout
    bundled = bundled_config_dir() / "console.yaml"
    assert (target / "console.yaml").read_bytes() == bundled.read_bytes()


def test_init_warns_when_aiwf_config_dir_points_elsewhere(xdg: Path, tmp_path: Path) -> None:
    env = {"XDG_CONFIG_HOME": str(xdg), "AIWF_CONFIG_DIR": str(tmp_path / "other")}
    done = run_engine("init", env=env)
    assert done.returncode == 0, done.stderr
    assert "AIWF_CONFIG_DIR=" in done.stdout and "wins over" in done.stdout


def test_the_console_reads_console_yaml_from_the_user_dir(xdg: Path) -> None:
    """console.yaml follows the same lookup: a broken one in the user dir stops the console
    with its path, before any service starts."""
    user = xdg / "aiwf-console"
    user.mkdir()
    (user / "console.yaml").write_text("read_onyl: true\n")
    done = subprocess.run(
        [sys.executable, "-c", "from console.cli import main; raise SystemExit(main([]))"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(REPO), "XDG_CONFIG_HOME": str(xdg)},
    )
    assert done.returncode == 2
    assert str(user / "console.yaml") in done.stderr


def test_an_empty_user_dir_is_used_and_validate_says_how_to_fill_it(xdg: Path) -> None:
    """The user dir wins as soon as it exists; an empty one fails `validate` with the path
    it looked in and the command that writes a config there."""
    user = xdg / "aiwf-console"
    user.mkdir()
    done = run_engine("validate", env={"XDG_CONFIG_HOME": str(xdg)})
    assert done.returncode == 1
    assert f"deployments directory not found: {user / 'deployments'}" in done.stderr
    assert "aiwf-engine init" in done.stderr
