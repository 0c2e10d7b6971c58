"""Prints goal vs. measured from a pytest-benchmark JSON file: `python -m benchmarks.report
FILE`. Exit status 0 even when a goal is missed: goals are read, not asserted."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from benchmarks.support import percentile


def measured(bench: dict[str, Any]) -> tuple[float | None, str]:
    """The statistic the benchmark's goal is about, and that value shown with its unit."""
    info, stats = bench.get("extra_info", {}), bench["stats"]
    metric = info.get("metric", "median_s")
    if metric == "per_second":
        value = info.get("items", 1) / stats["median"]
        return value, f"{value:,.0f} /s"
    if metric == "p95_s":
        value = percentile(stats["data"], 0.95)
        return value, f"p95 {_seconds(value)} (p50 {_seconds(stats['median'])})"
    return stats["median"], _seconds(stats["median"])


def verdict(bench: dict[str, Any], value: float | None) -> str:
    info = bench.get("extra_info", {})
    bound = info.get("goal_value")
    if bound is None or value is None:
        return ""
    met = value >= bound if info.get("metric") == "per_second" else value <= bound
    return "ok" if met else "MISSED"


def _seconds(value: float) -> str:
    return f"{value * 1000:,.1f} ms" if value < 1 else f"{value:,.2f} s"


def table(results: dict[str, Any]) -> list[str]:
    rows = [("benchmark", "goal", "measured", "verdict")]
    for bench in results["benchmarks"]:
        value, shown = measured(bench)
        rows.append(
            (bench["name"], bench["extra_info"].get("goal", ""), shown, verdict(bench, value))
        )
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return lines


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m benchmarks.report RESULT.json", file=sys.stderr)
        return 2
    path = Path(argv[0])
    try:
        results = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        print(f"{path}: cannot read the benchmark results: {exc}", file=sys.stderr)
        return 2
    machine = results.get("machine_info", {})
    print(
        f"{path} ({machine.get('cpu', {}).get('count', '?')} cores, "
        f"Python {machine.get('python_version', '?')}, {results.get('datetime', '')})"
    )
    print("\n".join(table(results)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
