"""`t` then `c` from the console against the real engine: the cancel goes to the run just
triggered, Prefect cancels that one, and the run the cursor was on before is untouched."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
import redis

from console.app import ConsoleApp
from console.screens.confirm import ConfirmScreen
from console.screens.main import MainScreen
from console.widgets.deployments_table import DeploymentsTable
from console.widgets.runs_table import RunsTable
from engine.contract.command_client import CommandClient
from engine.contract.keys import Keys
from engine.stack.launcher import EmbeddedStack
from engine.store.mirror import RedisMirror
from tests.console.conftest import wait_for
from tests.integration.conftest import send_and_wait, wait_run_final
from tests.integration.conftest import wait_for as wait_sync

pytestmark = pytest.mark.integration

PROD = "ai-inference-prod"


def _commands(client: redis.Redis, keys: Keys) -> list[dict[str, str]]:
    entries: Any = client.xrange(keys.commands)
    return [{k.decode(): v.decode() for k, v in fields.items()} for _id, fields in entries]


def _audited_run(client: redis.Redis, keys: Keys, command_id: str) -> str:
    """The flow run id the engine's audit entry gives for `command_id`, once it is there."""
    entries: Any = client.xrange(keys.audit)
    for _id, fields in entries:
        decoded = {k.decode(): v.decode() for k, v in fields.items()}
        if decoded.get("command_id") == command_id:
            return decoded.get("flow_run_id", "")
    return ""


async def test_c_right_after_t_cancels_the_new_run_in_prefect(
    stack: EmbeddedStack,
    stack_dirs: tuple[Path, Path],
    stack_redis: redis.Redis,
    stack_keys: Keys,
    mirror: RedisMirror,
    commands: CommandClient,
    prefect_client: Any,
) -> None:
    state, _ = stack_dirs
    # The run the cursor is on first: blocked reading a FIFO, so it stays Running.
    fifo = state / "cursor-follow.csv"
    if not fifo.exists():
        os.mkfifo(fifo)
    previous = send_and_wait(commands, "trigger", PROD, {"source": str(fifo)})
    assert previous.ok, previous.message
    old_id = previous.flow_run_id
    wait_sync(
        lambda: (d := mirror.read_flow_run(old_id)) and d["state_type"] == "RUNNING",
        60,
        "the previous run to be running",
    )

    app = ConsoleApp(stack.redis_url, stack_keys, command_timeout=60)
    try:
        async with app.run_test(size=(160, 48)) as pilot:
            runs = app.screen.query_one(RunsTable)
            deployments = app.screen.query_one(DeploymentsTable)
            await wait_for(pilot, lambda: old_id in runs.row_keys(), "the previous run", 30)
            runs.move_cursor(row=runs.row_keys().index(old_id))
            deployments.focus()
            deployments.move_cursor(row=deployments.row_keys().index(PROD))
            sent_before = len(_commands(stack_redis, stack_keys))
            await pilot.press("t")
            await wait_for(
                pilot,
                lambda: len(_commands(stack_redis, stack_keys)) == sent_before + 1,
                "the trigger on the stream",
            )
            trigger = _commands(stack_redis, stack_keys)[-1]
            assert (trigger["action"], trigger["target"]) == ("trigger", PROD)
            new_id = ""

            def moved() -> bool:
                nonlocal new_id
                new_id = new_id or _audited_run(stack_redis, stack_keys, trigger["id"])
                return bool(new_id) and runs.selected_key() == new_id

            await wait_for(pilot, moved, "the cursor on the new run", 60)
            assert new_id != old_id
            # The audit entry can come before the console has the trigger's answer (it
            # polls for it each second): until then `c` says to wait and sends nothing.
            main = app.screen
            assert isinstance(main, MainScreen)
            await wait_for(pilot, lambda: not main.awaiting_new_run, "the trigger answered", 30)
            await pilot.press("c")
            await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the question")
            await pilot.press("y")
            await wait_for(
                pilot,
                lambda: _commands(stack_redis, stack_keys)[-1]["action"] == "cancel",
                "the cancel on the stream",
            )
            cancel = _commands(stack_redis, stack_keys)[-1]
            assert cancel["target"] == new_id
            assert json.loads(cancel["params"]) == {}

        # What Prefect says afterwards: the new run cancelled, the previous one untouched.
        done = wait_run_final(mirror, new_id, timeout=90)
        assert done["state_type"] == "CANCELLED", done
        new_run = await prefect_client.read_flow_run(UUID(new_id))
        assert new_run.state is not None and new_run.state.type.value == "CANCELLED"
        old_run = await prefect_client.read_flow_run(UUID(old_id))
        assert old_run.state is not None and old_run.state.type.value == "RUNNING"
    finally:
        # The FIFO run never ends by itself.
        send_and_wait(commands, "cancel", old_id)
        wait_run_final(mirror, old_id, timeout=90)
