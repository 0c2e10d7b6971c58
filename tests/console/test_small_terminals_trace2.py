"""The retry dialog's task choice, the outputs screen and the backfill dialog work at 80x24
and do not crash at 40x10."""

from __future__ import annotations

import pytest

from console.screens.backfill import BackfillScreen
from console.screens.deployment import DeploymentScreen
from console.screens.outputs import OutputsScreen
from console.screens.retry_confirm import RetryConfirmScreen
from console.screens.run import RunScreen
from console.widgets.deployments_table import DeploymentsTable
from console.widgets.runs_table import RunsTable
from engine.mirror import RedisMirror
from tests.console.conftest import AppFactory, at, fill_standard, wait_for
from tests.console.test_lineage import FAILED_TASKS, lineage_doc
from tests.console.test_outputs import SCHEMA, with_outputs


@pytest.mark.parametrize("size", [(80, 24), (40, 10)], ids=["80x24", "40x10"])
async def test_new_screens_on_small_terminals(
    size: tuple[int, int], make_app: AppFactory, mirror: RedisMirror
) -> None:
    fill_standard(mirror)
    doc = lineage_doc("run-failed", "brave-otter", recorded=at(-80), tasks=FAILED_TASKS)
    mirror.write_lineage(with_outputs(doc, {"2026-11-01": 10}, SCHEMA))
    app = make_app()
    async with app.run_test(size=size) as pilot:
        runs = app.screen.query_one(RunsTable)
        await wait_for(pilot, lambda: runs.row_count == 3, "runs")
        runs.focus()
        runs.move_cursor(row=1)  # brave-otter, failed
        await pilot.press("enter")
        assert isinstance(app.screen, RunScreen)
        await wait_for(pilot, lambda: "run-failed" in app.store.lineage, "lineage")
        await pilot.press("r")
        await wait_for(pilot, lambda: isinstance(app.screen, RetryConfirmScreen), "dialog")
        await pilot.press("escape", "o")
        screen = app.screen
        assert isinstance(screen, OutputsScreen)
        await wait_for(pilot, lambda: screen.comparison is not None, "outputs")
        await pilot.press("down", "up", "escape", "escape")
        app.screen.query_one(DeploymentsTable).focus()
        await pilot.press("d")
        assert isinstance(app.screen, DeploymentScreen)
        await pilot.press("b")
        await wait_for(pilot, lambda: isinstance(app.screen, BackfillScreen), "backfill")
        await pilot.press("tab", "tab", "escape")
        assert isinstance(app.screen, DeploymentScreen)
