"""The benchmark suite cannot rot silently: its modules import, and it stays out of the
default test run (benchmarks/ is outside testpaths, its files are bench_*.py, and every
benchmark carries the `bench` marker that addopts deselects). Run it: scripts/bench.sh.
"""

from __future__ import annotations

import fnmatch
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.report import notes, table

ROOT = Path(__file__).resolve().parent.parent
MODULES = sorted(path.stem for path in (ROOT / "benchmarks").glob("bench_*.py"))


def test_there_are_benchmarks() -> None:
    assert {"bench_startup", "bench_commands", "bench_live", "bench_logs", "bench_mirror"} <= set(
        MODULES
    )


@pytest.mark.parametrize("name", MODULES)
def test_benchmark_module_imports_and_is_marked(name: str) -> None:
    module = importlib.import_module(f"benchmarks.{name}")
    assert getattr(module, "pytestmark", None) == pytest.mark.bench, (
        f"benchmarks/{name}.py: add `pytestmark = pytest.mark.bench`"
    )


def test_the_default_run_does_not_collect_benchmarks(pytestconfig: pytest.Config) -> None:
    assert pytestconfig.getini("testpaths") == ["tests"]
    patterns = pytestconfig.getini("python_files")
    assert not any(fnmatch.fnmatch(f"{name}.py", p) for name in MODULES for p in patterns)
    # Even collected on purpose, the default options deselect every benchmark.
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
         "-o", "python_files=bench_*.py", "benchmarks"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 5, done.stdout + done.stderr  # 5: no tests selected
    assert "deselected" in done.stdout, done.stdout


def test_the_report_compares_goal_and_measured() -> None:
    results = {
        "benchmarks": [
            {"name": "fast", "extra_info": {"goal": "< 1 s", "metric": "median_s",
                                            "goal_value": 1.0}, "stats": {"median": 0.25}},
            {"name": "tail", "extra_info": {"goal": "p95 < 100 ms", "metric": "p95_s",
                                            "goal_value": 0.1},
             "stats": {"median": 0.01, "data": [0.01] * 19 + [0.5]}},
            {"name": "writes", "extra_info": {"goal": "> 1,000 /s", "metric": "per_second",
                                              "goal_value": 1000, "items": 100},
             "stats": {"median": 0.2}},
            {"name": "events", "extra_info": {"goal": ">= 10 /s", "metric": "per_second",
                                              "goal_value": 10, "items": 100,
                                              "anchor": "direct", "anchor_value": 2008.8},
             "stats": {"median": 0.01}},
        ]
    }  # fmt: skip
    rows = table(results)
    # A rate's anchor is a rate too (it read `2,008.80 s`).
    assert rows[5].split()[-7:] == ["direct", "2,009", "/s", "10,000", "/s", "4.98x", "ok"]
    assert rows[2].split() == ["fast", "<", "1", "s", "250.0", "ms", "ok"]
    assert rows[3].split()[-7:] == ["p95", "10.0", "ms", "(p50", "10.0", "ms)", "ok"]
    assert rows[4].split()[-3:] == ["500", "/s", "MISSED"]


def test_the_report_prints_anchor_ratio_load_and_notes() -> None:
    results = {
        "benchmarks": [
            {"name": "cold", "extra_info": {"goal": "<= 0.25x ls", "metric": "median_s",
                                            "goal_value": 0.25, "anchor": "ls",
                                            "anchor_value": 1.0, "goal_on": "ratio",
                                            "load_avg": [2.0, 1.5, 1.0],
                                            "notes": ["import 300 ms"]},
             "stats": {"median": 0.5}},
            {"name": "rss", "extra_info": {"goal": "<= 80 MB", "metric": "value",
                                           "goal_value": 80, "value": 60.0, "unit": "MB"},
             "stats": {"median": 0.5}},
        ]
    }  # fmt: skip
    rows = table(results)
    assert rows[0].split() == ["benchmark", "goal", "anchor", "measured", "ratio", "load",
                               "verdict"]  # fmt: skip
    assert rows[2].split()[-10:] == ["ls", "1.00", "s", "500.0", "ms", "0.50x", "2.0", "1.5",
                                     "1.0", "MISSED"]  # fmt: skip
    assert rows[3].split()[-3:] == ["60.0", "MB", "ok"]
    assert notes(results) == ["cold: import 300 ms"]
