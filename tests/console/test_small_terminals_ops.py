"""The deployment screen, marks and the bulk confirm work at 80x24 and do not crash at 40x10."""

from __future__ import annotations

import pytest

from console.screens.bulk_confirm import BulkConfirmScreen
from console.screens.deployment import DeploymentScreen
from console.screens.help import HelpScreen
from console.screens.main import MainScreen
from console.widgets.deployments_table import DeploymentsTable
from console.widgets.runs_table import RunsTable
from engine.mirror import RedisMirror
from tests.console.conftest import AppFactory, fill_standard, wait_for


@pytest.mark.parametrize("size", [(80, 24), (40, 10)], ids=["80x24", "40x10"])
async def test_deployment_screen_marks_and_bulk_confirm(
    size: tuple[int, int], make_app: AppFactory, mirror: RedisMirror
) -> None:
    fill_standard(mirror)
    app = make_app()
    async with app.run_test(size=size) as pilot:
        runs = app.screen.query_one(RunsTable)
        await wait_for(pilot, lambda: runs.row_count == 3, "runs")
        app.screen.query_one(DeploymentsTable).focus()
        await pilot.press("d")
        assert isinstance(app.screen, DeploymentScreen)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape", "down", "up", "escape")
        assert isinstance(app.screen, MainScreen)
        runs.focus()
        await pilot.press("f", "R", "o", "O", "asterisk", "r")
        await pilot.press("f", "f", "f", "f", "f", "R", "R", "R", "asterisk", "r")
        assert isinstance(app.screen, BulkConfirmScreen)
        await pilot.press("n")
        assert isinstance(app.screen, MainScreen)
        assert len(runs.marked) == 3
