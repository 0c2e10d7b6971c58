"""Main screen: tables filled from Redis, live updates, filters, status line."""

from __future__ import annotations

import redis

from console.screens.main import MainScreen
from console.widgets.deployments_table import DeploymentsTable
from console.widgets.runs_table import RunsTable
from console.widgets.status_bar import StatusBar
from engine.contract.keys import Keys
from engine.store.mirror import RedisMirror
from tests.console.conftest import (
    AppFactory,
    at,
    fill_standard,
    flow_run_doc,
    heartbeat_doc,
    wait_for,
    write_heartbeat,
)


def cell_texts(table: RunsTable | DeploymentsTable, key: str) -> list[str]:
    return [cell.plain for cell in table.get_row(key)]


async def test_tables_show_deployments_and_runs_newest_first(
    make_app: AppFactory, mirror: RedisMirror
) -> None:
    fill_standard(mirror)
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        runs = app.screen.query_one(RunsTable)
        deployments = app.screen.query_one(DeploymentsTable)
        await wait_for(pilot, lambda: runs.row_count == 3, "three runs")
        assert runs.row_keys() == ["run-running", "run-failed", "run-done"]
        assert deployments.row_keys() == ["ai-inference-prod", "nightly-report"]
        prod = cell_texts(deployments, "ai-inference-prod")
        assert prod[0] == "● Active"
        # Next and last run come before the schedule and flow, to fit 80 columns.
        # 10:00 UTC is 18:00 in Shanghai: the next fire is 02:00 there, 8 hours ahead.
        assert prod[2] == "02:00 in 8h 00m"
        # The newest started run wins over the deployment's (older) `last_run`.
        assert prod[3] == "▶ Running"
        assert prod[4:] == ["0 2,14 * * * Asia/Shanghai", "ai-inference-pipeline"]
        nightly = cell_texts(deployments, "nightly-report")
        assert nightly[0] == "‖ Paused"
        assert nightly[2] == "— paused"
        assert nightly[3] == "✔ Completed"
        running = cell_texts(runs, "run-running")
        assert running[:3] == ["witty-fox", "ai-inference-prod", "▶ Running"]
        assert running[4] == "5m 00s"
        assert cell_texts(runs, "run-failed")[2:] == [
            "✖ Failed",
            "11-25 08:30:00",
            "7m 00s (Σ 10m 00s)",  # the latest attempt, then the total of both
            "2",
        ]


async def test_state_change_after_start_appears_without_input(
    make_app: AppFactory, mirror: RedisMirror
) -> None:
    fill_standard(mirror)
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        runs = app.screen.query_one(RunsTable)
        await wait_for(pilot, lambda: runs.row_count == 3, "three runs")
        mirror.upsert_flow_run(
            flow_run_doc(
                "run-running",
                "witty-fox",
                state="COMPLETED",
                start=at(-5),
                end=at(-1),
                updated=at(0),
            )
        )
        mirror.upsert_flow_run(flow_run_doc("run-new", "quick-hare", start=at(-0.5), updated=at(0)))
        await wait_for(
            pilot,
            lambda: runs.row_count == 4 and cell_texts(runs, "run-running")[2] == "✔ Completed",
            "the completed run and the new run",
        )
        assert runs.row_keys()[0] == "run-new"
        assert cell_texts(runs, "run-running")[4] == "4m 00s"


async def test_older_document_does_not_replace_newer(
    make_app: AppFactory, mirror: RedisMirror, redis_client: redis.Redis, keys: Keys
) -> None:
    fill_standard(mirror)
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        runs = app.screen.query_one(RunsTable)
        await wait_for(pilot, lambda: runs.row_count == 3, "three runs")
        # A stale update straight onto the stream (the mirror itself would refuse it).
        stale = flow_run_doc("run-failed", "brave-otter", state="RUNNING", updated=at(-60))
        redis_client.xadd(
            keys.updates,
            {"kind": "flow_run", "id": "run-failed", "doc": __import__("json").dumps(stale)},
        )
        marker = flow_run_doc("run-marker", "late-marker", start=at(-1), updated=at(0))
        mirror.upsert_flow_run(marker)
        await wait_for(pilot, lambda: runs.row_count == 4, "the marker run")
        assert cell_texts(runs, "run-failed")[2] == "✖ Failed"


async def test_enter_on_deployment_filters_runs_and_escape_clears(
    make_app: AppFactory, mirror: RedisMirror
) -> None:
    fill_standard(mirror)
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        runs = app.screen.query_one(RunsTable)
        deployments = app.screen.query_one(DeploymentsTable)
        await wait_for(pilot, lambda: runs.row_count == 3, "three runs")
        deployments.focus()
        await pilot.press("down", "enter")  # nightly-report
        assert runs.row_keys() == ["run-done"]
        await pilot.press("enter")
        assert runs.row_count == 3
        await pilot.press("up", "enter")
        assert runs.row_keys() == ["run-running", "run-failed"]
        await pilot.press("escape")
        assert runs.row_count == 3


async def test_slash_filter_narrows_the_focused_table(
    make_app: AppFactory, mirror: RedisMirror
) -> None:
    fill_standard(mirror)
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        runs = app.screen.query_one(RunsTable)
        await wait_for(pilot, lambda: runs.row_count == 3, "three runs")
        runs.focus()
        await pilot.press("slash", *"otter")
        assert runs.row_keys() == ["run-failed"]
        await pilot.press("enter")  # keep the filter, back to the table
        assert app.focused is runs
        assert runs.row_keys() == ["run-failed"]
        await pilot.press("escape")
        assert runs.row_count == 3
        await pilot.press("slash", *"compl", "escape")
        assert runs.row_count == 3


async def test_status_line_shows_connection_engine_and_prefix(
    make_app: AppFactory, mirror: RedisMirror, redis_client: redis.Redis, keys: Keys
) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        bar = app.screen.query_one(StatusBar)
        await wait_for(pilot, lambda: "✖ engine down" in bar.render().plain, "engine down")
        text = bar.render().plain
        assert "● connected" in text and keys.prefix in text and "10:00:00" in text
        write_heartbeat(redis_client, keys)
        await wait_for(pilot, lambda: "♥ engine alive" in bar.render().plain, "engine alive")
        assert "(beat 3s ago)" in bar.render().plain
        # A second engine waiting to take over is said too.
        write_heartbeat(redis_client, keys, heartbeat_doc() | {"standbys": ["ops-2:977:d4e5f6"]})
        await wait_for(pilot, lambda: "(beat 3s ago, 1 standby)" in bar.render().plain, "standby")


async def test_unreachable_redis_shows_disconnected(make_app: AppFactory, tmp_path) -> None:
    app = make_app(f"unix://{tmp_path}/nothing.sock")
    async with app.run_test(size=(120, 40)) as pilot:
        bar = app.screen.query_one(StatusBar)
        await wait_for(pilot, lambda: "✖ disconnected" in bar.render().plain, "disconnected")
        assert "? engine unknown" in bar.render().plain
        assert isinstance(app.screen, MainScreen)


async def test_removed_deployment_disappears(make_app: AppFactory, mirror: RedisMirror) -> None:
    fill_standard(mirror)
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        table = app.screen.query_one(DeploymentsTable)
        await wait_for(pilot, lambda: table.row_count == 2, "deployments")
        mirror.remove_deployment("nightly-report")
        await wait_for(pilot, lambda: table.row_keys() == ["ai-inference-prod"], "removal")
