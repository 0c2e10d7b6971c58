"""Prints goal, anchor, measured, ratio and verdict from a pytest-benchmark JSON file:
`python -m benchmarks.report FILE`. Exit status 0 even when a goal is missed: goals are
read, not asserted. The `extra_info` keys it reads are listed in docs/benchmarks.md."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from benchmarks.support import percentile

COLUMNS = ("benchmark", "goal", "anchor", "measured", "ratio", "load", "verdict")


def measured(bench: dict[str, Any]) -> tuple[float | None, str]:
    """The statistic the benchmark's goal is about, and that value shown with its unit."""
    info, stats = bench.get("extra_info", {}), bench["stats"]
    metric = info.get("metric", "median_s")
    if metric == "value":  # measured outside the timed rounds (RSS, CPU %, bytes/s, p95 ...)
        value = info.get("value")
        return value, "" if value is None else show(value, info.get("unit", ""))
    if metric == "per_second":
        value = info.get("items", 1) / stats["median"]
        return value, f"{value:,.0f} /s"
    if metric == "p95_s":
        value = percentile(stats["data"], 0.95)
        return value, f"p95 {_seconds(value)} (p50 {_seconds(stats['median'])})"
    return stats["median"], _seconds(stats["median"])


def show(value: float, unit: str) -> str:
    """`value` in `unit` ("s" as ms/s; "x" a ratio; anything else printed after it)."""
    if unit == "s":
        return _seconds(value)
    if unit == "x":
        return f"{value:.2f}x"
    return f"{value:,.1f} {unit}".rstrip() if value < 100 else f"{value:,.0f} {unit}".rstrip()


def ratio(bench: dict[str, Any], value: float | None) -> float | None:
    """measured / anchor, when the benchmark measured an anchor in the same run."""
    anchor = bench.get("extra_info", {}).get("anchor_value")
    if value is None or not anchor:
        return None
    return float(value) / float(anchor)


def verdict(bench: dict[str, Any], value: float | None) -> str:
    info = bench.get("extra_info", {})
    bound = info.get("goal_value")
    compared = ratio(bench, value) if info.get("goal_on") == "ratio" else value
    if bound is None or compared is None:
        return ""
    higher = info.get("higher_is_better", info.get("metric") == "per_second")
    met = compared >= bound if higher else compared <= bound
    return "ok" if met else "MISSED"


def _seconds(value: float) -> str:
    return f"{value * 1000:,.1f} ms" if value < 1 else f"{value:,.2f} s"


def _anchor(info: dict[str, Any]) -> str:
    name, value = info.get("anchor", ""), info.get("anchor_value")
    if value is None:
        return name
    if info.get("metric") == "per_second":  # a rate, as the measured figure beside it
        return f"{name} {value:,.0f} /s".strip()
    return f"{name} {show(value, info.get('unit', 's'))}".strip()


def _load(info: dict[str, Any]) -> str:
    load = info.get("load_avg")
    return " ".join(f"{x:.1f}" for x in load) if load else ""


def table(results: dict[str, Any]) -> list[str]:
    rows: list[tuple[str, ...]] = [COLUMNS]
    for bench in results["benchmarks"]:
        info = bench.get("extra_info", {})
        value, shown = measured(bench)
        quotient = ratio(bench, value)
        rows.append(
            (
                bench["name"],
                info.get("goal", ""),
                _anchor(info),
                shown,
                "" if quotient is None else f"{quotient:.2f}x",
                _load(info),
                verdict(bench, value),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return lines


def notes(results: dict[str, Any]) -> list[str]:
    """Each benchmark's `notes` (secondary figures, reference figures not measured by us)."""
    return [
        f"{bench['name']}: {note}"
        for bench in results["benchmarks"]
        for note in bench.get("extra_info", {}).get("notes", [])
    ]


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
    extra = notes(results)
    if extra:
        print("\n".join(["", "notes:", *extra]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
