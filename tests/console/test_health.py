"""The console says why it is empty or degraded (issue 10 item 2), with what to do: the
engine's config errors, no engine, Prefect unreachable, no deployments, Redis unreachable;
each cleared when its cause goes. And which Prefect it mirrors (item 4), on the status line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import redis
from textual.pilot import Pilot

from console.app import ConsoleApp
from console.screens.main import MainScreen
from console.widgets.health_panel import HealthPanel
from console.widgets.status_bar import StatusBar
from engine.contract.keys import Keys
from engine.store.mirror import RedisMirror
from tests.console.conftest import (
    NOW,
    AppFactory,
    deployment_doc,
    heartbeat_doc,
    wait_for,
    write_heartbeat,
)
from tests.console.test_snapshots import SHOWN_URL

CONFIG_ERROR = (
    "/etc/aiwf/deployments/nightly.yaml:4: schedule.cron: '0 0 30 2 *' never fires: "
    "February has no 30th; give a day that exists"
)


def _panel(app: object) -> HealthPanel:
    screen = app.screen  # type: ignore[attr-defined]
    assert isinstance(screen, MainScreen)
    return screen.query_one(HealthPanel)


def _shown(panel: HealthPanel) -> str:
    """The panel's text, or '' while it is hidden."""
    return str(panel.render()) if panel.display else ""


def _status(app: object) -> str:
    return app.screen.query_one(StatusBar).render().plain  # type: ignore[attr-defined]


async def test_config_errors_from_the_heartbeat_are_on_screen_until_the_engine_has_none(
    make_app: AppFactory, redis_client: redis.Redis, keys: Keys
) -> None:
    beat = heartbeat_doc() | {"deployments": 0, "config_errors": [CONFIG_ERROR]}
    write_heartbeat(redis_client, keys, beat)
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        panel = _panel(app)
        await wait_for(pilot, lambda: "config error" in _shown(panel), "the config errors")
        text = _shown(panel)
        assert "⚠ 1 config error in /etc/aiwf: those deployments are not served" in text
        assert CONFIG_ERROR in text  # the file, line, field and message
        assert "aiwf-engine validate" in text and "restart the engine" in text
        assert panel.has_class("-warning")
        assert "Deployments (0)" in str(app.screen.query_one("#deployments-title").render())
        assert "♥ engine alive (beat 3s ago) ⚠ 1 config error" in _status(app)
        # The engine restarted with the file fixed: the reason goes.
        write_heartbeat(redis_client, keys, heartbeat_doc())
        await wait_for(pilot, lambda: not panel.display, "the panel hidden")
        assert "config error" not in _status(app)


async def test_no_heartbeat_says_the_engine_is_not_running_and_how_to_start_it(
    make_app: AppFactory, mirror: RedisMirror, redis_client: redis.Redis, keys: Keys
) -> None:
    mirror.upsert_deployment(deployment_doc())
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        panel = _panel(app)
        await wait_for(pilot, lambda: "Engine not running" in _shown(panel), "engine down")
        text = _shown(panel)
        assert f"No heartbeat at {keys.prefix}:engine:heartbeat" in text
        assert "aiwf-engine run" in text and "aiwf-console --demo" in text
        assert panel.has_class("-error")
        assert "✖ engine down" in _status(app)
        write_heartbeat(redis_client, keys)
        await wait_for(pilot, lambda: not panel.display, "the panel hidden")
        # And back when the engine stops (its heartbeat key is deleted or expires).
        redis_client.delete(keys.heartbeat)
        await wait_for(pilot, lambda: "Engine not running" in _shown(panel), "down again")


async def test_prefect_unreachable_from_the_heartbeat_is_said_and_cleared(
    make_app: AppFactory, mirror: RedisMirror, redis_client: redis.Redis, keys: Keys
) -> None:
    mirror.upsert_deployment(deployment_doc())
    error = "http://127.0.0.1:4200/api/health failed: All connection attempts failed"
    write_heartbeat(redis_client, keys, heartbeat_doc() | {"prefect_error": error})
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        panel = _panel(app)
        await wait_for(pilot, lambda: "Prefect unreachable" in _shown(panel), "prefect down")
        text = _shown(panel)
        assert "✖ Prefect unreachable at http://127.0.0.1:4200/api" in text
        assert error in text and "PREFECT_API_URL" in text
        assert "✖ Prefect unreachable" in _status(app)
        write_heartbeat(redis_client, keys)
        await wait_for(pilot, lambda: not panel.display, "the panel hidden")
        assert "unreachable" not in _status(app)


