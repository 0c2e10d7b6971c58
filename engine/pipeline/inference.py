"""The AI inference pipeline: load a CSV batch, score it with a versioned model, write
date-partitioned parquet.

This is the seed article's pipeline made honest: the model is a real, versioned scorer
instead of hard-coded predictions, there is no constant cache key that would replay
yesterday's output, retries are reserved for errors that can go away by themselves, and a
rerun replaces the partitions it writes instead of appending duplicates.
"""

from __future__ import annotations

import os
import shutil
import signal
import threading
import time
import traceback
import urllib.error
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from prefect import Task, flow, task
from prefect.cache_policies import NO_CACHE
from prefect.client.schemas.objects import TaskRun
from prefect.states import State

from engine.contract import retry_plan
from engine.lineage import record as lineage
from engine.lineage.table import lineage_dir, write_lineage_parquet
from engine.pipeline import cache_keys
from engine.pipeline.model import Model, ModelError, load_model

FLOW_NAME = retry_plan.INFERENCE_FLOW
REQUIRED_COLUMNS = ("timestamp", "feature_a", "feature_b")
TASKS = retry_plan.INFERENCE_TASKS
"""This flow's tasks, which of them are cached, and so what a retry reruns: one rule with
the console's retry preview (engine/contract/retry_plan.py)."""
TASK_ORDER = TASKS.order
"""The flow's tasks in the order it calls them: `from_task` names one of these."""
_MAX_ROWS_IN_MESSAGE = 5


class InputDataError(ValueError):
    """The batch itself is wrong (missing columns, unparsable values). Retrying cannot help."""


def is_transient_error(exc: BaseException) -> bool:
    """Whether `exc` may go away if the same call is retried in a little while.

    Missing files, permission problems and bad data fail the same way on every attempt,
    so retrying them only delays the alert by a minute; network and I/O hiccups are worth
    another try.
    """
    if isinstance(exc, (FileNotFoundError, PermissionError, IsADirectoryError)):
        return False
    if isinstance(exc, NotADirectoryError):
        return False
    if isinstance(exc, urllib.error.HTTPError):
        # 5xx and "too many requests" are the server's momentary trouble; other 4xx
        # (404, 403) are answers that will not change on a retry.
        return exc.code >= 500 or exc.code == 429
    return isinstance(exc, (ConnectionError, TimeoutError, OSError))


def retry_if_transient(task: Task[..., Any], task_run: TaskRun, state: State[Any]) -> bool:
    """`retry_condition_fn` for Prefect: retry only when the failure is transient.

    Prefect's sync engine wraps the raised exception as `Failed(data=exc)` before calling
    this, so the exception is normally `state.data`. Anything we cannot identify as
    transient is not retried: a fast, clear failure beats three slow identical ones.
    """
    data = state.data
    exc = data if isinstance(data, BaseException) else getattr(data, "result", None)
    return isinstance(exc, BaseException) and is_transient_error(exc)


def _rows_text(labels: list[Any]) -> str:
    shown = ", ".join(str(label) for label in labels[:_MAX_ROWS_IN_MESSAGE])
    more = len(labels) - _MAX_ROWS_IN_MESSAGE
    return f"{shown} and {more} more" if more > 0 else shown


