"""One pilot test per binding id (`console.settings.keymap.known_bindings()`): open the screen that
owns it, press its key, check what it did. CASES must name every id, so a new binding
without a case fails `test_cases_name_every_binding_id`.

Deeper tests of each feature live in the feature's own file; these check that the key is
wired to its action on its screen.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
import redis
from textual.pilot import Pilot
from textual.screen import Screen

from console.app import ConsoleApp
from console.cmdline.screen import CommandLineScreen
from console.logs.prompt import LogPrompt
from console.logs.screen import LogScreen
from console.screens.audit import AuditScreen
from console.screens.backfill import BackfillScreen
from console.screens.confirm import ConfirmScreen
from console.screens.deployment import DeploymentScreen
from console.screens.help import HelpScreen
from console.screens.main import MainScreen
from console.screens.outputs import OutputsScreen
from console.screens.partitions import PartitionsScreen
from console.screens.pause_confirm import PauseConfirmScreen
from console.screens.pools import PoolsScreen
from console.screens.retry_confirm import RetryConfirmScreen
from console.screens.run import RunScreen
from console.screens.timeline import TimelineScreen
from console.screens.trigger_form import TriggerFormScreen
from console.screens.writers import WritersScreen
from console.settings.keymap import known_bindings
from console.widgets.deployments_table import DeploymentsTable
from console.widgets.filter_bar import FilterBar
from console.widgets.lineage_panel import LineagePanel
from console.widgets.runs_table import RunsTable
from console.widgets.task_runs_table import TaskRunsTable
from engine.contract.keys import Keys
from engine.store.mirror import RedisMirror
from tests.console.conftest import (
    AppFactory,
    at,
    commands,
    deployment_doc,
    fill_standard,
    task_run_doc,
    wait_for,
)
from tests.console.param_schemas import FLOW_SCHEMA
from tests.console.test_lineage import lineage_doc
from tests.console.test_logs_keys import fetched, open_log, retry_and_ticks
from tests.console.test_pools_screen import pools_doc

Opener = Callable[[Pilot[Any]], Awaitable[Any]]
"""Brings the app to the binding's screen; returns what the check compares against."""
Check = Callable[[ConsoleApp, Any], bool]
"""After the key: did it do its job? Gets the app and the opener's value."""


@dataclass(frozen=True)
class Case:
    open: Opener
    check: Check
    what: str
    """Shown when the check fails."""


def app_of(pilot: Pilot[Any]) -> ConsoleApp:
    app = pilot.app
    assert isinstance(app, ConsoleApp)
    return app


def on(kind: type[Screen[Any]]) -> Check:
    return lambda app, _before: isinstance(app.screen, kind)


# Openers.


async def main_runs(pilot: Pilot[Any]) -> None:
    """The main screen, the cursor on the failed run (brave-otter)."""
    app = app_of(pilot)
    runs = app.screen.query_one(RunsTable)
    await wait_for(pilot, lambda: runs.row_count == 3, "runs")
    runs.focus()
    runs.move_cursor(row=1)
    await pilot.pause()


async def main_running(pilot: Pilot[Any]) -> None:
    """The main screen, the cursor on the running run (witty-fox)."""
    await main_runs(pilot)
    app_of(pilot).screen.query_one(RunsTable).move_cursor(row=0)
    await pilot.pause()


async def main_deployments(pilot: Pilot[Any]) -> None:
    """The main screen, the cursor on the active deployment (ai-inference-prod)."""
    await main_runs(pilot)
    table = app_of(pilot).screen.query_one(DeploymentsTable)
    table.focus()
    table.move_cursor(row=0)
    await pilot.pause()


async def main_marked(pilot: Pilot[Any]) -> None:
    await main_runs(pilot)
    await pilot.press("space")
    assert app_of(pilot).screen.query_one(RunsTable).marked


