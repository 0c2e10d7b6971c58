"""The console against Redis filled by the real engine: keys in, live state out."""

from __future__ import annotations

from typing import Any

import pytest

from console.app import ConsoleApp
from console.logs.screen import LogScreen
from console.logs.view import LogView
from console.screens.run import RunScreen
from console.widgets.deployments_table import DeploymentsTable
from console.widgets.runs_table import RunsTable
from console.widgets.task_runs_table import TaskRunsTable
from engine.contract.keys import Keys
from engine.stack.launcher import EmbeddedStack
from engine.store.mirror import RedisMirror
from tests.console.conftest import wait_for
from tests.integration.keyboard_trigger import trigger_with_t

pytestmark = pytest.mark.integration

PROD = "ai-inference-prod"


def cell_texts(table: Any, key: str) -> list[str]:
    return [cell.plain for cell in table.get_row(key)]


async def test_trigger_from_the_keyboard_shows_the_run_complete_and_its_logs(
    stack: EmbeddedStack,
    stack_keys: Keys,
    mirror: RedisMirror,
) -> None:
    app = ConsoleApp(stack.redis_url, stack_keys, command_timeout=60)
    async with app.run_test(size=(160, 48)) as pilot:
        deployments = app.screen.query_one(DeploymentsTable)
        await wait_for(pilot, lambda: PROD in deployments.row_keys(), "deployments", 20)
        deployments.focus()
        deployments.move_cursor(row=deployments.row_keys().index(PROD))
        runs = app.screen.query_one(RunsTable)
        run_id = await trigger_with_t(pilot, mirror.client, stack_keys, PROD, runs)
        # No further key: the state the engine mirrors shows up by itself.
        await wait_for(
            pilot,
            lambda: any("Completed" in c for c in cell_texts(runs, run_id)),
            "the run to show Completed",
            90,
        )
        assert mirror.read_flow_run(run_id)["state_type"] == "COMPLETED"  # type: ignore[index]

        runs.focus()
        runs.move_cursor(row=runs.row_keys().index(run_id))
        await pilot.press("enter")
        assert isinstance(app.screen, RunScreen)
        tasks = app.screen.query_one(TaskRunsTable)
        await wait_for(pilot, lambda: tasks.row_count == 3, "three task runs", 30)
        save = next(k for k in tasks.row_keys() if cell_texts(tasks, k)[0].startswith("save"))
        await wait_for(pilot, lambda: "Completed" in cell_texts(tasks, save)[1], "save done", 30)

        tasks.focus()
        tasks.move_cursor(row=tasks.row_keys().index(save))
        await pilot.press("enter")
        assert isinstance(app.screen, LogScreen)
        view = app.screen.query_one(LogView)
        await wait_for(
            pilot,
            lambda: any("Saved 3000 records" in row for row in view.visible_text()),
            "the save_results log line",
            30,
        )


async def test_pause_and_resume_from_the_keyboard(
    stack: EmbeddedStack,
    stack_keys: Keys,
    mirror: RedisMirror,
    prefect_client: Any,
) -> None:
    app = ConsoleApp(stack.redis_url, stack_keys, command_timeout=60)
    deployment_id = mirror.read_deployment(PROD)["id"]  # type: ignore[index]
    async with app.run_test(size=(160, 48)) as pilot:
        deployments = app.screen.query_one(DeploymentsTable)
        await wait_for(pilot, lambda: PROD in deployments.row_keys(), "deployments", 20)
        deployments.focus()
        deployments.move_cursor(row=deployments.row_keys().index(PROD))

        await pilot.press("p", "enter")  # the pause dialog: enter = until resumed
        await wait_for(
            pilot, lambda: "Paused" in cell_texts(deployments, PROD)[0], "Paused on screen", 30
        )
        assert (await prefect_client.read_deployment(deployment_id)).paused is True

        await pilot.press("p")
        await wait_for(
            pilot, lambda: "Active" in cell_texts(deployments, PROD)[0], "Active on screen", 30
        )
        assert (await prefect_client.read_deployment(deployment_id)).paused is False
