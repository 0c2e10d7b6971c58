"""Fails unless a wheel holds every file the product reads at run time.

`python scripts/wheel_contents.py WHEEL REPO`: every file of REPO/config/ must be in the
wheel under engine/bundled_config/ (where engine/contract/paths.py looks for it), and every
`*.tcss` of a top-level package (console/app.tcss) and the systemd units (engine/systemd/)
at their own paths. Run by
scripts/wheel-check.sh before installing the wheel; tests/test_wheel_contents.py checks it.
"""

from __future__ import annotations

import sys
import zipfile
from pathlib import Path

BUNDLE = "engine/bundled_config"


def runtime_files(repo: Path) -> list[str]:
    """The wheel paths that must exist, from the source tree."""
    config = repo / "config"
    wanted = [
        f"{BUNDLE}/{path.relative_to(config).as_posix()}"
        for path in sorted(config.rglob("*"))
        if path.is_file()
    ]
    wanted += [path.relative_to(repo).as_posix() for path in sorted(repo.glob("*/*.tcss"))]
    wanted += [path.relative_to(repo).as_posix() for path in sorted(repo.glob("engine/systemd/*"))]
    return wanted


def missing_files(wheel: Path, repo: Path) -> list[str]:
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    wanted = runtime_files(repo)
    missing = [name for name in wanted if name not in names]
    if not any(name.startswith(f"{BUNDLE}/deployments/") for name in names):
        missing.append(f"{BUNDLE}/deployments/*.yaml")
    return missing


def main(argv: list[str]) -> int:
    wheel, repo = Path(argv[0]), Path(argv[1])
    missing = missing_files(wheel, repo)
    if missing:
        print(f"wheel-check: FAIL: {wheel.name} lacks {', '.join(missing)}", file=sys.stderr)
        return 1
    print(f"{len(runtime_files(repo))} runtime files present in {wheel.name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
