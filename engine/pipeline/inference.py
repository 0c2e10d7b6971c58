"""The AI inference flow: load a CSV batch, score it with a versioned model, write
date-partitioned parquet, record the attempt's lineage.

This is the seed article's pipeline made honest: the model is a real, versioned scorer
instead of hard-coded predictions, there is no constant cache key that would replay
yesterday's output, retries are reserved for errors that can go away by themselves, and a
rerun replaces the partitions it writes instead of appending duplicates. The tasks live in
engine/pipeline/tasks.py (load, score) and engine/pipeline/storage.py (save); the flow stays
here, where deployments' entrypoint (`engine.pipeline.inference.ai_inference_pipeline`)
finds it.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable
from typing import Any

import msgspec
import pandas as pd
from prefect import flow
from prefect.states import State

from engine.contract import retry_plan
from engine.contract.documents import Lineage, LineageOutput
from engine.contract.logical_date import PARTITION_FORMAT, render, uses_logical_date
from engine.contract.secrets import secret_names_in_schema
from engine.contract.times import utc_now_iso
from engine.lineage import record as lineage
from engine.lineage.table import lineage_dir, write_lineage_parquet
from engine.pipeline import locations
from engine.pipeline.model import Model, ModelError, load_model
from engine.pipeline.run_date import run_logical_date
from engine.pipeline.storage import COMMITTED, CancelRequested, save_results
from engine.pipeline.tasks import load_raw_data, run_inference

FLOW_NAME = retry_plan.INFERENCE_FLOW
TASKS = retry_plan.INFERENCE_TASKS
"""This flow's tasks, which of them are cached, and so what a retry reruns: one rule with
the console's retry preview (engine/contract/retry_plan.py)."""
TASK_ORDER = TASKS.order
"""The flow's tasks in the order it calls them: `from_task` names one of these."""


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
    logical_date: str = "",
) -> dict[str, Any]:
    """Score one batch: `source` CSV -> `model` -> parquet partitions under `target`.

    `logical_date` is the date the run computes (YYYY-MM-DD or ISO; empty: the run's
    scheduled fire time, see engine/pipeline/run_date.py). `{date:FMT}` in `source`,
    `target` and `model` is resolved with it, and a run whose parameters use it writes one
    partition, `date=` its logical date, instead of one per day of the rows' timestamps.

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
    when = run_logical_date(logical_date)
    dated = uses_logical_date([source, target, model])
    source, target, model = render([source, target, model], when)
    partition_date = when.strftime(PARTITION_FORMAT) if dated else ""
    facts = (when.isoformat(), from_task)
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
            records,
            "save_results",
            lambda: save_results(scored, target, partition_date, return_state=True),
        )
    except BaseException as exc:
        # A cancel's signal held through the commit lands after it: the partitions are
        # written even though save_results did not return.
        saved = saved or COMMITTED.get(target, {})
        _record_lineage(source, target, model, refresh_cache, raw, records, saved, exc, facts)
        raise
    scorer = _record_lineage(source, target, model, refresh_cache, raw, records, saved, None, facts)
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
    facts: tuple[str, str],
) -> Model | None:
    """Builds and writes this attempt's lineage. A lineage write that fails is logged,
    never turned into a failed run: the data was written either way.

    `facts` is (logical date as ISO, from_task); `source`, `target` and `model` are the
    values the run used (templates resolved)."""
    logical_date, from_task = facts
    from prefect.logging import get_run_logger

    log = get_run_logger()
    try:
        scorer: Model | None = load_model(model)
    except ModelError:
        scorer = None
    try:
        run = _flow_run_facts()
        record = Lineage(
            flow_run_id=run["id"],
            flow_run_name=run["name"],
            deployment_name=run["deployment_name"],
            recorded_at=utc_now_iso(),
            status=_attempt_status(error),
            written=saved.get("written", "none"),
            error="".join(traceback.format_exception_only(error)).strip() if error else None,
            trigger=msgspec.structs.replace(
                lineage.classify_trigger(
                    run["tags"],
                    run["run_count"],
                    run["auto_scheduled"],
                    run["expected_start_time"],
                    run["retry_message"],
                ),
                logical_date=logical_date,
            ),
            parameters={
                "source": source,
                "target": target,
                "model": model,
                "refresh_cache": refresh_cache,
                "from_task": from_task,
                "logical_date": logical_date,
            },
            input=lineage.input_doc(source, raw, locations.content_facts(source)),
            model=lineage.model_doc(scorer, model),
            outputs=msgspec.convert(saved.get("outputs", []), list[LineageOutput]),
            tasks=[r.to_doc() for r in records],
            tasks_recorded_by="flow",
        )
        # The parameters the deployment marks secret, as fingerprints: lineage is read by
        # anyone who may read Redis or the state dir, the values are Prefect's to keep.
        doc = lineage.masked(record, run["secret_parameters"])
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
        "secret_parameters": frozenset(),
    }
    if flow_run is None:
        return facts
    if flow_run.expected_start_time is not None:
        facts["expected_start_time"] = flow_run.expected_start_time.isoformat()
    with get_client(sync_client=True) as client:
        if flow_run.deployment_id is not None:
            deployment = client.read_deployment(flow_run.deployment_id)
            facts["deployment_name"] = deployment.name
            facts["secret_parameters"] = secret_names_in_schema(
                deployment.parameter_openapi_schema or {}
            )
        states = client.read_flow_run_states(flow_run.id)
    retries = [s for s in states if s.name == "AwaitingRetry"]
    if retries:
        latest = max(retries, key=lambda s: s.timestamp)
        facts["retry_message"] = latest.message or ""
    return facts
