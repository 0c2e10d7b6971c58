"""The console starts without Prefect, pandas or pyarrow (fast over SSH)."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import importlib, pkgutil, sys
import console, themes
for package in (console, themes):
    for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        importlib.import_module(info.name)
heavy = sorted(m for m in sys.modules if m.split(".")[0] in {"prefect", "pandas", "pyarrow"})
print(",".join(heavy))
"""


def test_console_modules_import_no_heavy_packages() -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=True, timeout=120
    )
    assert done.stdout.strip() == ""
