"""scripts/wheel_contents.py, the wheel check's first gate: it fails a wheel without config/."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "scripts" / "wheel_contents.py"


def make_wheel(path: Path, with_config: bool, with_styles: bool = True) -> Path:
    """A wheel-shaped zip holding the repository's files at the paths given."""
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("engine/__init__.py", "")
        if with_config:
            for source in (REPO / "config").rglob("*"):
                if source.is_file():
                    name = source.relative_to(REPO / "config").as_posix()
                    archive.write(source, f"engine/bundled_config/{name}")
        if with_styles:
            archive.write(REPO / "console" / "app.tcss", "console/app.tcss")
        for unit in (REPO / "engine" / "systemd").glob("*.service"):
            archive.write(unit, unit.relative_to(REPO).as_posix())
    return path


def check(wheel: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), str(wheel), str(REPO)],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_wheel_with_the_config_and_styles_passes(tmp_path: Path) -> None:
    done = check(make_wheel(tmp_path / "good.whl", with_config=True))
    assert done.returncode == 0, done.stderr
    assert "runtime files present" in done.stdout


def test_a_wheel_without_config_fails_naming_the_files(tmp_path: Path) -> None:
    done = check(make_wheel(tmp_path / "noconfig.whl", with_config=False))
    assert done.returncode == 1
    assert "engine/bundled_config/deployments/ai-inference-prod.yaml" in done.stderr
    assert "engine/bundled_config/console.yaml" in done.stderr


def test_a_wheel_without_the_console_styles_fails(tmp_path: Path) -> None:
    done = check(make_wheel(tmp_path / "nostyles.whl", with_config=True, with_styles=False))
    assert done.returncode == 1
    assert "console/app.tcss" in done.stderr
