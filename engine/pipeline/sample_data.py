"""Deterministic demo input for the inference pipeline. Stdlib only.

The console imports this to offer "generate demo data", and the console must not import
pandas (it has to start fast over SSH), so this module writes CSV with `csv` alone.
"""

from __future__ import annotations

import csv
import os
import random
import tempfile
from datetime import date, datetime, time, timedelta
from pathlib import Path

DEMO_INPUT_RELPATH = Path("demo/input/daily_batch.csv")
"""Where the demo batch lives, relative to the state dir; the bundled prod deployment
reads `{state_dir}/demo/input/daily_batch.csv`."""

COLUMNS = ("id", "timestamp", "feature_a", "feature_b")

_SECONDS_PER_DAY = 86_400


def generate_batch(
    path: Path,
    rows: int = 3000,
    seed: int = 20260421,
    days: int = 3,
    start: date = date(2026, 11, 1),
) -> Path:
    """Write a batch CSV with columns `id,timestamp,feature_a,feature_b` to `path`.

    The same arguments always give a byte-identical file. Rows are spread evenly over
    `days` consecutive days from `start` (so every day gets a partition when
    `rows >= days`), sorted by timestamp. The file appears atomically: readers never see
    a half-written batch.

    Raises:
        ValueError: `rows` or `days` is less than 1.
    """
    if rows < 1:
        raise ValueError(f"rows must be at least 1, got {rows}")
    if days < 1:
        raise ValueError(f"days must be at least 1, got {days}")

    rng = random.Random(seed)
    midnight = datetime.combine(start, time())
    offsets = sorted(
        (i * days // rows) * _SECONDS_PER_DAY + rng.randrange(_SECONDS_PER_DAY) for i in range(rows)
    )
    records: list[tuple[str, str, str, str]] = []
    for row_id, offset in enumerate(offsets, start=1):
        stamp = midnight + timedelta(seconds=offset)
        # Spread chosen so the bundled scorer gives predictions across the whole (0, 1).
        feature_a = rng.gauss(0.5, 0.35)
        feature_b = rng.gauss(0.4, 0.35)
        records.append((str(row_id), stamp.isoformat(), f"{feature_a:.4f}", f"{feature_b:.4f}"))

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(COLUMNS)
            writer.writerows(records)
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return path


def ensure_demo_input(state_dir: Path) -> Path:
    """Generate `state_dir/DEMO_INPUT_RELPATH` unless it exists; return its path.

    An existing file is left alone: an operator may have replaced it with a real batch.
    """
    path = state_dir / DEMO_INPUT_RELPATH
    if not path.exists():
        generate_batch(path)
    return path