async def run_screen(pilot: Pilot[Any], row: int = 1) -> RunScreen:
    """The run screen of the failed run (row 1), or of the running one (row 0)."""
    await main_runs(pilot)
    app = app_of(pilot)
    app.screen.query_one(RunsTable).move_cursor(row=row)
    await pilot.press("enter")
    screen = app.screen
    assert isinstance(screen, RunScreen)
    await wait_for(pilot, lambda: screen.query_one(TaskRunsTable).row_count > 0, "tasks")
    return screen


async def failed_run(pilot: Pilot[Any]) -> bool:
    screen = await run_screen(pilot)
    return bool(screen.query_one(LineagePanel).display)


async def running_run(pilot: Pilot[Any]) -> None:
    await run_screen(pilot, row=0)


async def deployment_screen(pilot: Pilot[Any]) -> None:
    await main_deployments(pilot)
    await pilot.press("d")
    assert isinstance(app_of(pilot).screen, DeploymentScreen)


async def timeline_screen(pilot: Pilot[Any]) -> None:
    await run_screen(pilot)
    await pilot.press("g")
    assert isinstance(app_of(pilot).screen, TimelineScreen)


async def outputs_screen(pilot: Pilot[Any]) -> None:
    await run_screen(pilot)
    await pilot.press("o")
    assert isinstance(app_of(pilot).screen, OutputsScreen)


async def audit_screen(pilot: Pilot[Any]) -> None:
    await main_runs(pilot)
    await pilot.press("a")
    assert isinstance(app_of(pilot).screen, AuditScreen)


async def pools_screen(pilot: Pilot[Any]) -> None:
    await main_runs(pilot)
    ctx = app_of(pilot).ctx
    RedisMirror(redis.Redis.from_url(ctx.redis_url), ctx.keys).write_pools(pools_doc())
    await pilot.press("P")
    screen = app_of(pilot).screen
    assert isinstance(screen, PoolsScreen)
    await wait_for(pilot, lambda: bool(screen.queues), "pools")


async def partitions_screen(pilot: Pilot[Any]) -> PartitionsScreen:
    await main_deployments(pilot)
    await pilot.press("w")
    screen = app_of(pilot).screen
    assert isinstance(screen, PartitionsScreen)
    await wait_for(pilot, lambda: len(screen.rows) == 3, "partitions")
    return screen


async def writers_screen(pilot: Pilot[Any]) -> None:
    await partitions_screen(pilot)
    await pilot.press("enter")
    assert isinstance(app_of(pilot).screen, WritersScreen)


async def run_log(pilot: Pilot[Any]) -> LogScreen:
    return await open_log(pilot)


async def task_log(pilot: Pilot[Any]) -> LogScreen:
    return await open_log(pilot, task_row=1)  # infer-0: two attempts


async def follow_state(pilot: Pilot[Any]) -> bool:
    return (await run_log(pilot)).log_view.auto_scroll


async def log_at_top(pilot: Pilot[Any]) -> None:
    screen = await run_log(pilot)
    await pilot.press("g")
    await fetched(pilot, screen)
    assert screen.log_view.scroll_y == 0


async def log_searched(pilot: Pilot[Any]) -> int | None:
    """A search for `tick 5` (11 matches); returns the line it went to."""
    screen = await run_log(pilot)
    await pilot.press("slash", *"tick 5", "enter")
    await wait_for(pilot, lambda: len(screen.shown_matches) == 11, "the matches")
    await fetched(pilot, screen)
    return screen.log_view.current


# Checks.


def log_screen(app: ConsoleApp) -> LogScreen:
    screen = app.screen
    assert isinstance(screen, LogScreen)
    return screen


def prompt_open(mode: str) -> Check:
    def check(app: ConsoleApp, _before: Any) -> bool:
        prompt = log_screen(app).query_one(LogPrompt)
        return bool(prompt.display) and prompt.mode == mode

    return check


def filter_open(app: ConsoleApp, _before: Any) -> bool:
    return bool(app.screen.query_one(FilterBar).display)


def sent(action: str, target: str) -> Check:
    """The command went to the stream (the engine is not running, so it stays queued)."""

    def check(app: ConsoleApp, _before: Any) -> bool:
        client = redis.Redis.from_url(app.store.redis_url)
        try:
            return any(
                c.get("action") == action and c.get("target") == target
                for c in commands(client, app.ctx.keys)
            )
        finally:
            client.close()

    return check


