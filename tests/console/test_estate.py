"""The whole estate on screen: who serves each deployment, protected and read-only rules on a
deployment this engine does not serve, and the lineage panel of a flow that records none."""

from __future__ import annotations

from typing import Any

import redis
from textual.widgets import Static

from console.app import ConsoleApp
from console.screens.deployment import DeploymentScreen
from console.screens.main import MainScreen
from console.screens.protected_confirm import ProtectedConfirmScreen
from console.screens.retry_confirm import RetryConfirmScreen
from console.screens.run import RunScreen
from console.widgets.deployments_table import DeploymentsTable
from console.widgets.lineage_panel import LineagePanel
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
)
from tests.console.test_lineage import rendered

TEAM = "team-flow/daily"
POOL = "etl/hourly"


def fill_estate(mirror: RedisMirror, protected: bool = False) -> None:
    """fill_standard, plus a `flow.serve()` deployment and a work pool's, with one run."""
    fill_standard(mirror)
    team = deployment_doc(TEAM, flow="team-flow", protected=protected, cron="0 3 * * *")
    mirror.upsert_deployment(
        team | {"served_by": "serve", "managed": False, "records_lineage": False}
    )
    pool = deployment_doc(POOL, flow="etl", cron="")
    mirror.upsert_deployment(
        pool | {"served_by": "pool:gpu", "managed": False, "records_lineage": False}
    )
    mirror.upsert_flow_run(
        flow_run_doc("run-team", "quiet-heron", deployment=TEAM, state="COMPLETED", end=at(-1))
        | {"flow_name": "team-flow"}
    )


def served_column(table: DeploymentsTable) -> dict[str, str]:
    """Each row's "Served by" cell, if the column is shown."""
    if "served" not in table.shown_column_keys():
        return {}
    index = table.shown_column_keys().index("served")
    return {key: table.get_row(key)[index].plain for key in table.row_keys()}


async def select_deployment(pilot: Any, app: ConsoleApp, name: str) -> DeploymentsTable:
    table = app.screen.query_one(DeploymentsTable)
    await wait_for(pilot, lambda: len(table.row_keys()) == 4, "every deployment")
    table.focus()

    def selected() -> bool:
        if table.selected_key() != name:
            table.move_cursor(row=table.row_keys().index(name))
        return table.selected_key() == name

    await wait_for(pilot, selected, f"{name} selected")
    await pilot.pause()
    assert table.selected_key() == name
    return table


async def test_the_served_by_column_marks_each_deployment(
    make_app: AppFactory, mirror: RedisMirror
) -> None:
    fill_estate(mirror)
    # One of this engine's config files registers it on a pool: the pool's workers run it.
    ours_on_pool = deployment_doc("ai-inference-pool", cron="")
    mirror.upsert_deployment(ours_on_pool | {"served_by": "pool:cpu", "work_pool": "cpu"})
    # Prefect says nothing has polled these lately (NOT_READY): a run triggered would wait.
    idle = deployment_doc("team-flow/idle", flow="team-flow", cron="")
    unpolled = {"managed": False, "records_lineage": False, "polled": False}
    mirror.upsert_deployment(idle | {"served_by": "serve"} | unpolled)
    idle_pool = deployment_doc("etl/idle", flow="etl", cron="")
    mirror.upsert_deployment(idle_pool | {"served_by": "pool:gpu"} | unpolled)
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        table = app.screen.query_one(DeploymentsTable)
        await wait_for(pilot, lambda: len(table.row_keys()) == 7, "seven deployments")
        await wait_for(pilot, lambda: bool(served_column(table)), "the served-by column")
        assert served_column(table) == {
            "ai-inference-pool": "pool:cpu",
            "ai-inference-prod": "engine",
            POOL: "pool:gpu",
            "etl/idle": "pool:gpu (not polled)",
            "nightly-report": "engine",
            TEAM: "serve",
            "team-flow/idle": "serve (not polled)",
        }
        assert table.column_label("served") == "Served by"


async def test_only_the_engines_own_deployments_show_no_served_by_column(
    make_app: AppFactory, mirror: RedisMirror
) -> None:
    fill_standard(mirror)
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        table = app.screen.query_one(DeploymentsTable)
        await wait_for(pilot, lambda: len(table.row_keys()) == 2, "two deployments")
        assert "served" not in table.shown_column_keys()
        assert "flow" in table.shown_column_keys()  # the room went to the others


async def test_a_protected_foreign_deployment_needs_its_name_typed(
    make_app: AppFactory, mirror: RedisMirror, redis_client: redis.Redis, keys: Keys
) -> None:
    fill_estate(mirror, protected=True)
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await select_deployment(pilot, app, TEAM)
        await pilot.press("t")
        await wait_for(pilot, lambda: isinstance(app.screen, ProtectedConfirmScreen), "dialog")
        await pilot.press(*TEAM, "enter")
        await wait_for(pilot, lambda: len(commands(redis_client, keys)) == 1, "the trigger")
        sent = commands(redis_client, keys)[0]
        assert (sent["action"], sent["target"]) == ("trigger", TEAM)


