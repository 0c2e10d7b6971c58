"""What a command must satisfy before the engine acts on it; each refusal says why.

Pure checks over the registry and the command's parameters: nothing here talks to Redis
or Prefect, so a refused command changes nothing. The executor
(engine/commands/executor.py) runs them and turns a `CommandRejected` into the command's
`error` result.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from engine.config.parameter_schema import override_errors
from engine.config.registry import ForeignDeployment, RegisteredDeployment, Registry
from engine.contract.commands import Command, CommandResult
from engine.contract.documents import FINAL_STATE_TYPES
from engine.contract.fire_times import BackfillError, BackfillPlan, plan_backfill
from engine.contract.logical_date import LOGICAL_DATE_PARAM, in_zone, parse_logical_date
from engine.contract.pause_window import WindowError, parse_resume_at
from engine.pipeline import locations
from engine.pipeline.flows import FLOW_TASKS, FLOWS

RETRY_PARAMS = frozenset({"refresh_cache", "from_task"})
"""Parameters a retry command accepts (`refresh_cache`: rerun every task, ignore caches;
`from_task`: rerun that task and the ones after it, reuse the cached ones before it)."""
PAUSE_PARAMS = frozenset({"resume_at"})
"""Parameters a pause command accepts (`resume_at`: ISO time the engine resumes it)."""


class CommandRejected(Exception):
    """The command cannot be carried out; the message tells the operator why."""


def served(registry: Registry, name: str, action: str = "") -> RegisteredDeployment:
    """The deployment `name` if this engine serves it."""
    deployment = registry.by_name.get(name)
    if deployment is None:
        foreign = registry.foreign.get(name)
        if foreign is not None:
            raise CommandRejected(
                f"{action or 'this'}: {name} is served by {foreign.served_by}, not by this "
                "engine; only the engine's own deployments (config/deployments) take it"
            )
        known = ", ".join(sorted(registry.by_name)) or "none"
        others = (
            f"; {len(registry.foreign)} more listed from the Prefect estate, named flow/name"
            if registry.foreign
            else ""
        )
        raise CommandRejected(f"unknown deployment {name!r} (served: {known}){others}")
    return deployment


def listed(registry: Registry, name: str) -> RegisteredDeployment | ForeignDeployment:
    """The deployment `name`, served by this engine or elsewhere in the estate."""
    foreign = registry.foreign.get(name)
    return foreign if foreign is not None else served(registry, name)


def check_foreign_trigger(deployment: ForeignDeployment, params: Mapping[str, Any]) -> None:
    """A trigger's overrides, checked against the schema Prefect holds for the flow (the
    engine does not have the flow itself): unknown names and wrong types are refused."""
    schema = deployment.parameter_schema
    properties = schema.get("properties")
    if isinstance(properties, dict):
        _only(deployment.name, params, frozenset(properties))
    problems = override_errors(schema, dict(params)) if schema else []
    if problems:
        raise CommandRejected(f"{'; '.join(problems)}; nothing was started")


def _only(action: str, params: Mapping[str, Any], accepted: frozenset[str]) -> None:
    unknown = sorted(set(params) - accepted)
    if unknown:
        raise CommandRejected(
            f"{action} does not accept parameter(s) {', '.join(unknown)}; "
            f"it accepts {', '.join(sorted(accepted))}"
        )


def check_trigger(deployment: RegisteredDeployment, params: Mapping[str, Any]) -> None:
    """A trigger's overrides must be parameters of the deployment's flow, of their types; a
    `source` or `target` URL one this install can open (else the extra it needs is named)."""
    flow_name = deployment.spec.flow_name
    _only(flow_name, params, frozenset(inspect.signature(FLOWS[flow_name].fn).parameters))
    problems = override_errors(deployment.parameter_schema, dict(params))
    for key in locations.DATA_PARAMETERS:
        value = params.get(key)
        problem = locations.missing_support(value) if isinstance(value, str) else None
        if problem is not None:
            problems.append(f"parameter {key}: {problem}")
    if problems:
        raise CommandRejected(f"{'; '.join(problems)}; nothing was started")


def trigger_parameters(
    deployment: RegisteredDeployment, params: Mapping[str, Any], now: datetime
) -> dict[str, Any]:
    """A trigger's overrides with `logical_date` set: the operator's date (`--date`,
    checked and written as ISO in the deployment's zone) or `now` in that zone.

    Set on every trigger, so the run's parameters in Prefect show the date it computes and
    its retries compute the same one (engine/pipeline/run_date.py)."""
    check_trigger(deployment, params)
    zone = deployment.spec.timezone
    given = params.get(LOGICAL_DATE_PARAM)
    if given in (None, ""):
        return {**params, LOGICAL_DATE_PARAM: in_zone(now, zone).isoformat()}
    if not isinstance(given, str):
        given = str(given)  # `-p logical_date=2026-11-01` arrives as a YAML date
    try:
        moment = parse_logical_date(given, zone)
    except ValueError as exc:
        raise CommandRejected(f"{exc}; nothing was started") from exc
    return {**params, LOGICAL_DATE_PARAM: moment.isoformat()}


def retry_options(params: Mapping[str, Any]) -> tuple[bool, str]:
    """A retry's (refresh_cache, from_task), checked before the run is read."""
    _only("retry", params, RETRY_PARAMS)
    full = params.get("refresh_cache", False)
    if not isinstance(full, bool):
        raise CommandRejected(f"retry: refresh_cache must be true or false, not {full!r}")
    from_task = params.get("from_task", "")
    if not isinstance(from_task, str):
        raise CommandRejected(f"retry: from_task must be a task name, not {from_task!r}")
    if full and from_task:
        raise CommandRejected(
            "retry: refresh_cache reruns every task already; send it or from_task, not both"
        )
    return full, from_task


def check_retryable(run_name: str, state_type: str, deployment_id: object) -> None:
    """Only a finished run of a deployment can be run again."""
    if state_type not in FINAL_STATE_TYPES:
        raise CommandRejected(
            f"run {run_name} is {state_type}; only finished runs "
            f"({', '.join(sorted(FINAL_STATE_TYPES))}) can be retried"
        )
    if deployment_id is None:
        raise CommandRejected(f"run {run_name} has no deployment to run it again")


def check_refresh_cache(run_name: str, parameters: Mapping[str, Any]) -> None:
    """A flow the engine does not serve takes `refresh_cache` only if it has it."""
    if "refresh_cache" not in parameters:
        raise CommandRejected(
            f"retry: refresh_cache needs a flow that takes it; run {run_name}'s flow "
            "(not served by this engine) has no such parameter; retry it without"
        )


def check_task(registry: Registry, deployment_id: str, task: str) -> None:
    """Rejects a `from_task` that the run's flow does not have, naming the valid ones."""
    name = registry.served_name_of(deployment_id)
    flow_name = registry.flow_of(name) if name else ""
    tasks = FLOW_TASKS.get(flow_name)
    if tasks is None:
        raise CommandRejected(
            f"retry: cannot check from_task {task!r}: deployment "
            f"{registry.name_of(deployment_id) or deployment_id} is not served by this engine"
        )
    if task not in tasks:
        raise CommandRejected(
            f"retry: unknown task {task!r} for from_task; {flow_name} has {', '.join(tasks)}"
        )


def pause_until(params: Mapping[str, Any], now: datetime) -> datetime | None:
    """A pause's `resume_at` (None: paused until resumed), checked against `now`."""
    _only("pause", params, PAUSE_PARAMS)
    if params.get("resume_at") is None:
        return None
    try:
        return parse_resume_at(params["resume_at"], now)
    except WindowError as exc:
        raise CommandRejected(str(exc)) from exc


def backfill_plan(
    deployment: RegisteredDeployment, params: Mapping[str, Any], now: datetime
) -> BackfillPlan:
    """The fire times a backfill of `deployment` runs, from its window in `params`."""
    spec = deployment.spec
    try:
        return plan_backfill(spec.cron, spec.timezone, dict(params), now)
    except BackfillError as exc:
        raise CommandRejected(f"backfill {spec.name}: {exc}") from exc


def expired_result(command: Command, now: datetime) -> CommandResult | None:
    """The refusal of a command that reached the engine after its deadline, else None."""
    if not command.expired(now):
        return None
    return CommandResult(
        command.id,
        "error",
        f"refused, not executed: {command.describe()} expired at {command.deadline} "
        f"(sent at {command.sent_at}) before the engine could start it; send it again if "
        "it is still wanted",
    )