def moved_to_another_match(app: ConsoleApp, before: Any) -> bool:
    screen = log_screen(app)
    return screen.log_view.current != before and screen.log_view.current in screen.shown_matches


CASES: dict[str, Case] = {
    # The app's keys, pressed on the main screen.
    "app.audit": Case(main_runs, on(AuditScreen), "the audit trail opens"),
    "app.command_line": Case(main_runs, on(CommandLineScreen), "the : line opens"),
    "app.help": Case(main_runs, on(HelpScreen), "the key list opens"),
    "app.quit": Case(main_runs, lambda app, _b: app.return_code == 0, "the console exits"),
    "app.writers": Case(main_deployments, on(PartitionsScreen), "the partitions open"),
    "app.pools": Case(main_runs, on(PoolsScreen), "the work pools open"),
    # Main screen.
    "main.back": Case(
        main_marked,
        lambda app, _b: not app.screen.query_one(RunsTable).marked,
        "escape clears the marks",
    ),
    "main.cancel_run": Case(main_running, on(ConfirmScreen), "cancel asks first"),
    "main.deployment": Case(main_deployments, on(DeploymentScreen), "the deployment opens"),
    "main.filter": Case(main_runs, filter_open, "the filter bar opens"),
    "main.pause_toggle": Case(main_deployments, on(PauseConfirmScreen), "pause asks first"),
    "main.retry": Case(main_runs, sent("retry", "run-failed"), "the retry is sent"),
    "main.trigger": Case(
        main_deployments, sent("trigger", "ai-inference-prod"), "the trigger is sent"
    ),
    "main.trigger_with_params": Case(main_deployments, on(TriggerFormScreen), "the form opens"),
    # Run screen.
    "run.back": Case(failed_run, on(MainScreen), "back to the runs"),
    "run.cancel_run": Case(running_run, on(ConfirmScreen), "cancel asks first"),
    "run.filter": Case(failed_run, filter_open, "the filter bar opens"),
    "run.lineage": Case(
        failed_run,
        lambda app, before: app.screen.query_one(LineagePanel).display != before,
        "the lineage panel shows or hides",
    ),
    "run.outputs": Case(failed_run, on(OutputsScreen), "the outputs open"),
    "run.retry": Case(failed_run, on(RetryConfirmScreen), "the retry dialog opens"),
    "run.run_log": Case(
        failed_run,
        lambda app, _b: log_screen(app).task_run_id is None,
        "the whole run's log opens",
    ),
    "run.timeline": Case(failed_run, on(TimelineScreen), "the timeline opens"),
    # Timeline, outputs, audit, partitions, writers, deployment.
    "timeline.back": Case(timeline_screen, on(RunScreen), "back to the run"),
    "timeline.toggle": Case(timeline_screen, on(RunScreen), "back to the task table"),
    "timeline.run_log": Case(timeline_screen, on(LogScreen), "the run log opens"),
    "outputs.back": Case(outputs_screen, on(RunScreen), "back to the run"),
    "audit.back": Case(audit_screen, on(MainScreen), "back to the main screen"),
    "audit.filter": Case(audit_screen, filter_open, "the filter bar opens"),
    "pools.back": Case(pools_screen, on(MainScreen), "back to the main screen"),
    "pools.pause_toggle": Case(pools_screen, on(ConfirmScreen), "pause asks first"),
    "parts.back": Case(partitions_screen, on(MainScreen), "back to the main screen"),
    "writers.back": Case(writers_screen, on(PartitionsScreen), "back to the partitions"),
    "deployment.back": Case(deployment_screen, on(MainScreen), "back to the main screen"),
    "deployment.backfill": Case(deployment_screen, on(BackfillScreen), "the backfill opens"),
    "deployment.pause_toggle": Case(deployment_screen, on(PauseConfirmScreen), "pause asks first"),
    "deployment.trigger_with_params": Case(
        deployment_screen, on(TriggerFormScreen), "the form opens"
    ),
    # Log screen.
    "log.back": Case(run_log, on(RunScreen), "back to the run"),
    "log.toggle_follow": Case(
        follow_state,
        lambda app, before: log_screen(app).log_view.auto_scroll != before,
        "following flips",
    ),
    "log.search": Case(run_log, prompt_open("search"), "the search prompt opens"),
    "log.next_match": Case(log_searched, moved_to_another_match, "the next match"),
    "log.previous_match": Case(log_searched, moved_to_another_match, "the previous match"),
    "log.hide": Case(run_log, prompt_open("hide"), "the hide prompt opens"),
    "log.min_level": Case(run_log, lambda app, _b: log_screen(app).level_choice == 1, "level"),
    "log.window": Case(run_log, lambda app, _b: log_screen(app).window_choice == 1, "window"),
    "log.attempt": Case(
        task_log, lambda app, _b: log_screen(app).filter.attempt == 1, "the first attempt"
    ),
    "log.toggle_wrap": Case(run_log, lambda app, _b: log_screen(app).log_view.wrap, "wrapping"),
    "log.toggle_timestamps": Case(
        run_log, lambda app, _b: not log_screen(app).log_view.timestamps, "no timestamps"
    ),
    "log.top": Case(
        run_log,
        lambda app, _b: (
            log_screen(app).log_view.scroll_y == 0 and not log_screen(app).log_view.auto_scroll
        ),
        "at the first line, not following",
    ),
    "log.bottom": Case(
        log_at_top,
        lambda app, _b: log_screen(app).log_view.scroll_y == log_screen(app).log_view.max_scroll_y,
        "at the last line",
    ),
    "log.save": Case(run_log, prompt_open("save"), "the save prompt opens"),
    "log.from_prefect": Case(
        run_log,
        lambda app, _b: isinstance(app.screen, LogScreen) and bool(app.screen.copy_id),
        "the log from Prefect opens",
    ),
    # Every table (console/widgets/row_table.py): home/end go to the first/last row.
    "table.first": Case(
        main_runs, lambda app, _b: app.screen.query_one(RunsTable).cursor_row == 0, "first row"
    ),
    "table.last": Case(
        main_deployments,
        lambda app, _b: app.screen.query_one(DeploymentsTable).cursor_row == 1,
        "last row",
    ),
}


