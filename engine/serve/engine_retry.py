"""The engine's own retries of runs it found lost: Prefect's states, and the audit entry.

A run the engine crashes and runs again (its worker's host went offline, its process went
silent, the engine stopped under it) is an action no operator sent. Like an auto-resume it
is audited as the user `engine`, with a message starting `auto-retry:`, so the audit trail
answers who ran it again and why.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from prefect.client.orchestration import PrefectClient
from prefect.client.schemas.objects import FlowRun
from prefect.states import AwaitingRetry, Crashed

from engine.contract.commands import Command, CommandResult
from engine.contract.identity import Identity
from engine.store.off_loop import EngineStore

AuditRetry = Callable[[FlowRun, str], Awaitable[None]]
"""Records that the engine retried `run`, and why."""


def audited_in(store: EngineStore) -> AuditRetry:
    """An `AuditRetry` that writes the entry to `store` (its audit file, then Redis)."""
    identity = Identity.engine()

    async def audit(run: FlowRun, message: str) -> None:
        command = Command(
            action="retry", target=str(run.id), params={"automatic": True}, identity=identity
        )
        result = CommandResult(
            command.id, "ok", f"auto-retry: {message}", str(run.id), flow_run_name=run.name
        )
        await store.call(store.record_result, command, result)

    return audit


async def retry(
    prefect: PrefectClient, run: FlowRun, message: str, audit: AuditRetry | None = None
) -> None:
    """Puts `run` back as AwaitingRetry, due now: the next runner or worker to poll takes it."""
    await prefect.set_flow_run_state(run.id, AwaitingRetry(message=message), force=True)
    if audit is not None:
        await audit(run, message)


async def crash_and_retry(
    prefect: PrefectClient,
    run: FlowRun,
    message: str,
    retry_message: str | None,
    audit: AuditRetry | None = None,
) -> None:
    """Sets `run` Crashed with `message`; then, given a `retry_message`, AwaitingRetry.

    Crashed first, so the run's history says what happened to the attempt that was lost."""
    await prefect.set_flow_run_state(run.id, Crashed(message=message), force=True)
    if retry_message is not None:
        await retry(prefect, run, retry_message, audit)