async def test_an_engine_serving_no_deployments_says_where_to_add_them(
    make_app: AppFactory, redis_client: redis.Redis, keys: Keys
) -> None:
    write_heartbeat(redis_client, keys, heartbeat_doc() | {"deployments": 0})
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        panel = _panel(app)
        await wait_for(pilot, lambda: "no deployments" in _shown(panel), "no deployments")
        assert "No deployment file in /etc/aiwf/deployments." in _shown(panel)
        assert "⚠ no deployments" in _status(app)


async def test_unreachable_redis_is_explained_on_the_main_screen(
    make_app: AppFactory, tmp_path: Path
) -> None:
    app = make_app(f"unix://ops:s3cret@{tmp_path}/nothing.sock")
    async with app.run_test(size=(120, 40)) as pilot:
        panel = _panel(app)
        await wait_for(pilot, lambda: "Redis unreachable" in _shown(panel), "redis down")
        text = _shown(panel)
        assert "ops:***@" in text and "s3cret" not in text
        assert "AIWF_REDIS_URL" in text
        assert "✖ disconnected" in _status(app)


async def test_the_status_line_names_the_prefect_the_engine_mirrors(
    make_app: AppFactory, mirror: RedisMirror, redis_client: redis.Redis, keys: Keys
) -> None:
    mirror.upsert_deployment(deployment_doc())
    beat = heartbeat_doc() | {"prefect_api_url": "https://ops:hunter2@prefect.example/api"}
    write_heartbeat(redis_client, keys, beat)
    app = make_app()
    async with app.run_test(size=(200, 24)) as pilot:
        await wait_for(pilot, lambda: "Prefect https://" in _status(app), "the Prefect URL")
        assert "Prefect https://ops:***@prefect.example/api" in _status(app)
        assert "hunter2" not in app.export_screenshot()
        assert "(embedded)" not in _status(app)
        write_heartbeat(redis_client, keys, heartbeat_doc() | {"prefect_embedded": True})
        await wait_for(
            pilot,
            lambda: "Prefect http://127.0.0.1:4200/api (embedded)" in _status(app),
            "the embedded server",
        )


async def test_nothing_crashes_at_40x10_with_every_reason_shown(
    make_app: AppFactory, redis_client: redis.Redis, keys: Keys
) -> None:
    beat = heartbeat_doc() | {
        "deployments": 0,
        "config_errors": [CONFIG_ERROR] * 8,
        "prefect_error": "http://127.0.0.1:4200/api/health failed: refused",
    }
    write_heartbeat(redis_client, keys, beat)
    app = make_app()
    async with app.run_test(size=(40, 10)) as pilot:
        panel = _panel(app)
        await wait_for(pilot, lambda: "Prefect unreachable" in _shown(panel), "the reasons")
        assert "... and 3 more (all in the engine log)" in _shown(panel)
        await pilot.pause()
        assert panel.size.height == 1  # a short screen: the first line only, tables keep rows
        app.export_screenshot()


@pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=["80x24", "160x48"])
def test_empty_screen_with_its_reason(
    snap_compare: Any, redis_url: str, redis_client: redis.Redis, size: tuple[int, int]
) -> None:
    keys = Keys(prefix="snap-health")
    redis_client.delete(*(list(redis_client.scan_iter(match="snap-health:*")) or ["-"]))
    beat = heartbeat_doc() | {
        "deployments": 0,
        "config_errors": [
            CONFIG_ERROR,
            "/etc/aiwf/deployments/prod.yaml:9: parameters.batch: expected an integer, got 'x'",
        ],
    }
    write_heartbeat(redis_client, keys, beat)
    app = ConsoleApp(redis_url, keys, now=lambda: NOW, heartbeat_interval=0.2)
    app.store.redis_url = SHOWN_URL

    async def run_before(pilot: Pilot[Any]) -> None:
        await wait_for(pilot, lambda: "config errors" in _shown(_panel(app)), "the reasons")
        await wait_for(pilot, lambda: "config errors" in _status(app), "the status line")
        await pilot.pause()

    try:
        assert snap_compare(app, terminal_size=size, run_before=run_before)
    finally:
        redis_client.delete(keys.heartbeat)
