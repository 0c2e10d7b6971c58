"""`T` and `p` from the console against the real engine, and a window across a restart."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import redis
from textual.widgets import Input

from console.app import ConsoleApp
from console.screens.pause_confirm import PauseConfirmScreen
from console.screens.trigger_form import TriggerFormScreen
from console.screens.trigger_preview import TriggerPreviewScreen
from console.widgets.deployments_table import DeploymentsTable
from engine.contract.command_client import CommandClient
from engine.contract.keys import Keys
from engine.contract.pause_window import AutoResumeStore
from engine.stack.launcher import EmbeddedStack
from engine.store.mirror import RedisMirror
from tests.console.conftest import wait_for
from tests.integration.conftest import send_and_wait, wait_run_final
from tests.integration.conftest import wait_for as wait_sync

pytestmark = pytest.mark.integration

PROD = "ai-inference-prod"
CANARY = "ai-inference-canary"


async def test_trigger_form_runs_with_the_overrides_and_pause_window_shows(
    stack: EmbeddedStack,
    stack_keys: Keys,
    mirror: RedisMirror,
    commands: CommandClient,
    tmp_path: Path,
) -> None:
    target = str(tmp_path / "from-the-form")
    app = ConsoleApp(stack.redis_url, stack_keys, command_timeout=60)
    async with app.run_test(size=(160, 48)) as pilot:
        deployments = app.screen.query_one(DeploymentsTable)
        await wait_for(pilot, lambda: PROD in deployments.row_keys(), "deployments", 20)
        deployments.focus()
        deployments.move_cursor(row=deployments.row_keys().index(PROD))
        await pilot.press("T")
        form = app.screen
        assert isinstance(form, TriggerFormScreen)
        # refresh_cache is a retry control: not on the form.
        assert not form.query("#param-refresh_cache")
        form.query_one("#param-target", Input).value = target
        form.query_one("#param-model", Input).value = "scorer-v1"  # unchanged: not sent
        form.action_review()
        await pilot.pause()
        assert isinstance(app.screen, TriggerPreviewScreen)
        before = set(app.store.flow_runs)
        await pilot.press("y")
        await wait_for(
            pilot,
            lambda: any(
                run.parameters.get("target") == target
                for run_id, run in app.store.flow_runs.items()
                if run_id not in before and run.deployment_name == PROD
            ),
            "the run with the form's target on screen",
            30,
        )
    run_id = next(  # with the form's target: a schedule firing meanwhile adds a run too
        run_id
        for run_id, run in app.store.flow_runs.items()
        if run_id not in before
        and run.deployment_name == PROD
        and run.parameters.get("target") == target
    )
    done = wait_run_final(mirror, run_id)
    assert done["state_type"] == "COMPLETED"
    assert done["parameters"]["target"] == target
    assert done["parameters"].get("refresh_cache", False) is False

    app = ConsoleApp(stack.redis_url, stack_keys, command_timeout=60)
    async with app.run_test(size=(160, 48)) as pilot:
        deployments = app.screen.query_one(DeploymentsTable)
        await wait_for(pilot, lambda: CANARY in deployments.row_keys(), "deployments", 20)
        deployments.focus()
        deployments.move_cursor(row=deployments.row_keys().index(CANARY))
        await pilot.press("p")
        assert isinstance(app.screen, PauseConfirmScreen)
        await pilot.press("2", "h", "enter")
        try:
            await wait_for(
                pilot,
                lambda: (
                    "paused until" in deployments.get_row(CANARY)[2].plain
                    and "(in 1h 59m)" in deployments.get_row(CANARY)[2].plain
                ),
                "paused until on screen",
                60,  # the session engine runs commands one at a time, behind other tests'
            )
        except AssertionError as exc:
            shown = deployments.get_row(CANARY)[2].plain
            told = [n.message for n in app._notifications]
            raise AssertionError(f"{exc}; the cell says {shown!r}; notifications {told}") from exc
    assert send_and_wait(commands, "resume", CANARY).ok


def test_a_window_survives_an_engine_restart(
    stack: EmbeddedStack,
    mirror: RedisMirror,
    commands: CommandClient,
    stack_redis: redis.Redis,
    stack_keys: Keys,
) -> None:
    assert stack.engine is not None
    resume_at = datetime.now(timezone.utc) + timedelta(seconds=8)
    paused = send_and_wait(commands, "pause", CANARY, {"resume_at": resume_at.isoformat()})
    assert paused.ok, paused.message
    stack.engine.stop()
    try:
        assert AutoResumeStore(stack_redis, stack_keys).when(CANARY) is not None
    finally:
        stack.engine.start()
    doc: Any = wait_sync(
        lambda: (d := mirror.read_deployment(CANARY)) and not d["paused"] and d,
        60,
        "resumed by the restarted engine",
    )
    assert doc["resume_at"] is None
    assert datetime.now(timezone.utc) >= resume_at
