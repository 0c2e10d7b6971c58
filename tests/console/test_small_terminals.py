"""Every screen and modal opens, takes `?` and the `:` command line, without crashing at 80x24
and at a tiny 40x10; at 80x24 the command line's hints and the timeline's rows stay readable.

Each feature's own module checks its screen's keys at these sizes too (test_deployment_screen,
test_runs_marks, test_retry_from_task, test_outputs, test_backfill_dialog);
test_small_terminals_fit checks that rows and buttons stay visible at 40x10."""

from __future__ import annotations

from typing import Any

import pytest
from textual.screen import Screen
from textual.widgets import Label

from console.cmdline.screen import CommandLineScreen
from console.logs.screen import LogScreen
from console.logs.view import LogView
from console.screens.audit import AuditScreen
from console.screens.audit_entry import AuditEntryScreen
from console.screens.confirm import ConfirmScreen
from console.screens.deployment import DeploymentScreen
from console.screens.help import HelpScreen
from console.screens.main import MainScreen
from console.screens.partitions import PartitionsScreen
from console.screens.protected_confirm import ProtectedConfirmScreen
from console.screens.run import RunScreen
from console.screens.timeline import TimelineScreen
from console.screens.writers import WritersScreen
from console.widgets.runs_table import RunsTable
from console.widgets.timeline import RunTimeline
from engine.store.mirror import RedisMirror
from tests.console.conftest import AppFactory, fill_standard, wait_for
from tests.console.test_audit import audit
from tests.console.test_command_line import keys_of


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


@pytest.mark.parametrize("size", [(80, 24), (40, 10)], ids=["80x24", "40x10"])
async def test_every_screen_takes_help_and_the_command_line(
    size: tuple[int, int], make_app: AppFactory, mirror: RedisMirror
) -> None:
    fill_standard(mirror)
    audit(mirror, "trigger", "ai-inference-prod", message="started run witty-fox")
    app = make_app()
    async with app.run_test(size=size) as pilot:
        await wait_for(pilot, lambda: app.screen.query_one(RunsTable).row_count == 3, "runs")
        assert isinstance(app.screen, MainScreen)

        async def opened(screen: Screen[Any]) -> None:
            app.push_screen(screen)
            await pilot.pause()
            assert app.screen is screen
            await pilot.press("question_mark")
            assert isinstance(app.screen, HelpScreen)
            await pilot.press("down", "escape", "colon")
            assert isinstance(app.screen, CommandLineScreen)
            await pilot.press(*keys_of("dep"), "tab", "escape")
            assert app.screen is screen

        screens: list[Screen[Any]] = [
            RunScreen(app.ctx, "run-running"),
            TimelineScreen(app.ctx, "run-running"),
            LogScreen(app.ctx, "run-running", None),
            DeploymentScreen(app.ctx, "ai-inference-prod"),
            AuditScreen(app.ctx),
            PartitionsScreen(app.ctx, None),
            WritersScreen(app.ctx, "ai-inference-prod", "date=2026-11-25"),
        ]
        for screen in screens:
            await opened(screen)
        timeline = screens[1]
        assert isinstance(timeline, TimelineScreen)
        chart = timeline.query_one(RunTimeline)
        assert "infer-0" in str(chart.render())
        assert all(
            len(line.plain) <= chart.content_size.width
            for line in chart.lines(chart.content_size.width)
        )
        # Back to the main screen with the command line, from the top of a deep stack.
        await pilot.press("colon", *keys_of("dp"), "enter")
        assert isinstance(app.screen, MainScreen) and len(app.screen_stack) == 1
        await pilot.press("colon", *keys_of("deploy "))
        hints = str(app.screen.query_one("#command-hints", Label).render())
        if size[0] >= 80:
            assert "ai-inference-prod  nightly-report" in hints
        await pilot.press("escape")
        assert isinstance(app.screen, MainScreen)
