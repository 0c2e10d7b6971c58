"""save_results under concurrent writers of the same partitions (backfill with
max_concurrent > 1): real processes writing real parquet, a reader checking meanwhile."""

from __future__ import annotations

import multiprocessing
import shutil
import subprocess
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from engine.pipeline.storage import PARTITION_FILE, save_results

WRITERS = 4
WRITES_EACH = 12
DAYS = ("2026-11-01", "2026-11-02")


def frame(writer: int) -> pd.DataFrame:
    """Writer `writer`'s rows: a count per day no other writer has, tagged with its number."""
    per_day = 200 + 37 * writer
    stamps = [pd.Timestamp(f"{day}T{h % 24:02d}:00:00") for day in DAYS for h in range(per_day)]
    return pd.DataFrame(
        {"timestamp": stamps, "writer": writer, "value": [float(i) for i in range(len(stamps))]}
    )


def write_many(writer: int, target: str) -> int:
    df = frame(writer)
    for _ in range(WRITES_EACH):
        save_results.fn(df, target)
    return writer


def check_partition(path: Path) -> int:
    """The one writer whose rows the partition holds; fails if mixed, partial or doubled."""
    table = pq.read_table(path).to_pandas()
    assert len(table) > 0, f"{path} read as empty (between a delete and a write)"
    writers = set(table["writer"])
    assert len(writers) == 1, f"{path} mixes writers {sorted(writers)}"
    (writer,) = writers
    assert len(table) == len(frame(writer)) // len(DAYS), f"{path}: {len(table)} rows"
    return int(writer)


def test_concurrent_writers_leave_one_complete_partition(tmp_path: Path) -> None:
    target = tmp_path / "out"
    save_results.fn(frame(0), str(target))
    partitions = [target / f"date={day}" for day in DAYS]
    reads = 0
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(WRITERS, mp_context=context) as pool:
        futures = [pool.submit(write_many, w, str(target)) for w in range(1, WRITERS + 1)]
        while not all(f.done() for f in futures):
            for partition in partitions:
                check_partition(partition)
                reads += 1
        assert sorted(f.result() for f in futures) == list(range(1, WRITERS + 1))
    assert reads > 0
    for partition in partitions:
        assert check_partition(partition) in range(1, WRITERS + 1)
        assert [p.name for p in partition.iterdir()] == [PARTITION_FILE]  # no temp files left
    whole = pq.read_table(target).to_pandas()
    assert sorted(whole["date"].astype(str).unique()) == list(DAYS)


def test_partition_written_by_an_older_version_is_replaced(tmp_path: Path) -> None:
    target = tmp_path / "out"
    stale = target / f"date={DAYS[0]}" / "0a1b2c-0.parquet"  # pyarrow's own naming
    save_results.fn(frame(1), str(target))
    (target / f"date={DAYS[0]}" / PARTITION_FILE).rename(stale)
    summary = save_results.fn(frame(2), str(target))
    assert not stale.exists()
    assert check_partition(target / f"date={DAYS[0]}") == 2
    first = summary["outputs"][0]
    assert first["bytes"] == (target / f"date={DAYS[0]}" / PARTITION_FILE).stat().st_size


def test_target_that_is_a_file_is_refused_with_the_path(tmp_path: Path) -> None:
    target = tmp_path / "out"
    target.write_text("not a directory")
    with pytest.raises(NotADirectoryError, match=f"target {target} is a file"):
        save_results.fn(frame(1), str(target))
    assert target.read_text() == "not a directory"


def test_unwritable_partition_is_named_without_the_temp_file(tmp_path: Path) -> None:
    target = tmp_path / "out"
    target.mkdir()
    (target / f"date={DAYS[0]}").write_text("a file where a partition directory belongs")
    with pytest.raises(FileExistsError) as caught:
        save_results.fn(frame(1), str(target))
    message = str(caught.value)
    assert f"cannot write partition {target}/date={DAYS[0]}: File exists" in message
    assert "retry the run" in message and ".tmp" not in message


@pytest.mark.skipif(shutil.which("chattr") is None, reason="needs chattr (e2fsprogs)")
def test_immutable_target_fails_even_for_root_and_names_the_fix(tmp_path: Path) -> None:
    target = tmp_path / "out"
    save_results.fn(frame(1), str(target))
    locked = subprocess.run(["chattr", "-R", "+i", str(target)], capture_output=True)
    if locked.returncode != 0:
        pytest.skip(f"this filesystem has no immutable flag: {locked.stderr.decode().strip()}")
    try:
        with pytest.raises(PermissionError, match=r"cannot write partition .*chattr -i"):
            save_results.fn(frame(2), str(target))
    finally:
        subprocess.run(["chattr", "-R", "-i", str(target)], check=True)
    assert check_partition(target / f"date={DAYS[0]}") == 1  # the old rows are intact
    save_results.fn(frame(2), str(target))
    assert check_partition(target / f"date={DAYS[0]}") == 2
