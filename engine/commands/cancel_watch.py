"""Sees a cancel through to the run's final state: the engine says `ok` only when Prefect
reports the run Cancelled.

Why a watch is needed: Prefect's Runner moves a run Scheduled -> Pending -> Submitting and
then starts a process, which proposes Running. A Cancelled state forced in between was
taken back by that Running proposal (the server lets a flow leave Cancelled for Running),
and the run completed and wrote its partitions after the console had said "cancelled".
So a cancel only ever proposes Cancelling (never a forced Cancelled while something may
still start the run): the server turns it into Cancelled for a Scheduled run with nothing
to stop, refuses Running for a Cancelling one, and the Runner kills a process it owns. The
watch then makes sure the run ends: it asks the Runner to stop a process it has (its
event-driven observer misses a Cancelling set before the process was registered), marks
Cancelled a run that nothing will execute any more, and writes the final result and
audit entry: `ok` when Cancelled, else `run NAME completed before the cancel took effect`.

Pending watches are kept in `{p}:cancel_watches` so an engine restarted mid-watch resumes
them and still writes the final result.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol
from uuid import UUID

from msgspec.structs import replace
from prefect.client.orchestration import PrefectClient
from prefect.exceptions import ObjectNotFound
from prefect.states import Cancelled, Cancelling

from engine.contract.commands import Command, CommandResult, decode_command
from engine.contract.documents import FINAL_STATE_TYPES
from engine.store.off_loop import EngineStore

logger = logging.getLogger("aiwf.engine.cancel")

WATCH_TIMEOUT_SECONDS = 900.0
"""A cancel still not final after this long gets an error result (the Runner kills a
process within its 30 s grace; longer means nothing of ours runs it)."""
POLL_SECONDS = 0.5
UNOWNED_GRACE_SECONDS = 3.0
"""A Cancelling run our Runner neither submits nor runs is marked Cancelled only after this
long, so a process the Runner is just starting gets registered (and killed) first."""
_FINISHED_WORDS = {"COMPLETED": "completed", "FAILED": "failed", "CRASHED": "crashed"}


def finished_before_cancel(name: str, state_type: str) -> str:
    """`run NAME completed before the cancel took effect` (failed/crashed alike)."""
    word = _FINISHED_WORDS.get(state_type, state_type.lower())
    return f"run {name} {word} before the cancel took effect"


class RunnerView(Protocol):
    """What the watch needs to know of the Runner that executes this engine's runs."""

    def owns(self, run_id: UUID) -> bool:
        """The Runner is submitting the run or runs its process."""
        ...

    def has_process(self, run_id: UUID) -> bool: ...

    async def stop(self, run_id: UUID) -> None:
        """Kills the run's process and marks it Cancelled (Prefect's own sequence)."""
        ...


class PrefectRunnerView:
    """RunnerView over `prefect.runner.Runner` (Prefect 3.9).

    Reads private attributes: Prefect has no public "is this run yours" call. If an
    upgrade renames them, `owns` falls back to False and the grace period in the watch
    is what keeps a starting process from being declared Cancelled under it.
    """

    def __init__(self, runner: Any) -> None:
        self.runner = runner

    def has_process(self, run_id: UUID) -> bool:
        manager = getattr(self.runner, "_process_manager", None)
        handle = manager.get(run_id) if manager is not None else None
        return handle is not None and handle.returncode is None

    def owns(self, run_id: UUID) -> bool:
        poller = getattr(self.runner, "_scheduled_run_poller", None)
        submitting: set[UUID] = getattr(poller, "_submitting_flow_run_ids", set())
        return run_id in submitting or self.has_process(run_id)

    async def stop(self, run_id: UUID) -> None:
        cancel_run = getattr(self.runner, "_cancel_run", None)
        if cancel_run is not None:
            await cancel_run(run_id)


