"""Which tasks a retry reuses and which it reruns: one rule for the flow and the preview.

The flow (engine/pipeline/inference.py) takes the tasks it must rerun from here, and the
console's retry preview (console/screens/retry_confirm.py) computes its "Reused" and
"Rerun" lists with `plan_retry`, so the dialog cannot promise what the flow will not do.
Stdlib only: the console imports this module, and it must stay light.

What Prefect does on a retry of a flow run: every task is called again as a new task run.
A task with a content cache key and a persisted result is `Cached` when a result for its
key is stored, which is the case once any attempt completed it with the same input (its
key names the input file's bytes, or the rows plus the model); `refresh_cache` makes it
run anyway. A task without a cache (save_results: writing the partitions is the point of
a rerun) always runs.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

INFERENCE_FLOW = "ai-inference-pipeline"


@dataclass(frozen=True)
class FlowTasks:
    """A flow's tasks as a retry sees them."""

    flow_name: str
    order: tuple[str, ...]
    """Task names in the order the flow calls them: what `from_task` may name."""
    cached: frozenset[str]
    """Tasks whose results persist under a content cache key, so a retry can reuse them.
    Must match the tasks' decorators (tests/engine/test_retry_plan.py checks it)."""


INFERENCE_TASKS = FlowTasks(
    flow_name=INFERENCE_FLOW,
    order=("load_raw_data", "run_inference", "save_results"),
    cached=frozenset({"load_raw_data", "run_inference"}),
)
FLOW_TASKS: dict[str, FlowTasks] = {INFERENCE_FLOW: INFERENCE_TASKS}
"""Every flow the engine serves, by flow name."""

RETRY_PARAMETERS = frozenset({"refresh_cache", "from_task"})
"""Flow parameters that are retry controls: a retry command sets them (`r` on a run, or
`aiwf-engine retry --full / --from-task`); the trigger form does not offer them."""

FINISHED_STATE_NAMES = frozenset({"Completed", "Cached"})
"""Task state names after which the task's result is stored (for a cached task)."""


class UnknownTaskError(ValueError):
    """`from_task` names no task of the flow; the message lists the ones it has."""


def tasks_to_refresh(
    tasks: FlowTasks, from_task: str = "", refresh_cache: bool = False
) -> frozenset[str]:
    """Task names that must run even if a cached result exists: every task for
    `refresh_cache`, `from_task` and the tasks after it for `from_task`, else none.

    Raises:
        UnknownTaskError: `from_task` is not one of `tasks.order`.
    """
    if refresh_cache:
        return frozenset(tasks.order)
    if not from_task:
        return frozenset()
    if from_task not in tasks.order:
        raise UnknownTaskError(
            f"from_task {from_task!r} is not a task of {tasks.flow_name}; "
            f"choose one of {', '.join(tasks.order)}"
        )
    return frozenset(tasks.order[tasks.order.index(from_task) :])


@dataclass(frozen=True)
class RetryPlan:
    """What one retry will do, task by task, in call order."""

    reused: tuple[str, ...]
    """Tasks that will be Cached: their stored result is returned, they do not run."""
    rerun: tuple[str, ...]
    """Tasks that will run (if the flow gets that far)."""


def plan_retry(
    tasks: FlowTasks,
    finished: Iterable[str],
    *,
    refresh_cache: bool = False,
    from_task: str = "",
) -> RetryPlan:
    """The plan of a retry of a run whose attempts so far finished the tasks `finished`
    (Completed or Cached, in any attempt).

    A task is reused when it is cached, not refreshed by `refresh_cache`/`from_task`, and
    some attempt finished it: its result is stored under the key the retry computes again,
    as long as its input (file bytes, model) did not change in between. Everything else
    reruns, including tasks no attempt reached.

    Raises:
        UnknownTaskError: `from_task` is not one of `tasks.order`.
    """
    refresh = tasks_to_refresh(tasks, from_task, refresh_cache)
    done = set(finished)
    # must_run is what the flow passes as each task call's refresh_cache: the same rule.
    reused = tuple(
        name for name in tasks.order if not must_run(tasks, name, refresh) and name in done
    )
    rerun = tuple(name for name in tasks.order if name not in reused)
    return RetryPlan(reused, rerun)


def must_run(tasks: FlowTasks, name: str, refresh: frozenset[str]) -> bool:
    """Whether task `name` ignores a stored result in this attempt (the flow's
    `refresh_cache` option for the task call)."""
    return name in refresh or name not in tasks.cached
