"""Executes operator commands from the Redis command stream against the Prefect API.

Delivery is at-least-once (a consumer group; entries are acknowledged only after the
result and audit entry are written), made exactly-once in effect: a command whose result
already exists is acknowledged without running again, and a trigger uses the command id
as Prefect's idempotency key, so a crash between creating the run and writing the result
cannot create a second run.
Only the leader runs it; it takes over pending entries as engine/commands/claims.py says.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from contextvars import ContextVar
from datetime import datetime, timezone
from typing import Any
from uuid import UUID

import redis
from msgspec.structs import replace
from prefect.client.orchestration import PrefectClient
from prefect.exceptions import ObjectNotFound
from prefect.states import AwaitingRetry, Cancelling

from engine.commands import pool_actions, secret_params, validation
from engine.commands.backfills import Backfills
from engine.commands.cancel_watch import (
    CancelWatches,
    PrefectRunnerView,
    RunnerView,
    finished_before_cancel,
)
from engine.commands.claims import consumer_name
from engine.commands.consumer import StreamConsumer
from engine.commands.permissions import Operators, Refused, check_command, sender_of
from engine.commands.prefect_budget import PREFECT_COMMAND_SECONDS, prefect_unreachable
from engine.commands.validation import CommandRejected
from engine.config.registry import ForeignDeployment, Registry
from engine.contract.commands import RUN_ACTIONS, BadCommand, Command, CommandResult, decode_command
from engine.contract.documents import FINAL_STATE_TYPES
from engine.contract.identity import triggered_by_tag
from engine.contract.keys import ENGINE_GROUP
from engine.contract.pause_window import AutoResumeStore
from engine.contract.secrets import mask_parameters
from engine.store.off_loop import EngineStore
from engine.store.waiting import within

logger = logging.getLogger("aiwf.engine.commands")

_RUN_NAMES: ContextVar[dict[str, str]] = ContextVar("run_names")


Handler = Callable[[PrefectClient, Command], Awaitable[tuple[str, str] | CommandResult]]
"""Carries out one action: (message, flow run id) for an `ok` result, or the result."""


class CommandExecutor:
    """Reads the command stream and carries out its commands, a few at once, in order per
    target (engine/commands/consumer.py reads the stream).

    Every Redis call goes through `store.call` (off the loop, in order); the blocking
    XREADGROUP uses `reader`, a connection of its own, so the writes never queue behind it.
    """

    def __init__(
        self,
        store: EngineStore,
        registry: Registry,
        on_run_changed: Callable[[PrefectClient, str], Awaitable[Any]],
        on_deployment_changed: Callable[[str], None],
        runner: RunnerView | None = None,
        reader: redis.Redis | None = None,
        operators: Operators | None = None,
        consumer: str = "",
    ) -> None:
        self.store = store
        self.client, self.keys, self.call = store.client, store.keys, store.call
        self.reader = reader or store.client
        self.registry = registry
        self.operators = operators or Operators.open_mode()
        """Who may do what (config/operators.yaml); decides which streams are read."""
        self.streams = self.operators.streams(store.keys)
        self.on_run_changed = on_run_changed
        self.on_deployment_changed = on_deployment_changed
        self.consumer = consumer or consumer_name()
        """Unique per process (host:pid:random): two engines never share pending entries."""
        self.auto_resume = AutoResumeStore(store.client, store.keys)
        self.backfills = Backfills(store, registry, on_run_changed)
        self.runner: RunnerView = runner or PrefectRunnerView(None)
        self.cancels = CancelWatches(
            store,
            self.runner,
            is_served=lambda deployment_id: bool(registry.served_name_of(deployment_id)),
            on_run_changed=on_run_changed,
        )

    async def run(self) -> None:
        logger.info("%s; reading %s", self.operators.describe(), ", ".join(self.streams))
        await StreamConsumer(
            self.store,
            self.reader,
            self.consumer,
            self.streams,
            self.handle,
            self._resume_left_over,
        ).run()

    async def _resume_left_over(self, prefect: PrefectClient) -> None:
        """What a previous engine left running: backfills half created, cancels watched."""
        await self.backfills.resume(prefect)
        await self.cancels.resume(prefect)

    async def stop(self) -> None:
        """Stops its backfills and cancel watches (lease lost: the next leader resumes them)."""
        tasks = [*self.backfills.tasks.values(), *self.cancels.tasks.values()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def handle(
        self,
        prefect: PrefectClient,
        entry_id: bytes,
        raw: Mapping[bytes | str, bytes | str],
        stream: str | None = None,
    ) -> None:
        stream = stream or self.keys.commands
        try:
            command = decode_command(raw, entry_id.decode())
        except BadCommand as bad:
            # A poison pill is answered and acknowledged like any refusal: the sender gets
            # its result, the audit shows it, and a restarted engine does not meet it again.
            logger.error("refusing malformed command %s: %s", entry_id.decode(), bad)
            refusal = CommandResult(bad.command.id, "error", f"malformed command: {bad}")
            await self.call(self.store.record_result, bad.command, refusal)
            await self.call(self.client.xack, stream, ENGINE_GROUP, entry_id)
            return
        refused: CommandResult | None = None
        try:
            command = sender_of(self.operators, self.keys, stream, command)
        except Refused as exc:
            refused = CommandResult(command.id, "error", str(exc))
        if await self.call(self.client.exists, self.keys.result(command.id)):
            logger.info("command %s already has a result; not running it again", command.id)
        else:
            result = refused or validation.expired_result(command, datetime.now(timezone.utc))
            result = result or await self.execute(prefect, command)
            if not result.final:  # noted before the first result goes out, for a restart
                await self.cancels.start(prefect, command, result.flow_run_id)
            stored, result = secret_params.shown(self.registry, command, result)
            await self.call(self.store.record_result, stored, result)
            logger.info(
                "%s by %s: %s %s",
                command.describe(),
                command.identity.describe(),
                result.status,
                result.message,
            )
        await self.call(self.client.xack, stream, ENGINE_GROUP, entry_id)
        if secret_params.carries_secret(self.registry, command):
            await self.call(self.client.xdel, stream, entry_id)

    async def execute(self, prefect: PrefectClient, command: Command) -> CommandResult:
        handlers: dict[str, Handler] = {
            "trigger": self._trigger,
            "retry": self._retry,
            "cancel": self._cancel,
            "pause": self._pause,
            "resume": self._resume,
            "backfill": self._backfill,
            "pause_pool": pool_actions.set_paused,
            "resume_pool": pool_actions.set_paused,
        }
        handler = handlers[command.action]
        _RUN_NAMES.set({})  # each command runs in a task of its own: a context of its own
        try:
            await check_command(self.operators, self.registry, prefect, command)
            outcome = await within(handler(prefect, command), PREFECT_COMMAND_SECONDS)
        except CommandRejected as exc:  # a Refused too: the operators file does not allow it
            return CommandResult(
                command.id, "error", str(exc), flow_run_name=self._run_name(command, "")
            )
        except redis.RedisError:
            raise  # Redis away mid-command: left pending, run again (idempotently) after
        except Exception as exc:  # the API said no, or is unreachable: report, don't die
            # A timeout is the budget running out (asyncio's TimeoutError is an OSError).
            timed_out = isinstance(exc, asyncio.TimeoutError)
            reason = prefect_unreachable(
                str(prefect.api_url), None if timed_out else exc, PREFECT_COMMAND_SECONDS
            )
            if reason is None:
                logger.exception("command %s failed", command.id)
            else:
                logger.warning("command %s failed: %s", command.id, reason)
            return CommandResult(
                command.id,
                "error",
                reason or f"{type(exc).__name__}: {exc}",
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

    @property
    def run_names(self) -> dict[str, str]:
        """Names of the runs the command being executed read or created, by id: the audit
        entry names the run (one dict per command, in its task's context)."""
        return _RUN_NAMES.get()

    def _run_name(self, command: Command, run_id: str) -> str:
        """The name of the run a command created or acted on, if the engine read it."""
        wanted = run_id or (command.target if command.action in RUN_ACTIONS else "")
        return self.run_names.get(wanted, "") if wanted else ""

    async def _trigger(self, prefect: PrefectClient, command: Command) -> tuple[str, str]:
        deployment = validation.listed(self.registry, command.target)
        if isinstance(deployment, ForeignDeployment):
            # Prefect adds the deployment's own parameters under the overrides.
            validation.check_foreign_trigger(deployment, command.params)
            parameters = dict(command.params)
        else:
            params = validation.trigger_parameters(
                deployment, command.params, datetime.now(timezone.utc)
            )
            parameters = deployment.parameters | params
        run = await prefect.create_flow_run_from_deployment(
            UUID(deployment.id),
            parameters=parameters,
            idempotency_key=f"aiwf-command-{command.id}",
            tags=[triggered_by_tag(command.identity)],
        )
        self.run_names[str(run.id)] = run.name
        await self.on_run_changed(prefect, str(run.id))
        secret = (
            frozenset()
            if isinstance(deployment, ForeignDeployment)
            else deployment.spec.secret_parameters
        )
        shown = mask_parameters(command.params, secret)
        overrides = f" with {shown}" if command.params else ""
        return f"triggered {command.target}{overrides}: run {run.name}", str(run.id)

    async def _read_run(self, prefect: PrefectClient, run_id: str) -> Any:
        try:
            run = await prefect.read_flow_run(UUID(run_id))
        except (ObjectNotFound, ValueError) as exc:
            raise CommandRejected(f"no flow run {run_id!r} in Prefect") from exc
        self.run_names[run_id] = self.run_names[str(run.id)] = run.name
        return run

    async def _retry(self, prefect: PrefectClient, command: Command) -> tuple[str, str]:
        full, from_task = validation.retry_options(command.params)
        run = await self._read_run(prefect, command.target)
        state_type = run.state.type.value if run.state else "UNKNOWN"
        validation.check_retryable(run.name, state_type, run.deployment_id)
        if from_task:
            validation.check_task(self.registry, str(run.deployment_id), from_task)
        # A retry reuses the run's parameters; refresh_cache and from_task are set on every
        # retry, so a forced rerun does not stick to the attempts after it.
        parameters = dict(run.parameters or {})
        if full and not self.registry.served_name_of(str(run.deployment_id)):
            validation.check_refresh_cache(run.name, parameters)
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
        if state_type == "CANCELLED":
            # What was asked is true: ok, so a cancel run again (by a standby taking over
            # from a leader that died after Prefect applied it) is not reported as failed.
            return CommandResult(
                command.id, "ok", f"run {run.name} is already cancelled", flow_run_id=str(run.id)
            )
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
        deployment = validation.listed(self.registry, command.target)
        resume_at = validation.pause_until(command.params, datetime.now(timezone.utc))
        await prefect.pause_deployment(deployment.id)
        # A pause without a window replaces any earlier window: paused means paused.
        if resume_at is None:
            await self.call(self.auto_resume.clear, command.target)
        else:
            await self.call(self.auto_resume.set, command.target, resume_at)
        self.on_deployment_changed(command.target)
        if resume_at is not None:
            until = resume_at.astimezone(timezone.utc).isoformat(timespec="seconds")
            return f"paused {command.target} until {until}; the engine resumes it then", ""
        return f"paused {command.target}: no new scheduled runs until resumed", ""

    async def _resume(self, prefect: PrefectClient, command: Command) -> tuple[str, str]:
        deployment = validation.listed(self.registry, command.target)
        await prefect.resume_deployment(deployment.id)
        window = await self.call(self.auto_resume.clear, command.target)
        self.on_deployment_changed(command.target)
        note = " (its auto-resume is cancelled)" if window else ""
        return f"resumed {command.target}{note}", ""

    async def _backfill(self, prefect: PrefectClient, command: Command) -> tuple[str, str]:
        deployment = validation.served(self.registry, command.target, "backfill")
        plan = validation.backfill_plan(deployment, command.params, datetime.now(timezone.utc))
        # The result goes out now; the runs follow, as the concurrency limit allows.
        await self.backfills.start(prefect, command, deployment.id, deployment.parameters, plan)
        first, last = plan.fires[0], plan.fires[-1]
        return (
            f"backfilling {command.target}: {len(plan.fires)} run(s) for fire times "
            f"{first:%Y-%m-%d %H:%M} .. {last:%Y-%m-%d %H:%M} {plan.zone}, "
            f"at most {plan.max_concurrent} at once",
            "",
        )