# Results of the two pure tasks are persisted (under PREFECT_LOCAL_STORAGE_PATH, which the
# engine points at $AIWF_STATE_DIR/results) so a retried flow run reuses them: their cache
# keys name the exact input bytes and model, never a constant. See engine/pipeline/cache_keys.py.
@task(
    retries=2,
    retry_delay_seconds=30,
    retry_condition_fn=retry_if_transient,
    cache_key_fn=cache_keys.load_raw_data_key_fn,
    persist_result=True,
)
def load_raw_data(source: str) -> pd.DataFrame:
    """Read the batch CSV and parse its `timestamp` column.

    Raises:
        FileNotFoundError: `source` does not exist (not retried).
        InputDataError: the file is empty, malformed, lacks required columns, or has
            timestamps that do not parse (not retried).
    """
    try:
        df = pd.read_csv(source)
    except FileNotFoundError as exc:
        raise FileNotFoundError(
            f"source file not found: {source} (the upstream batch may not have landed yet; "
            "check the producer, or put a batch at that path and rerun)"
        ) from exc
    except pd.errors.EmptyDataError as exc:
        raise InputDataError(f"source file is empty: {source}") from exc
    except pd.errors.ParserError as exc:
        raise InputDataError(f"source file is not valid CSV: {source}: {exc}") from exc

    missing = [c for c in REQUIRED_COLUMNS if c not in df.columns]
    if missing:
        raise InputDataError(
            f"{source}: missing required column(s) {', '.join(missing)}; "
            f"the file has {', '.join(map(str, df.columns))}"
        )
    if df.empty:
        raise InputDataError(f"{source}: the file has a header but no rows")

    raw = df["timestamp"]
    parsed = pd.to_datetime(raw, errors="coerce")
    bad = parsed.isna()
    if bad.any():
        # +2: one for the header line, one because CSV line numbers start at 1.
        lines = [f"line {i + 2} ({raw.iloc[i]!r})" for i in np.flatnonzero(bad.to_numpy())]
        raise InputDataError(
            f"{source}: {len(lines)} row(s) have a missing or unparsable timestamp: "
            f"{_rows_text(lines)}; fix them upstream (ISO 8601, e.g. 2026-11-01T02:00:00)"
        )
    df["timestamp"] = parsed
    print(
        f"Loaded {len(df)} rows from {source}; "
        f"timestamps {parsed.min().isoformat()} .. {parsed.max().isoformat()}"
    )
    return df


# The seed pipeline used a constant cache key, which replays the first run's predictions
# forever. This key is a fingerprint of the rows scored plus the model's name, version and
# weights hash: new data or a new model always scores for real.
@task(cache_key_fn=cache_keys.run_inference_key_fn, persist_result=True)
def run_inference(df: pd.DataFrame, model: str) -> pd.DataFrame:
    """Score every row; returns a copy with `prediction` (float) and `model_version` added.

    Raises:
        ValueError: some rows have missing or non-numeric feature values.
        engine.pipeline.model.ModelError: the model file is missing or invalid, or the frame lacks
            a feature column.
    """
    scorer = load_model(model)
    missing = [f for f in scorer.features if f not in df.columns]
    if missing:
        raise InputDataError(
            f"model {scorer.name} {scorer.version} ({scorer.path}) needs column(s) "
            f"{', '.join(missing)} that the input does not have"
        )
    features = df[list(scorer.features)].apply(pd.to_numeric, errors="coerce")
    bad = features.isna().any(axis=1)
    if bad.any():
        labels = list(df.index[bad.to_numpy()])
        raise InputDataError(
            f"{int(bad.sum())} row(s) have missing or non-numeric values in "
            f"{', '.join(scorer.features)}: row index {_rows_text(labels)}; "
            "fix or drop them upstream, the model cannot score them"
        )

    out = df.copy()
    out["prediction"] = scorer.score(features).astype(np.float64)
    out["model_version"] = scorer.version
    print(
        f"Scored {len(out)} rows with model {scorer.name} {scorer.version} "
        f"(weights {scorer.weights_hash[:12]})"
    )
    return out


class CancelRequested(Exception):
    """The run is being cancelled: save_results stopped before making anything visible."""


