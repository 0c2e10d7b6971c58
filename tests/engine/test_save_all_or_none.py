"""save_results gives a run all of its partitions or none: interrupted while staging,
failing halfway through the commit, or signalled during the commit."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

import pandas as pd
import pyarrow as pa
import pytest

from engine.pipeline import storage
from engine.pipeline.storage import PARTITION_FILE, _signals_held, _write_partitions, save_results
from tests.engine.test_save_concurrent import DAYS, check_partition, frame


class Stop(BaseException):
    """Stands for Prefect's TerminationSignal (a BaseException too)."""


def test_interrupted_while_staging_leaves_nothing_visible(tmp_path: Path) -> None:
    target = tmp_path / "out"
    target.mkdir()
    paths = [str(target / f"date=2026-11-{d:02d}") for d in range(1, 6)]
    table = pa.table({"date": ["x"], "value": [1.0]})
    calls: list[str] = []

    def rows_of(path: str) -> pa.Table:
        calls.append(path)
        if len(calls) == 3:
            raise Stop()
        return table

    with pytest.raises(Stop):
        _write_partitions(paths, rows_of, target, lambda sizes: {})
    assert len(calls) == 3
    assert list(target.iterdir()) == []  # no partition, no staging directory


def test_a_commit_failing_halfway_puts_the_old_partitions_back(tmp_path: Path) -> None:
    target = tmp_path / "out"
    save_results.fn(frame(1), str(target))
    # The second partition cannot be replaced (its data file became a directory): the
    # first, already renamed into place, must be undone.
    blocker = target / f"date={DAYS[1]}" / PARTITION_FILE
    blocker.unlink()
    blocker.mkdir()
    (blocker / "keep").write_text("x")
    with pytest.raises(OSError, match=rf"cannot write partition {target}/date={DAYS[1]}"):
        save_results.fn(frame(2), str(target))
    assert check_partition(target / f"date={DAYS[0]}") == 1
    assert not list(target.glob(".staging-*"))


@pytest.fixture
def raising_sigterm() -> Iterator[None]:
    def stop(signum: int, frame: FrameType | None) -> None:
        raise Stop()

    previous = signal.signal(signal.SIGTERM, stop)
    yield
    signal.signal(signal.SIGTERM, previous)


def test_a_signal_during_the_commit_acts_after_it(raising_sigterm: None) -> None:
    done: list[str] = []
    with pytest.raises(Stop), _signals_held():
        os.kill(os.getpid(), signal.SIGTERM)
        done.append("the rest of the commit ran")
    assert done == ["the rest of the commit ran"]
    with pytest.raises(Stop):  # the handler is back
        os.kill(os.getpid(), signal.SIGTERM)


def test_a_signal_after_the_commit_still_records_what_was_written(
    tmp_path: Path, raising_sigterm: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The flow's lineage reads COMMITTED when the held signal interrupts save_results."""
    target = tmp_path / "out"
    real_replace = os.replace
    sent: list[bool] = []

    def replace_then_signal(src: str | Path, dst: str | Path) -> None:
        real_replace(src, dst)
        if not sent:  # the cancel's SIGTERM arrives during the first rename
            sent.append(True)
            os.kill(os.getpid(), signal.SIGTERM)

    monkeypatch.setattr(storage.os, "replace", replace_then_signal)
    with pytest.raises(Stop):
        save_results.fn(frame(3), str(target))
    for day in DAYS:  # all of them, not just the first
        assert check_partition(target / f"date={day}") == 3
    committed = storage.COMMITTED[str(target)]
    assert committed["written"] == "all"
    assert [o["path"] for o in committed["outputs"]] == [f"{target}/date={d}" for d in DAYS]


def test_empty_frame_writes_nothing(tmp_path: Path) -> None:
    empty = pd.DataFrame({"timestamp": pd.to_datetime([]), "value": []})
    saved = save_results.fn(empty, str(tmp_path / "out"))
    assert saved["outputs"] == [] and saved["written"] == "all"