class CancelWatches:
    """Starts, persists and resumes the watches of cancels that are not final yet."""

    def __init__(
        self,
        store: EngineStore,
        runner: RunnerView,
        is_served: Callable[[str], bool],
        on_run_changed: Callable[[PrefectClient, str], Awaitable[Any]],
        timeout: float = WATCH_TIMEOUT_SECONDS,
    ) -> None:
        self.store = store
        """Redis, reached off the loop: every call goes through `store.call`."""
        self.runner = runner
        self.is_served = is_served
        """Whether a deployment id is one this engine's Runner executes."""
        self.on_run_changed = on_run_changed
        self.timeout = timeout
        self.tasks: dict[str, asyncio.Task[None]] = {}
        """Running watches by command id (kept referenced so they are not collected)."""
        self._stopping: set[UUID] = set()
        self._names: dict[str, str] = {}
        """Names of the watched runs by id, so the final result names its run."""

    async def start(self, prefect: PrefectClient, command: Command, run_id: str) -> None:
        """Notes the watch in Redis (before the first result goes out) and starts it.

        Nothing is awaited after the task is created, so the caller's next Redis call (the
        `cancelling` result) is queued before anything the watch writes.
        """
        if command.id in self.tasks:
            return
        store = self.store
        saved = json.dumps({"command": command.to_fields(), "flow_run_id": run_id})
        await store.call(store.client.hset, store.keys.cancel_watches, command.id, saved)
        if command.id in self.tasks:
            return  # started meanwhile
        task = asyncio.create_task(self._watch(prefect, command, run_id))
        self.tasks[command.id] = task
        task.add_done_callback(lambda _: self.tasks.pop(command.id, None))

    async def resume(self, prefect: PrefectClient) -> None:
        """Restarts the watches a previous engine left without a final result."""
        store = self.store
        entries: Any = await store.call(store.client.hgetall, store.keys.cancel_watches)
        for raw_id, raw in entries.items():
            command_id = raw_id.decode(errors="replace")
            try:
                saved = json.loads(raw)
                command = decode_command(saved["command"], command_id)
                run_id = str(saved["flow_run_id"])
            except (ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
                # Garbage in our own key: skip it with the key named, never exit.
                key = store.keys.cancel_watches
                logger.warning("not resuming cancel watch %s[%s]: %s", key, command_id, exc)
                await store.call(store.client.hdel, store.keys.cancel_watches, raw_id)
                continue
            logger.info("resuming the watch of cancel %s (run %s)", command_id, run_id)
            await self.start(prefect, command, run_id)

    async def _watch(self, prefect: PrefectClient, command: Command, run_id: str) -> None:
        try:
            result = await self.outcome(prefect, command, run_id)
        except Exception as exc:  # the API went away for good: say so, don't die silently
            logger.exception("cancel watch %s failed", command.id)
            result = CommandResult(
                command.id,
                "error",
                f"could not confirm the cancel of run {run_id}: {type(exc).__name__}: {exc}",
                flow_run_id=run_id,
            )
        try:
            await self.on_run_changed(prefect, run_id)
        except Exception:
            logger.exception("could not mirror run %s after its cancel", run_id)
        if not result.flow_run_name and self._names.get(run_id):
            # The audit trail names the run, as it does the first (cancelling) entry.
            result = replace(result, flow_run_name=self._names[run_id])
        store = self.store
        await store.call(store.record_result, command, result, True)
        logger.info("cancel %s of run %s: %s %s", command.id, run_id, result.status, result.message)

    async def outcome(self, prefect: PrefectClient, command: Command, run_id: str) -> CommandResult:
        """Polls the run until Prefect reports it final, nudging it there; the final result."""
        uuid = UUID(run_id)
        deadline = time.monotonic() + self.timeout
        unowned_since: float | None = None
        message = f"cancelled by {command.identity.describe()}"
        name, state_name = run_id, "UNKNOWN"
        while True:
            try:
                run = await prefect.read_flow_run(uuid)
            except ObjectNotFound:
                return CommandResult(
                    command.id, "error", f"run {name} was deleted from Prefect", flow_run_id=run_id
                )
            name = run.name
            self._names[run_id] = name
            state_type = run.state.type.value if run.state else "UNKNOWN"
            state_name = (run.state.name if run.state else None) or state_type
            if state_type == "CANCELLED" and not self.runner.has_process(uuid):
                return CommandResult(command.id, "ok", f"cancelled run {name}", flow_run_id=run_id)
            if state_type in FINAL_STATE_TYPES - {"CANCELLED"}:
                return CommandResult(
                    command.id,
                    "error",
                    finished_before_cancel(name, state_type),
                    flow_run_id=run_id,
                )
            if self.runner.has_process(uuid):
                # Cancelling (or Cancelled under a live process, set by someone else): the
                # Runner kills it and reports Cancelled.
                unowned_since = None
                self._stop_soon(uuid)
            elif state_type == "CANCELLING":
                served = run.deployment_id is not None and self.is_served(str(run.deployment_id))
                if not served or self.runner.owns(uuid):
                    unowned_since = None  # its owner starts or stops it; wait for that
                else:
                    now = time.monotonic()
                    unowned_since = unowned_since or now
                    if now - unowned_since >= UNOWNED_GRACE_SECONDS:
                        # Nothing runs it and nothing will: a process that starts later finds
                        # it Cancelling and the server refuses it Running.
                        await prefect.set_flow_run_state(
                            uuid,
                            Cancelled(message=f"{message}; no process was running it"),
                            force=True,
                        )
            elif state_type != "CANCELLED":
                # Not cancelling (any more): propose it again; the server decides as above.
                unowned_since = None
                await prefect.set_flow_run_state(uuid, Cancelling(message=message))
            if time.monotonic() >= deadline:
                return CommandResult(
                    command.id,
                    "error",
                    f"run {name} is still {state_name} {self.timeout:.0f}s after the cancel; "
                    "no process of this engine runs it: check the worker that does",
                    flow_run_id=run_id,
                )
            await asyncio.sleep(POLL_SECONDS)

    def _stop_soon(self, run_id: UUID) -> None:
        if run_id in self._stopping:
            return
        self._stopping.add(run_id)

        async def stop() -> None:
            try:
                await self.runner.stop(run_id)
            except Exception:
                logger.exception("the runner could not stop run %s", run_id)
            finally:
                self._stopping.discard(run_id)

        task = asyncio.create_task(stop())
        self.tasks[f"stop-{run_id}"] = task
        task.add_done_callback(lambda _: self.tasks.pop(f"stop-{run_id}", None))
