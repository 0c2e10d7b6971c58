"""The retry rule (engine/contract/retry_plan.py), pure: which tasks a retry reuses and reruns.

tests/integration/test_retry_preview.py checks the same rule against what Prefect does."""

from __future__ import annotations

import pytest
from prefect.cache_policies import NO_CACHE

from engine.contract.retry_plan import (
    FLOW_TASKS as PLANNED_FLOWS,
)
from engine.contract.retry_plan import (
    INFERENCE_TASKS,
    FlowTasks,
    RetryPlan,
    UnknownTaskError,
    must_run,
    plan_retry,
    tasks_to_refresh,
)
from engine.pipeline import inference as flow
from engine.pipeline.flows import FLOW_TASKS

LOAD, INFER, SAVE = INFERENCE_TASKS.order


def plan(finished: set[str], **params: object) -> RetryPlan:
    return plan_retry(INFERENCE_TASKS, finished, **params)  # type: ignore[arg-type]


def test_a_completed_run_reuses_the_cached_tasks_and_always_reruns_save_results() -> None:
    assert plan({LOAD, INFER, SAVE}) == RetryPlan((LOAD, INFER), (SAVE,))


@pytest.mark.parametrize(
    ("finished", "reused"),
    [
        (set(), ()),  # failed at load_raw_data, or cancelled before any task finished
        ({LOAD}, (LOAD,)),  # failed at run_inference, or crashed while it ran
        ({LOAD, INFER}, (LOAD, INFER)),  # failed at save_results
    ],
    ids=["failed-at-load", "failed-at-inference", "failed-at-save"],
)
def test_a_failed_run_reuses_what_finished_and_reruns_the_rest(
    finished: set[str], reused: tuple[str, ...]
) -> None:
    result = plan(finished)
    assert result.reused == reused
    assert result.rerun == tuple(t for t in INFERENCE_TASKS.order if t not in reused)


def test_from_task_reruns_it_and_the_tasks_after_it() -> None:
    everything = {LOAD, INFER, SAVE}
    assert plan(everything, from_task=LOAD) == RetryPlan((), (LOAD, INFER, SAVE))
    assert plan(everything, from_task=INFER) == RetryPlan((LOAD,), (INFER, SAVE))
    assert plan(everything, from_task=SAVE) == RetryPlan((LOAD, INFER), (SAVE,))


def test_from_task_cannot_reuse_what_no_attempt_finished() -> None:
    # Failed at run_inference: starting at save_results still runs run_inference.
    assert plan({LOAD}, from_task=SAVE) == RetryPlan((LOAD,), (INFER, SAVE))
    assert plan(set(), from_task=SAVE) == RetryPlan((), (LOAD, INFER, SAVE))


def test_full_rerun_reruns_everything() -> None:
    assert plan({LOAD, INFER, SAVE}, refresh_cache=True) == RetryPlan((), (LOAD, INFER, SAVE))


def test_unknown_from_task_names_the_flows_tasks() -> None:
    with pytest.raises(UnknownTaskError, match="load_raw_data, run_inference, save_results"):
        plan(set(), from_task="train")
    with pytest.raises(ValueError, match="'train' is not a task of ai-inference-pipeline"):
        tasks_to_refresh(INFERENCE_TASKS, "train")


def test_must_run_is_refresh_or_uncached() -> None:
    tasks = FlowTasks("f", ("a", "b"), frozenset({"a"}))
    assert not must_run(tasks, "a", frozenset())
    assert must_run(tasks, "a", frozenset({"a"}))
    assert must_run(tasks, "b", frozenset())


def test_the_rule_describes_the_flow_as_it_is_decorated() -> None:
    # The rule's `cached` must be exactly the tasks whose results Prefect persists under a
    # cache key: a task added or decorated differently fails here, not in the preview.
    decorated = {name: getattr(flow, name) for name in INFERENCE_TASKS.order if hasattr(flow, name)}
    assert set(decorated) == set(INFERENCE_TASKS.order)
    cached = {
        name
        for name, task in decorated.items()
        if task.cache_policy is not NO_CACHE and task.persist_result and task.cache_key_fn
    }
    assert cached == INFERENCE_TASKS.cached
    assert INFERENCE_TASKS.order == flow.TASK_ORDER
    assert {name: t.order for name, t in PLANNED_FLOWS.items()} == FLOW_TASKS


def test_retry_parameters_are_what_the_retry_command_takes_and_the_flow_has() -> None:
    from engine.commands.validation import RETRY_PARAMS
    from engine.config.parameter_schema import flow_parameter_schema
    from engine.contract.retry_plan import RETRY_PARAMETERS

    assert RETRY_PARAMETERS == RETRY_PARAMS
    # The trigger form hides these: they must be real parameters of the flow, or hiding
    # them hides nothing.
    schema = flow_parameter_schema(flow.ai_inference_pipeline)
    assert set(schema["properties"]) >= RETRY_PARAMETERS
