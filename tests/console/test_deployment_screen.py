"""The deployment screen: `d` opens it; fire times in both zones, runs, sparkline, `p`."""

from __future__ import annotations

from typing import Any

import pytest
import redis

from console.app import ConsoleApp
from console.screens.deployment import DeploymentScreen
from console.screens.help import HelpScreen
from console.screens.main import MainScreen
from console.screens.protected_confirm import ProtectedConfirmScreen
from console.screens.run import RunScreen
from console.widgets.deployment_runs_table import DeploymentRunsTable
from console.widgets.deployments_table import DeploymentsTable
from console.widgets.runs_table import RunsTable
from engine.contract.keys import Keys
from engine.store.mirror import RedisMirror
from tests.console.conftest import (
    AppFactory,
    Posted,
    at,
    commands,
    deployment_doc,
    fill_standard,
    flow_run_doc,
    wait_for,
    wait_not_sent,
    wait_protected,
)
from tests.console.test_help import help_rows


async def open_deployment(pilot: Any, app: ConsoleApp, row: int = 0) -> DeploymentScreen:
    await wait_for(pilot, lambda: app.screen.query_one(RunsTable).row_count >= 3, "runs")
    table = app.screen.query_one(DeploymentsTable)
    table.focus()
    table.move_cursor(row=row)
    await pilot.press("d")
    screen = app.screen
    assert isinstance(screen, DeploymentScreen)
    return screen


async def test_d_shows_schedule_fire_times_runs_and_sparkline(
    make_app: AppFactory, mirror: RedisMirror
) -> None:
    fill_standard(mirror)
    mirror.upsert_flow_run(
        flow_run_doc("run-ok", "neat-crow", state="COMPLETED", start=at(-400), end=at(-399))
    )
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_deployment(pilot, app)  # ai-inference-prod, Asia/Shanghai
        assert screen.deployment_name == "ai-inference-prod"
        info = screen._info().plain
        assert "● Active" in info
        assert "Schedule: 0 2,14 * * * Asia/Shanghai" in info
        assert "Parameters: source=s3://in, target=s3://out" in screen._about().plain
        fires = screen._fires().plain.splitlines()
        assert len(fires) == 11  # the header, then 10 fire times
        assert fires[0].split() == ["In", "Asia/Shanghai", "Local", "(UTC)"]
        # NOW is 10:00 UTC = 18:00 in Shanghai: next 02:00 CST = 18:00 UTC the same day.
        first = "Thu 11-26 02:00 CST  Wed 11-25 18:00 UTC  in 8h 00m"
        assert fires[1].split() == first.split()
        assert fires[2].split()[:7] == ["Thu", "11-26", "14:00", "CST", "Thu", "11-26", "06:00"]
        runs = screen.query_one(DeploymentRunsTable)
        assert runs.row_keys() == ["run-running", "run-failed", "run-ok"]
        spark = screen._spark().plain
        assert "Durations, oldest → newest: ▂█" in spark  # 1 min, then 10 min (top)
        assert "Outcomes,  oldest → newest: ✔✖" in spark
        # A new run of this deployment arrives live; one of another deployment does not.
        mirror.upsert_flow_run(flow_run_doc("run-x", "new-ant", start=at(-1)))
        mirror.upsert_flow_run(flow_run_doc("run-y", "new-bee", deployment="nightly-report"))
        await wait_for(pilot, lambda: runs.row_count == 4, "the new run")
        assert "run-y" not in runs.row_keys()
        await pilot.press("enter")
        assert isinstance(app.screen, RunScreen)
        await pilot.press("escape", "escape")
        assert isinstance(app.screen, MainScreen)


async def test_p_on_the_deployment_screen_pauses_and_resumes(
    make_app: AppFactory, mirror: RedisMirror, redis_client: redis.Redis, keys: Keys
) -> None:
    fill_standard(mirror)
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_deployment(pilot, app, row=1)  # nightly-report, paused
        assert "(paused: these will not fire until resumed)" in screen._fires().plain
        await pilot.press("p")
        await wait_for(pilot, lambda: len(commands(redis_client, keys)) == 1, "resume")
        assert commands(redis_client, keys)[0]["action"] == "resume"
        assert commands(redis_client, keys)[0]["target"] == "nightly-report"


async def test_p_on_a_protected_deployment_needs_its_name(
    make_app: AppFactory, mirror: RedisMirror, redis_client: redis.Redis, keys: Keys
) -> None:
    fill_standard(mirror)
    mirror.upsert_deployment(deployment_doc(protected=True, updated=at(0)))
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_protected(pilot, app)
        screen = await open_deployment(pilot, app)
        assert "⚠ protected" in screen._info().plain
        await pilot.press("p", "enter")  # the pause dialog first, then the name
        assert isinstance(app.screen, ProtectedConfirmScreen)
        await pilot.press(*"ai-inference-prod", "enter")
        await wait_for(pilot, lambda: len(commands(redis_client, keys)) == 1, "pause")
        assert commands(redis_client, keys)[0]["action"] == "pause"


async def test_read_only_hides_p_and_sends_nothing(
    make_app: AppFactory, mirror: RedisMirror, redis_client: redis.Redis, keys: Keys
) -> None:
    fill_standard(mirror)
    app = make_app(read_only=True)
    posted = Posted()
    async with app.run_test(size=(120, 40), message_hook=posted.append) as pilot:
        screen = await open_deployment(pilot, app)
        await pilot.press("p")
        screen.action_pause_toggle()  # as the palette would: refused, after the key
        await wait_not_sent(pilot, posted, "pause/resume", "read-only")
        assert commands(redis_client, keys) == []
        await pilot.press("question_mark")
        assert "p" not in help_rows(app)


async def test_d_is_listed_in_help(make_app: AppFactory, mirror: RedisMirror) -> None:
    fill_standard(mirror)
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.screen.query_one(RunsTable).row_count == 3, "runs")
        await pilot.press("question_mark")
        assert help_rows(app)["d"] == "Details"


async def test_a_removed_deployment_says_so(make_app: AppFactory, mirror: RedisMirror) -> None:
    fill_standard(mirror)
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_deployment(pilot, app, row=1)
        mirror.remove_deployment("nightly-report")
        await wait_for(pilot, lambda: "no longer deployed" in screen._info().plain, "removed")
        assert screen._fires().plain.startswith("—")


@pytest.mark.parametrize("size", [(80, 24), (40, 10)], ids=["80x24", "40x10"])
async def test_deployment_screen_on_small_terminals(
    size: tuple[int, int], make_app: AppFactory, mirror: RedisMirror
) -> None:
    fill_standard(mirror)
    app = make_app()
    async with app.run_test(size=size) as pilot:
        await open_deployment(pilot, app)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape", "down", "up", "escape")
        assert isinstance(app.screen, MainScreen)