async def test_a_trigger_of_a_deployment_nothing_polls_is_sent_with_a_warning(
    make_app: AppFactory, mirror: RedisMirror, redis_client: redis.Redis, keys: Keys
) -> None:
    fill_estate(mirror)
    team: Any = mirror.read_deployment(TEAM)
    mirror.upsert_deployment(team | {"polled": False})
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await select_deployment(pilot, app, TEAM)
        await wait_for(pilot, lambda: app.store.deployments[TEAM].polled is False, "not polled")
        await pilot.press("t")
        await wait_for(pilot, lambda: len(commands(redis_client, keys)) == 1, "the trigger")
        sent = commands(redis_client, keys)[0]
        assert (sent["action"], sent["target"]) == ("trigger", TEAM)
        shown = app._notifications
        warned = [n for n in shown if n.title == "Nothing polls this deployment"]
        assert len(warned) == 1 and "waits, Scheduled" in warned[0].message
        assert "served by serve" in warned[0].message


async def test_read_only_refuses_actions_on_a_foreign_deployment(
    make_app: AppFactory, mirror: RedisMirror, redis_client: redis.Redis, keys: Keys
) -> None:
    fill_estate(mirror)
    app = make_app(read_only=True)
    posted = Posted()
    async with app.run_test(size=(120, 40), message_hook=posted.append) as pilot:
        await select_deployment(pilot, app, TEAM)
        screen = app.screen
        assert isinstance(screen, MainScreen)
        screen.action_trigger()  # as the palette would: the key is hidden
        await wait_not_sent(pilot, posted, "trigger", "read-only")
    assert commands(redis_client, keys) == []


async def test_lineage_panel_says_a_foreign_flow_records_none(
    make_app: AppFactory, mirror: RedisMirror
) -> None:
    fill_estate(mirror)
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        runs = app.screen.query_one(RunsTable)
        await wait_for(pilot, lambda: "run-team" in runs.row_keys(), "the team's run")
        runs.focus()
        runs.move_cursor(row=runs.row_keys().index("run-team"))
        await pilot.press("enter")
        assert isinstance(app.screen, RunScreen)
        panel = app.screen.query_one(LineagePanel)
        await wait_for(pilot, lambda: "Not recorded by this flow" in rendered(panel), "text")
        assert "yet" not in rendered(panel)  # never promises it later
        await pilot.press("escape")

        # The engine's own run without a lineage document yet still waits for one.
        runs = app.screen.query_one(RunsTable)
        runs.focus()
        runs.move_cursor(row=runs.row_keys().index("run-running"))
        await pilot.press("enter")
        assert isinstance(app.screen, RunScreen)
        panel = app.screen.query_one(LineagePanel)
        await wait_for(pilot, lambda: "No lineage yet" in rendered(panel), "own run's text")
        assert isinstance(panel, Static)
        await pilot.press("escape")

        # An own run that ended without one is not promised one later.
        runs = app.screen.query_one(RunsTable)
        runs.focus()
        runs.move_cursor(row=runs.row_keys().index("run-done"))
        await pilot.press("enter")
        panel = app.screen.query_one(LineagePanel)
        await wait_for(pilot, lambda: "No lineage recorded" in rendered(panel), "ended run's text")
        assert "yet" not in rendered(panel)


async def test_the_deployment_screen_says_who_serves_a_foreign_one(
    make_app: AppFactory, mirror: RedisMirror
) -> None:
    fill_estate(mirror)
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await select_deployment(pilot, app, POOL)
        await pilot.press("d")
        assert isinstance(app.screen, DeploymentScreen)
        info = str(app.screen.query_one("#deployment-info", Static).render())
        assert "Served by: pool:gpu" in info
        await pilot.press("escape")
        await select_deployment(pilot, app, "ai-inference-prod")
        await pilot.press("d")
        assert isinstance(app.screen, DeploymentScreen)
        assert "Served by" not in str(app.screen.query_one("#deployment-info", Static).render())


async def test_a_foreign_run_offers_only_a_plain_retry(
    make_app: AppFactory, mirror: RedisMirror, redis_client: redis.Redis, keys: Keys
) -> None:
    fill_estate(mirror)
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        runs = app.screen.query_one(RunsTable)
        await wait_for(pilot, lambda: "run-team" in runs.row_keys(), "the team's run")
        runs.focus()
        runs.move_cursor(row=runs.row_keys().index("run-team"))
        await pilot.press("enter")
        assert isinstance(app.screen, RunScreen)
        await pilot.press("r")
        dialog = app.screen
        assert isinstance(dialog, RetryConfirmScreen)
        assert not dialog.query("#retry-full") and not dialog.query("#retry-from")
        await pilot.press("f")  # not offered: nothing happens
        assert app.screen is dialog
        await pilot.press("r")
        await wait_for(pilot, lambda: len(commands(redis_client, keys)) == 1, "the retry")
        sent = commands(redis_client, keys)[0]
        assert (sent["action"], sent["target"], sent["params"]) == ("retry", "run-team", "{}")
