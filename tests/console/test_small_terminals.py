"""Every screen and modal opens without crashing at 80x24 and at a tiny 40x10."""

from __future__ import annotations

from typing import Any

import pytest
from textual.screen import Screen

from console.screens.audit import AuditScreen
from console.screens.audit_entry import AuditEntryScreen
from console.screens.confirm import ConfirmScreen
from console.screens.help import HelpScreen
from console.screens.logs import LogScreen
from console.screens.main import MainScreen
from console.screens.protected_confirm import ProtectedConfirmScreen
from console.screens.run import RunScreen
from console.widgets.log_view import LogView
from console.widgets.runs_table import RunsTable
from engine.mirror import RedisMirror
from tests.console.conftest import AppFactory, fill_standard, wait_for
from tests.console.test_audit import audit


@pytest.mark.parametrize("size", [(80, 24), (40, 10)], ids=["80x24", "40x10"])
async def test_every_screen_and_modal_opens(
    size: tuple[int, int], make_app: AppFactory, mirror: RedisMirror
) -> None:
    fill_standard(mirror)
    audit(mirror, "trigger", "ai-inference-prod", message="started run witty-fox " * 4)
    app = make_app()
    async with app.run_test(size=size) as pilot:
        await wait_for(pilot, lambda: app.screen.query_one(RunsTable).row_count == 3, "runs")
        assert isinstance(app.screen, MainScreen)
        await pilot.press("slash", *"fox", "escape")

        async def opened(screen: Screen[Any]) -> None:
            app.push_screen(screen)
            await pilot.pause()
            assert app.screen is screen
            await pilot.press("question_mark")
            assert isinstance(app.screen, HelpScreen)
            await pilot.press("escape")
            assert app.screen is screen

        await opened(RunScreen(app.ctx, "run-running"))
        log = LogScreen(app.ctx, "run-running", None)
        await opened(log)
        await wait_for(pilot, lambda: log.query_one(LogView).lines_written == 5, "log lines")
        audit_screen = AuditScreen(app.ctx)
        await opened(audit_screen)
        await wait_for(pilot, lambda: audit_screen.table.row_count == 1, "audit entry")
        await pilot.press("enter")  # the entry in full
        assert isinstance(app.screen, AuditEntryScreen)
        await pilot.press("escape")
        assert app.screen is audit_screen
        for modal in (
            ConfirmScreen("Cancel run witty-fox of ai-inference-prod (now ▶ Running)?"),
            ProtectedConfirmScreen("ai-inference-prod", "Trigger ai-inference-prod?"),
        ):
            app.push_screen(modal)
            await pilot.pause()
            assert app.screen is modal
            await pilot.press("escape")
            assert app.screen is audit_screen
        await pilot.press("escape", "escape", "escape")
        assert isinstance(app.screen, MainScreen)
