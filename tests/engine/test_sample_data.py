"""Demo input generation: deterministic, the right shape, never clobbers a real batch."""

from __future__ import annotations

import csv
import subprocess
import sys
from datetime import date, datetime
from pathlib import Path

import pytest

from engine.pipeline.sample_data import DEMO_INPUT_RELPATH, ensure_demo_input, generate_batch


def test_same_seed_gives_byte_identical_files(tmp_path: Path) -> None:
    first = generate_batch(tmp_path / "a.csv")
    second = generate_batch(tmp_path / "b.csv")
    other_seed = generate_batch(tmp_path / "c.csv", seed=1)

    assert first.read_bytes() == second.read_bytes()
    assert first.read_bytes() != other_seed.read_bytes()


def test_shape_rows_days_and_formatting(tmp_path: Path) -> None:
    path = generate_batch(
        tmp_path / "nested" / "batch.csv", rows=500, days=4, start=date(2026, 1, 30)
    )

    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))

    assert len(rows) == 500
    assert list(rows[0]) == ["id", "timestamp", "feature_a", "feature_b"]
    assert [r["id"] for r in rows] == [str(i) for i in range(1, 501)]
    stamps = [datetime.fromisoformat(r["timestamp"]) for r in rows]
    assert stamps == sorted(stamps)
    assert {s.date() for s in stamps} == {
        date(2026, 1, 30),
        date(2026, 1, 31),
        date(2026, 2, 1),
        date(2026, 2, 2),
    }
    for row in rows:
        for column in ("feature_a", "feature_b"):
            whole, _, decimals = row[column].lstrip("-").partition(".")
            assert whole.isdigit() and len(decimals) == 4, row[column]


def test_default_batch_has_3000_rows(tmp_path: Path) -> None:
    path = generate_batch(tmp_path / "batch.csv")
    assert len(path.read_text(encoding="utf-8").splitlines()) == 3001
    assert list(tmp_path.iterdir()) == [path]  # no temp file left behind


@pytest.mark.parametrize(("rows", "days"), [(0, 3), (10, 0)])
def test_rejects_empty_batches(tmp_path: Path, rows: int, days: int) -> None:
    with pytest.raises(ValueError):
        generate_batch(tmp_path / "x.csv", rows=rows, days=days)


def test_ensure_demo_input_creates_once_and_never_overwrites(tmp_path: Path) -> None:
    path = ensure_demo_input(tmp_path)
    assert path == tmp_path / DEMO_INPUT_RELPATH
    assert path.read_text(encoding="utf-8").startswith("id,timestamp,feature_a,feature_b\n")

    path.write_text("id,timestamp,feature_a,feature_b\n1,2026-01-01T00:00:00,1,2\n")
    assert ensure_demo_input(tmp_path) == path
    assert path.read_text() == "id,timestamp,feature_a,feature_b\n1,2026-01-01T00:00:00,1,2\n"


def test_importing_sample_data_does_not_pull_in_pandas() -> None:
    # The console imports this module and must stay free of pandas (slow start over SSH).
    code = (
        "import sys, engine.pipeline.sample_data; "
        "heavy = {'pandas', 'numpy', 'pyarrow', 'prefect'} & set(sys.modules); "
        "print(sorted(heavy))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    ).stdout
    assert out.strip() == "[]"