# Never cached: writing the partitions is the side effect a rerun is for.
@task(cache_policy=NO_CACHE)
def save_results(df: pd.DataFrame, target: str) -> dict[str, Any]:
    """Write `df` as parquet under `target`, partitioned by `date=YYYY-MM-DD`.

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
    if "://" not in target and Path(target).exists() and not Path(target).is_dir():
        raise NotADirectoryError(
            f"target {target} is a file, not a directory: save_results writes date=... "
            "partition directories under it; move the file away (or fix the deployment's "
            "target parameter) and retry the run"
        )
    if cancel_requested():
        raise CancelRequested("the run is being cancelled; save_results wrote nothing")
    out = df.copy()
    out["date"] = pd.to_datetime(out["timestamp"]).dt.strftime("%Y-%m-%d")
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

    if "://" in target:
        # A remote dataset write is not all-or-none: if it stops halfway, the lineage
        # says `unknown` rather than `none`.
        COMMITTED[target] = {"outputs": [], "written": "unknown"}
        pq.write_to_dataset(
            table, target, partition_cols=["date"], existing_data_behavior="delete_matching"
        )
        saved = COMMITTED[target] = summary(dict.fromkeys(partitions))
    else:
        by_path = dict(zip(partitions, dates, strict=True))
        saved = _write_partitions(
            partitions,
            lambda path: table.filter(pc.equal(table["date"], by_path[path])),
            Path(target),
            summary,
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


def _write_partitions(
    paths: list[str],
    rows_of: Callable[[str], pa.Table],
    target: Path,
    summary: Callable[[Mapping[str, int | None]], dict[str, Any]],
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
            COMMITTED[str(target)] = saved
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


def tasks_to_refresh(from_task: str, refresh_cache: bool) -> frozenset[str]:
    """Task names that must run even if a cached result exists (engine/contract/retry_plan.py).

    Raises:
        ValueError: `from_task` is not one of TASK_ORDER (the message lists them).
    """
    return retry_plan.tasks_to_refresh(TASKS, from_task, refresh_cache)


def _timed(records: list[lineage.TaskRecord], name: str, call: Callable[[], State[Any]]) -> Any:
    """Runs one task call, records its final state name and wall time, returns its result
    (raising its exception if it failed)."""
    started = time.perf_counter()
    state = call()
    records.append(lineage.TaskRecord(name, state.name or "", time.perf_counter() - started))
    return state.result()


@flow(name=FLOW_NAME, log_prints=True)
def ai_inference_pipeline(
    source: str,
    target: str,
    model: str = "scorer-v1",
    refresh_cache: bool = False,
    from_task: str = "",
) -> dict[str, Any]:
    """Score one batch: `source` CSV -> `model` -> parquet partitions under `target`.

    `refresh_cache` reruns every task even when a cached result exists (`aiwf-engine retry
    --full`). `from_task` reruns that task and every task after it, reusing cached results
    of the tasks before it (`aiwf-engine retry --from-task NAME`). Every attempt records its
    lineage (engine/lineage/record.py), failed ones too.

    Returns a summary: rows written, partition paths, and the model's name, version and
    weights hash.
    """
    records: list[lineage.TaskRecord] = []
    raw: pd.DataFrame | None = None
    saved: dict[str, Any] = {}
    try:
        refresh = tasks_to_refresh(from_task, refresh_cache)
        raw = _timed(
            records,
            "load_raw_data",
            lambda: load_raw_data.with_options(
                refresh_cache=retry_plan.must_run(TASKS, "load_raw_data", refresh)
            )(source, return_state=True),
        )
        # The model is loaded inside run_inference, not up front here, so a missing or
        # broken model file shows as a failed run_inference task run the operator can see
        # and retry.
        scored = _timed(
            records,
            "run_inference",
            lambda: run_inference.with_options(
                refresh_cache=retry_plan.must_run(TASKS, "run_inference", refresh)
            )(raw, model, return_state=True),
        )
        saved = _timed(
            records, "save_results", lambda: save_results(scored, target, return_state=True)
        )
    except BaseException as exc:
        # A cancel's signal held through the commit lands after it: the partitions are
        # written even though save_results did not return.
        saved = saved or COMMITTED.get(target, {})
        _record_lineage(source, target, model, refresh_cache, raw, records, saved, exc, from_task)
        raise
    scorer = _record_lineage(
        source, target, model, refresh_cache, raw, records, saved, None, from_task
    )
    assert scorer is not None  # run_inference loaded the same file a moment ago
    return {
        "rows": saved["rows"],
        "partitions": saved["partitions"],
        "model_name": scorer.name,
        "model_version": scorer.version,
        "model_weights_hash": scorer.weights_hash,
    }


def _record_lineage(
    source: str,
    target: str,
    model: str,
    refresh_cache: bool,
    raw: pd.DataFrame | None,
    records: list[lineage.TaskRecord],
    saved: dict[str, Any],
    error: BaseException | None,
    from_task: str = "",
) -> Model | None:
    """Builds and writes this attempt's lineage. A lineage write that fails is logged,
    never turned into a failed run: the data was written either way."""
    from prefect.logging import get_run_logger

    log = get_run_logger()
    try:
        scorer: Model | None = load_model(model)
    except ModelError:
        scorer = None
    try:
        run = _flow_run_facts()
        doc = lineage.new_doc(
            flow_run_id=run["id"],
            flow_run_name=run["name"],
            deployment_name=run["deployment_name"],
            status=_attempt_status(error),
            written=saved.get("written", "none"),
            error="".join(traceback.format_exception_only(error)).strip() if error else None,
            trigger=lineage.classify_trigger(
                run["tags"],
                run["run_count"],
                run["auto_scheduled"],
                run["expected_start_time"],
                run["retry_message"],
            ),
            parameters={
                "source": source,
                "target": target,
                "model": model,
                "refresh_cache": refresh_cache,
                "from_task": from_task,
            },
            input=lineage.input_doc(source, raw),
            model=lineage.model_doc(scorer, model),
            outputs=saved.get("outputs", []),
            tasks=[r.to_doc() for r in records],
            tasks_recorded_by="flow",
        )
        path = write_lineage_parquet(doc, lineage_dir())
        in_redis = lineage.write_lineage_redis(doc)
        log.info(
            "Lineage recorded: %s%s",
            path,
            " and Redis" if in_redis else " (not in Redis: AIWF_REDIS_URL unset)",
        )
    except Exception:
        log.exception("could not record lineage for this run")
    return scorer


def _attempt_status(error: BaseException | None) -> str:
    """`completed`, `cancelled` (stopped by a cancel: CancelRequested, or the Runner's
    SIGTERM raised as TerminationSignal) or `failed`."""
    from prefect.exceptions import TerminationSignal

    if error is None:
        return "completed"
    return "cancelled" if isinstance(error, (CancelRequested, TerminationSignal)) else "failed"


def _flow_run_facts() -> dict[str, Any]:
    """This flow run as the API knows it; placeholders when run outside Prefect's API."""
    from prefect.client.orchestration import get_client
    from prefect.context import FlowRunContext

    ctx = FlowRunContext.get()
    flow_run = ctx.flow_run if ctx else None
    facts: dict[str, Any] = {
        "id": str(flow_run.id) if flow_run else "local",
        "name": flow_run.name if flow_run else "local",
        "deployment_name": "",
        "tags": list(flow_run.tags or []) if flow_run else [],
        "run_count": flow_run.run_count if flow_run else 1,
        "auto_scheduled": bool(flow_run.auto_scheduled) if flow_run else False,
        "expected_start_time": None,
        "retry_message": "",
    }
    if flow_run is None:
        return facts
    if flow_run.expected_start_time is not None:
        facts["expected_start_time"] = flow_run.expected_start_time.isoformat()
    with get_client(sync_client=True) as client:
        if flow_run.deployment_id is not None:
            facts["deployment_name"] = client.read_deployment(flow_run.deployment_id).name
        states = client.read_flow_run_states(flow_run.id)
    retries = [s for s in states if s.name == "AwaitingRetry"]
    if retries:
        latest = max(retries, key=lambda s: s.timestamp)
        facts["retry_message"] = latest.message or ""
    return facts
