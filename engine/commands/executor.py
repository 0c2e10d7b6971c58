"""Executes operator commands from the Redis command stream against the Prefect API.

Delivery is at-least-once (a consumer group; entries are acknowledged only after the
result and audit entry are written), made exactly-once in effect: a command whose result
already exists is acknowledged without running again, and a trigger uses the command id
as Prefect's idempotency key, so a crash between creating the run and writing the result
cannot create a second run.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import socket
from collections.abc import Awaitable, Callable
from datetime import datetime, timezone
from typing import Any
from uuid import UUID

import redis
from msgspec.structs import replace
from prefect.client.orchestration import PrefectClient, get_client
from prefect.exceptions import ObjectNotFound
from prefect.states import AwaitingRetry, Cancelling

from engine.commands.backfill import run_backfill
from engine.commands.cancel_watch import (
    CancelWatches,
    PrefectRunnerView,
    RunnerView,
    finished_before_cancel,
)
from engine.config.parameter_schema import override_errors
from engine.config.registry import Registry
from engine.contract.command_client import ensure_group
from engine.contract.commands import RUN_ACTIONS, Command, CommandResult
from engine.contract.documents import FINAL_STATE_TYPES
from engine.contract.fire_times import BackfillError, BackfillPlan, plan_backfill
from engine.contract.identity import triggered_by_tag
from engine.contract.keys import ENGINE_GROUP, Keys
from engine.contract.pause_window import AutoResumeStore, WindowError, parse_resume_at
from engine.pipeline.flows import FLOW_TASKS, FLOWS
from engine.store.mirror import RedisMirror

logger = logging.getLogger("aiwf.engine.commands")

READ_BLOCK_MS = 2_000
RETRY_PARAMS = frozenset({"refresh_cache", "from_task"})
"""Parameters a retry command accepts (`refresh_cache`: rerun every task, ignore caches;
`from_task`: rerun that task and the ones after it, reuse the cached ones before it)."""
PAUSE_PARAMS = frozenset({"resume_at"})
"""Parameters a pause command accepts (`resume_at`: ISO time the engine resumes it)."""


Handler = Callable[[PrefectClient, Command], Awaitable[tuple[str, str] | CommandResult]]
"""Carries out one action: (message, flow run id) for an `ok` result, or the result."""


class CommandRejected(Exception):
    """The command cannot be carried out; the message tells the operator why."""


class CommandExecutor:
    def __init__(
        self,
        client: redis.Redis,
        keys: Keys,
        mirror: RedisMirror,
        registry: Registry,
        on_run_changed: Callable[[PrefectClient, str], Awaitable[Any]],
        on_deployment_changed: Callable[[str], None],
        runner: RunnerView | None = None,
    ) -> None:
        self.client = client
        self.keys = keys
        self.mirror = mirror
        self.registry = registry
        self.on_run_changed = on_run_changed
        self.on_deployment_changed = on_deployment_changed
        self.consumer = f"{socket.gethostname()}-engine"
        self.auto_resume = AutoResumeStore(client, keys)
        self.backfills: dict[str, asyncio.Task[None]] = {}
        """Running backfills by command id (kept referenced so they are not collected)."""
        self.run_names: dict[str, str] = {}
        """Names of the runs the command being executed read or created, by id: the audit
        entry names the run (emptied after each command)."""
        self.runner: RunnerView = runner or PrefectRunnerView(None)
        self.cancels = CancelWatches(
            client,
            keys,
            mirror,
            self.runner,
            is_served=lambda deployment_id: bool(registry.name_of(deployment_id)),
            on_run_changed=on_run_changed,
        )

    async def run(self) -> None:
        ensure_group(self.client, self.keys)
        async with get_client() as prefect:
            self._resume_backfills(prefect)
            self.cancels.resume(prefect)
            # Entries delivered to this consumer but never acknowledged: a previous engine
            # stopped mid-command. Handle them before new ones.
            await self._drain(prefect, "0")
            while True:
                await self._drain(prefect, ">")

    async def _drain(self, prefect: PrefectClient, start: str) -> None:
        block = None if start == "0" else READ_BLOCK_MS
        reply: Any = await asyncio.to_thread(
            self.client.xreadgroup,
            ENGINE_GROUP,
            self.consumer,
            {self.keys.commands: start},
            count=50,
            block=block,
        )
        for _stream, entries in reply or []:
            for entry_id, raw in entries:
                fields = {k.decode(): v.decode() for k, v in raw.items()}
                await self.handle(prefect, entry_id, fields)

    async def handle(self, prefect: PrefectClient, entry_id: bytes, fields: dict[str, str]) -> None:
        try:
            command = Command.from_fields(fields)
        except ValueError as exc:
            logger.error("dropping malformed command %s: %s (%s)", entry_id, exc, fields)
            self.client.xack(self.keys.commands, ENGINE_GROUP, entry_id)
            return
        if self.client.exists(self.keys.result(command.id)):
            logger.info("command %s already has a result; not running it again", command.id)
        else:
            result = await self.execute(prefect, command)
            if not result.final:  # noted before the first result goes out, for a restart
                self.cancels.start(prefect, command, result.flow_run_id)
            self.mirror.record_result(command, result)
            logger.info(
                "%s by %s: %s %s",
                command.describe(),
                command.identity.describe(),
                result.status,
                result.message,
            )
        self.client.xack(self.keys.commands, ENGINE_GROUP, entry_id)

    async def execute(self, prefect: PrefectClient, command: Command) -> CommandResult:
        handlers: dict[str, Handler] = {
            "trigger": self._trigger,
            "retry": self._retry,
            "cancel": self._cancel,
            "pause": self._pause,
            "resume": self._resume,
            "backfill": self._backfill,
        }
        handler = handlers[command.action]
        self.run_names.clear()
        try:
            outcome = await handler(prefect, command)
        except CommandRejected as exc:
            return CommandResult(
                command.id, "error", str(exc), flow_run_name=self._run_name(command, "")
            )
        except Exception as exc:  # the API said no, or is unreachable: report, don't die
            logger.exception("command %s failed", command.id)
            return CommandResult(
                command.id,
                "error",
                f"{type(exc).__name__}: {exc}",
                flow_run_name=self._run_name(command, ""),
            )
        if isinstance(outcome, CommandResult):
            if outcome.flow_run_name:
                return outcome
            return replace(outcome, flow_run_name=self._run_name(command, outcome.flow_run_id))
        message, run_id = outcome
        return CommandResult(
            command.id,
            "ok",
            message,
            flow_run_id=run_id,
            flow_run_name=self._run_name(command, run_id),
        )

    def _run_name(self, command: Command, run_id: str) -> str:
        """The name of the run a command created or acted on, if the engine read it."""
        wanted = run_id or (command.target if command.action in RUN_ACTIONS else "")
        return self.run_names.get(wanted, "") if wanted else ""

    def _deployment(self, name: str) -> tuple[str, dict[str, Any], str]:
        deployment = self.registry.by_name.get(name)
        if deployment is None:
            known = ", ".join(sorted(self.registry.by_name)) or "none"
            raise CommandRejected(f"unknown deployment {name!r} (served: {known})")
        return deployment.id, deployment.parameters, deployment.spec.flow_name

    async def _trigger(self, prefect: PrefectClient, command: Command) -> tuple[str, str]:
        deployment_id, defaults, flow_name = self._deployment(command.target)
        accepted = set(inspect.signature(FLOWS[flow_name].fn).parameters)
        unknown = sorted(set(command.params) - accepted)
        if unknown:
            raise CommandRejected(
                f"{flow_name} does not accept parameter(s) {', '.join(unknown)}; "
                f"it accepts {', '.join(sorted(accepted))}"
            )
        problems = override_errors(
            self.registry.by_name[command.target].parameter_schema, command.params
        )
        if problems:
            raise CommandRejected(f"{'; '.join(problems)}; nothing was started")
        run = await prefect.create_flow_run_from_deployment(
            UUID(deployment_id),
            parameters=defaults | command.params,
            idempotency_key=f"aiwf-command-{command.id}",
            tags=[triggered_by_tag(command.identity)],
        )
        self.run_names[str(run.id)] = run.name
        await self.on_run_changed(prefect, str(run.id))
        overrides = f" with {command.params}" if command.params else ""
        return f"triggered {command.target}{overrides}: run {run.name}", str(run.id)

    async def _read_run(self, prefect: PrefectClient, run_id: str) -> Any:
        try:
            run = await prefect.read_flow_run(UUID(run_id))
        except (ObjectNotFound, ValueError) as exc:
            raise CommandRejected(f"no flow run {run_id!r} in Prefect") from exc
        self.run_names[run_id] = self.run_names[str(run.id)] = run.name
        return run

    async def _retry(self, prefect: PrefectClient, command: Command) -> tuple[str, str]:
        unknown = sorted(set(command.params) - RETRY_PARAMS)
        if unknown:
            raise CommandRejected(
                f"retry does not accept parameter(s) {', '.join(unknown)}; "
                f"it accepts {', '.join(sorted(RETRY_PARAMS))}"
            )
        full = command.params.get("refresh_cache", False)
        if not isinstance(full, bool):
            raise CommandRejected(f"retry: refresh_cache must be true or false, not {full!r}")
        from_task = command.params.get("from_task", "")
        if not isinstance(from_task, str):
            raise CommandRejected(f"retry: from_task must be a task name, not {from_task!r}")
        if full and from_task:
            raise CommandRejected(
                "retry: refresh_cache reruns every task already; send it or from_task, not both"
            )
        run = await self._read_run(prefect, command.target)
        state_type = run.state.type.value if run.state else "UNKNOWN"
        if state_type not in FINAL_STATE_TYPES:
            raise CommandRejected(
                f"run {run.name} is {state_type}; only finished runs "
                f"({', '.join(sorted(FINAL_STATE_TYPES))}) can be retried"
            )
        if run.deployment_id is None:
            raise CommandRejected(f"run {run.name} has no deployment to run it again")
        if from_task:
            self._check_task(str(run.deployment_id), from_task)
        # A retry reuses the run's parameters; refresh_cache and from_task are set on every
        # retry, so a forced rerun does not stick to the attempts after it.
        parameters = dict(run.parameters or {})
        if "refresh_cache" in parameters or full:
            parameters["refresh_cache"] = full
        if "from_task" in parameters or from_task:
            parameters["from_task"] = from_task
        if parameters != dict(run.parameters or {}):
            await prefect.update_flow_run(run.id, parameters=parameters)
        await prefect.set_flow_run_state(
            run.id,
            AwaitingRetry(
                scheduled_time=datetime.now(timezone.utc),
                message=f"retry requested by {command.identity.describe()}",
            ),
            force=True,
        )
        await self.on_run_changed(prefect, str(run.id))
        how = " without cache (all tasks rerun)" if full else ""
        if from_task:
            how = f" from {from_task} (it and the tasks after it rerun)"
        return f"retrying run {run.name}{how} (was {state_type})", str(run.id)

    def _check_task(self, deployment_id: str, task: str) -> None:
        """Rejects a `from_task` that the run's flow does not have, naming the valid ones."""
        name = self.registry.name_of(deployment_id)
        flow_name = self.registry.flow_of(name)
        tasks = FLOW_TASKS.get(flow_name)
        if tasks is None:
            raise CommandRejected(
                f"retry: cannot check from_task {task!r}: deployment {name or deployment_id} "
                "is not served by this engine"
            )
        if task not in tasks:
            raise CommandRejected(
                f"retry: unknown task {task!r} for from_task; {flow_name} has {', '.join(tasks)}"
            )

    async def _cancel(self, prefect: PrefectClient, command: Command) -> CommandResult:
        """Proposes Cancelling; `ok` only if Prefect already reports the run Cancelled,
        else `cancelling`, and the cancel watch writes the final result.

        Never a forced Cancelled: one set while the Runner starts the run's process was
        undone by the process's Running (see engine/commands/cancel_watch.py). Unforced, the server
        turns Cancelling into Cancelled for a Scheduled run with nothing to stop.
        """
        run = await self._read_run(prefect, command.target)
        state_type = run.state.type.value if run.state else "UNKNOWN"
        was = (run.state.name if run.state else None) or state_type
        if state_type in FINAL_STATE_TYPES:
            raise CommandRejected(f"run {run.name} already finished ({was})")
        await prefect.set_flow_run_state(
            run.id, Cancelling(message=f"cancelled by {command.identity.describe()}")
        )
        await self.on_run_changed(prefect, str(run.id))
        now = await self._read_run(prefect, command.target)
        now_type = now.state.type.value if now.state else "UNKNOWN"
        if now_type == "CANCELLED" and not self.runner.owns(run.id):
            return CommandResult(
                command.id, "ok", f"cancelled run {run.name} (was {was})", flow_run_id=str(run.id)
            )
        if now_type in FINAL_STATE_TYPES - {"CANCELLED"}:
            return CommandResult(
                command.id, "error", finished_before_cancel(run.name, now_type), str(run.id)
            )
        return CommandResult(
            command.id,
            "cancelling",
            f"cancelling run {run.name} (was {was}); done when Prefect reports it Cancelled",
            flow_run_id=str(run.id),
        )

    async def _pause(self, prefect: PrefectClient, command: Command) -> tuple[str, str]:
        deployment_id, _, _ = self._deployment(command.target)
        unknown = sorted(set(command.params) - PAUSE_PARAMS)
        if unknown:
            raise CommandRejected(
                f"pause does not accept parameter(s) {', '.join(unknown)}; "
                f"it accepts {', '.join(sorted(PAUSE_PARAMS))}"
            )
        resume_at = None
        if command.params.get("resume_at") is not None:
            try:
                resume_at = parse_resume_at(command.params["resume_at"], datetime.now(timezone.utc))
            except WindowError as exc:
                raise CommandRejected(str(exc)) from exc
        await prefect.pause_deployment(deployment_id)
        # A pause without a window replaces any earlier window: paused means paused.
        if resume_at is None:
            self.auto_resume.clear(command.target)
        else:
            self.auto_resume.set(command.target, resume_at)
        self.on_deployment_changed(command.target)
        if resume_at is not None:
            until = resume_at.astimezone(timezone.utc).isoformat(timespec="seconds")
            return f"paused {command.target} until {until}; the engine resumes it then", ""
        return f"paused {command.target}: no new scheduled runs until resumed", ""

    async def _resume(self, prefect: PrefectClient, command: Command) -> tuple[str, str]:
        deployment_id, _, _ = self._deployment(command.target)
        await prefect.resume_deployment(deployment_id)
        window = self.auto_resume.clear(command.target)
        self.on_deployment_changed(command.target)
        note = " (its auto-resume is cancelled)" if window else ""
        return f"resumed {command.target}{note}", ""

    async def _backfill(self, prefect: PrefectClient, command: Command) -> tuple[str, str]:
        deployment_id, defaults, _ = self._deployment(command.target)
        spec = self.registry.by_name[command.target].spec
        try:
            plan = plan_backfill(
                spec.cron, spec.timezone, command.params, datetime.now(timezone.utc)
            )
        except BackfillError as exc:
            raise CommandRejected(f"backfill {command.target}: {exc}") from exc
        # The result goes out now; the runs follow, as the concurrency limit allows.
        self._start_backfill(prefect, command, deployment_id, defaults, plan)
        first, last = plan.fires[0], plan.fires[-1]
        return (
            f"backfilling {command.target}: {len(plan.fires)} run(s) for fire times "
            f"{first:%Y-%m-%d %H:%M} .. {last:%Y-%m-%d %H:%M} {plan.zone}, "
            f"at most {plan.max_concurrent} at once",
            "",
        )

    def _start_backfill(
        self,
        prefect: PrefectClient,
        command: Command,
        deployment_id: str,
        parameters: dict[str, Any],
        plan: BackfillPlan,
    ) -> None:
        """Runs the backfill in the background, noted in `{p}:backfills` until every run
        is created, so an engine that stops halfway resumes it when it starts again."""
        if command.id in self.backfills:
            return  # a redelivered command, or resumed already
        self.client.hset(self.keys.backfills, command.id, json.dumps(command.to_fields()))

        async def backfill() -> None:
            await run_backfill(
                prefect, command, deployment_id, parameters, plan, self.on_run_changed
            )
            # Reached when every run was created or the backfill failed (logged): either
            # way, nothing to resume. A stopping engine cancels this task before it.
            self.client.hdel(self.keys.backfills, command.id)

        task = asyncio.create_task(backfill())
        self.backfills[command.id] = task
        task.add_done_callback(lambda _: self.backfills.pop(command.id, None))

    def _resume_backfills(self, prefect: PrefectClient) -> None:
        """Restarts the backfills a previous engine left unfinished. Runs it created
        already are found again by their idempotency keys, never created twice."""
        entries: Any = self.client.hgetall(self.keys.backfills)
        for raw_id, raw in entries.items():
            command_id = raw_id.decode()
            try:
                command = Command.from_fields(json.loads(raw))
                deployment_id, defaults, _ = self._deployment(command.target)
                spec = self.registry.by_name[command.target].spec
                plan = plan_backfill(
                    spec.cron, spec.timezone, command.params, datetime.now(timezone.utc)
                )
            except (ValueError, CommandRejected) as exc:
                logger.error("not resuming backfill %s: %s", command_id, exc)
                self.client.hdel(self.keys.backfills, command_id)
                continue
            logger.info("resuming backfill %s of %s", command_id, command.target)
            self._start_backfill(prefect, command, deployment_id, defaults, plan)
