"""save_results: the pipeline's one side effect, date partitions written all or none.

A local target gets every partition of a run or none of them: files are staged under a
hidden directory, then renamed into place with SIGTERM and SIGINT held, and undone from
hard links if a rename fails (a plain path or a file:// URL). A remote target (s3://, gs://:
any fsspec URL) is written by pyarrow's dataset writer through fsspec (not all-or-none).
"""

from __future__ import annotations

import os
import shutil
import signal
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from prefect import task
from prefect.cache_policies import NO_CACHE

from engine.pipeline import locations


class CancelRequested(Exception):
    """The run is being cancelled: save_results stopped before making anything visible."""


# Never cached: writing the partitions is the side effect a rerun is for.
@task(cache_policy=NO_CACHE)
def save_results(df: pd.DataFrame, target: str, partition_date: str = "") -> dict[str, Any]:
    """Write `df` as parquet under `target`, partitioned by `date=YYYY-MM-DD`.

    With `partition_date` (a dated run's logical date, engine/pipeline/run_date.py) every
    row goes to `date={partition_date}`: that day's batch is that day's partition, and a
    late row from the day before does not overwrite the partition yesterday's run wrote.
    Without it (an undated deployment, which reads the same input every run), rows go to
    the days of their own timestamps, so a rerun replaces the same partitions.

    Partitions present in `df` are replaced, others are left alone, so rerunning a batch
    gives the same files instead of twice the rows. A local target gets all of this run's
    partitions or none of them (see `_write_partitions`): a cancel or an error before the
    commit leaves every partition as it was, and one arriving during the commit waits the
    milliseconds the commit takes. Concurrent runs writing the same partition leave one
    run's complete rows.

    Raises:
        NotADirectoryError: `target` exists and is a file (not retried).
        CancelRequested: the run is being cancelled; nothing was written.
    """
    local = locations.local_path(target)
    if local is not None and local.exists() and not local.is_dir():
        raise NotADirectoryError(
            f"target {target} is a file, not a directory: save_results writes date=... "
            "partition directories under it; move the file away (or fix the deployment's "
            "target parameter) and retry the run"
        )
    if cancel_requested():
        raise CancelRequested("the run is being cancelled; save_results wrote nothing")
    out = df.copy()
    out["date"] = partition_date or pd.to_datetime(out["timestamp"]).dt.strftime("%Y-%m-%d")
    table = pa.Table.from_pandas(out, preserve_index=False)
    counts = out["date"].value_counts()
    dates = sorted(str(d) for d in counts.index)
    partitions = [f"{target.rstrip('/')}/date={d}" for d in dates]
    # Every partition holds the same columns (the partition column itself lives in the
    # path); recorded so the console can compare runs without reading parquet.
    schema = {f.name: str(f.type) for f in table.schema if f.name != "date"}

    def summary(sizes: Mapping[str, int | None]) -> dict[str, Any]:
        outputs = [
            {"path": path, "rows": int(counts[d]), "bytes": sizes[path], "schema": schema}
            for d, path in zip(dates, partitions, strict=True)
        ]
        return {"rows": len(out), "partitions": partitions, "outputs": outputs, "written": "all"}

    if local is None:
        # A remote dataset write is not all-or-none: if it stops halfway, the lineage
        # says `unknown` rather than `none`.
        COMMITTED[target] = {"outputs": [], "written": "unknown"}
        saved = COMMITTED[target] = summary(_write_remote(table, target, partitions))
    else:
        # Partitions keep the target's spelling (file://... stays a URL in the lineage);
        # the files are written at the local paths it names.
        on_disk = [str(local / f"date={d}") for d in dates]
        by_path = dict(zip(on_disk, dates, strict=True))
        as_written = dict(zip(on_disk, partitions, strict=True))
        saved = _write_partitions(
            on_disk,
            lambda path: table.filter(pc.equal(table["date"], by_path[path])),
            local,
            lambda sizes: summary({as_written[p]: n for p, n in sizes.items()}),
            committed_as=target,
        )
    listed = ", ".join(f"date={d}" for d in dates)
    print(f"Saved {len(out)} records to {target} ({len(dates)} partitions: {listed})")
    return saved


PARTITION_FILE = "part-0.parquet"
"""The one data file of a local partition directory."""

COMMITTED: dict[str, dict[str, Any]] = {}
"""save_results' summary by target once its commit is done, for the lineage of a run
cancelled right after it (the signal that was held during the commit interrupts the task
before it returns); `written: unknown` while a remote write is under way. One flow run per
process, so no other run reads it."""


def _write_remote(table: pa.Table, target: str, partitions: list[str]) -> dict[str, int | None]:
    """Writes `table` under the remote `target` (one directory per date, replacing what
    those partitions held); returns each partition's bytes as the store lists them.

    Raises:
        ImportError: the protocol's filesystem package (extra) is not installed.
        OSError: the store refused or failed the write; the message names the target.
    """
    fs, root = locations.filesystem(target)
    root = root.rstrip("/")
    try:
        pq.write_to_dataset(
            table,
            root,
            filesystem=fs,
            partition_cols=["date"],
            existing_data_behavior="delete_matching",
            basename_template="part-{i}.parquet",
        )
    except Exception as exc:
        if locations.is_transient_remote_error(exc) is None and not isinstance(exc, OSError):
            raise
        raise OSError(
            f"cannot write partitions under {target}: {exc}; check that the bucket exists and "
            "the engine's credentials may write to it (config/README.md), then retry the run"
        ) from exc
    fs.invalidate_cache()
    sizes: dict[str, int | None] = {}
    for url in partitions:
        try:
            sizes[url] = int(fs.du(f"{root}/{url.rsplit('/', 1)[1]}"))
        except Exception:
            sizes[url] = None  # written; only its size is unknown
    return sizes