def test_cases_name_every_binding_id() -> None:
    assert sorted(CASES) == sorted(known_bindings())


@pytest.fixture
def filled(mirror: RedisMirror) -> RedisMirror:
    """fill_standard with a parameter schema, the failed run's tasks, 67 log lines and a
    lineage with 3 partitions."""
    fill_standard(mirror)
    # The trigger form needs the flow's parameter schema.
    mirror.upsert_deployment(deployment_doc(updated=at(0)) | {"parameter_schema": FLOW_SCHEMA})
    for doc in (
        task_run_doc("t-load", "run-failed", "load_raw_data-0", start=at(-90), end=at(-89)),
        task_run_doc(
            "t-infer", "run-failed", "infer-0", state="FAILED", start=at(-89), end=at(-80)
        ),
    ):
        mirror.upsert_task_run(doc)
    mirror.append_logs("run-running", retry_and_ticks())
    mirror.write_lineage(lineage_doc("run-failed", "brave-otter", recorded=at(-80)))
    return mirror


@pytest.mark.parametrize("binding_id", sorted(CASES))
async def test_the_key_does_its_job(
    binding_id: str, make_app: AppFactory, filled: RedisMirror, keys: Keys
) -> None:
    case = CASES[binding_id]
    key = known_bindings()[binding_id].key.split(",")[0]
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        before = await case.open(pilot)
        await pilot.press(key)
        await pilot.pause()

        def done() -> bool:
            try:
                return case.check(app, before)
            except AssertionError:  # e.g. not on the log screen yet: keep waiting
                return False

        await wait_for(pilot, done, f"{binding_id}: {case.what}")