def _write_partitions(
    paths: list[str],
    rows_of: Callable[[str], pa.Table],
    target: Path,
    summary: Callable[[Mapping[str, int | None]], dict[str, Any]],
    committed_as: str | None = None,
) -> dict[str, Any]:
    """Makes each `rows_of(path)` (minus its `date` column) the whole content of partition
    directory `path` for every one of `paths`, all of them or none; returns `summary` of
    the sizes written. Rows are taken one partition at a time, so a big batch is not held
    twice in memory.

    Stage: every partition is written under a dot-named staging directory in `target`
    (readers skip dot paths). A cancel, a kill or an error here leaves nothing visible.
    Then, unless the run is being cancelled by now, commit: each staged file is renamed
    over its partition's PARTITION_FILE (atomic per file on one filesystem, so concurrent
    backfill runs and readers see one complete file, never a mixed one), with SIGTERM and
    SIGINT held until the last rename, and undone from hard-linked backups if a rename
    fails. Data files under other names (pyarrow's naming, from before) go after.
    """
    staging = target / f".staging-{os.getpid()}-{uuid.uuid4().hex}"
    staged: dict[str, Path] = {}
    sizes: dict[str, int | None] = {}
    current = paths[0] if paths else str(target)
    try:
        for current in paths:
            file = staging / Path(current).name / PARTITION_FILE
            file.parent.mkdir(parents=True, exist_ok=True)
            pq.write_table(rows_of(current).drop_columns(["date"]), file)
            staged[current], sizes[current] = file, file.stat().st_size
        if cancel_requested():
            raise CancelRequested("the run is being cancelled; save_results wrote nothing")
        done: list[tuple[Path, Path | None]] = []
        with _signals_held():
            try:
                for current, file in staged.items():
                    done.append(_put_in_place(file, Path(current), staging / ".backup"))
            except BaseException:
                _undo(done)
                raise
            saved = summary(sizes)
            COMMITTED[committed_as or str(target)] = saved
    except OSError as exc:
        # Named by partition, not by the hidden staging file the OS error mentions. Same
        # exception class, so is_transient_error still tells what is worth a retry.
        reason = os.strerror(exc.errno) if exc.errno else str(exc)
        raise type(exc)(
            f"cannot write partition {current}: {reason}; make the target writable "
            "(permissions, a read-only mount, or `lsattr -d` shows `i` immutable: "
            "`chattr -i`), then retry the run; no partition of this run was written"
        ) from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    for path in paths:
        for stale in Path(path).glob("*.parquet"):
            if stale.name != PARTITION_FILE:
                stale.unlink(missing_ok=True)
    return saved


def _put_in_place(file: Path, directory: Path, backups: Path) -> tuple[Path, Path | None]:
    """Renames `file` over `directory`'s PARTITION_FILE, hard-linking the old one into
    `backups` first; returns (final, backup or None) for `_undo`."""
    directory.mkdir(parents=True, exist_ok=True)
    final = directory / PARTITION_FILE
    backup: Path | None = None
    if final.exists():
        backup = backups / directory.name
        backup.parent.mkdir(parents=True, exist_ok=True)
        os.link(final, backup)
    os.replace(file, final)
    return final, backup


def _undo(done: list[tuple[Path, Path | None]]) -> None:
    """Puts back what the renames in `done` replaced, so a failed commit changes nothing."""
    for final, backup in reversed(done):
        if backup is not None:
            os.replace(backup, final)
        else:
            final.unlink(missing_ok=True)


@contextmanager
def _signals_held() -> Iterator[None]:
    """Holds SIGTERM and SIGINT for the block, then lets the first one act.

    The commit is a loop of renames: a cancel's SIGTERM in the middle would leave some
    partitions new and some old. Python runs signal handlers in the main thread, so the
    task (which runs there) swaps them; elsewhere there is nothing to hold.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held: list[tuple[int, FrameType | None]] = []
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}

    def hold(signum: int, frame: FrameType | None) -> None:
        held.append((signum, frame))

    for sig in previous:
        signal.signal(sig, hold)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if held:
            signum, frame = held[0]
            handler = previous[signal.Signals(signum)]
            if callable(handler):
                handler(signum, frame)
            elif handler == signal.SIG_DFL:
                os.kill(os.getpid(), signum)


def cancel_requested() -> bool:
    """Whether Prefect reports this flow run Cancelling or Cancelled (False outside a
    flow run, or when the API cannot be asked: then the Runner's kill is what stops it)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.objects import StateType
    from prefect.context import FlowRunContext

    ctx = FlowRunContext.get()
    if ctx is None or ctx.flow_run is None:
        return False
    try:
        with get_client(sync_client=True) as client:
            state = client.read_flow_run(ctx.flow_run.id).state
    except Exception:
        return False
    return state is not None and state.type in (StateType.CANCELLING, StateType.CANCELLED)
