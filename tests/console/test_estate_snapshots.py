"""SVG snapshots of the main screen with deployments this engine does not serve: the
"Served by" column (80x24 and 160x48). Same fixed clock and key prefix as test_snapshots.py.
Update with `pytest tests/console/test_estate_snapshots.py --snapshot-update`, then look."""

from __future__ import annotations

from typing import Any

import pytest
import redis
from textual.pilot import Pilot

from console.app import ConsoleApp
from console.widgets.deployments_table import DeploymentsTable
from console.widgets.runs_table import RunsTable
from engine.contract.keys import Keys
from engine.store.mirror import RedisMirror
from tests.console.conftest import NOW, wait_for, wait_tables_sized, write_heartbeat
from tests.console.test_estate import fill_estate
from tests.console.test_snapshots import SHOWN_URL, snap_keys

__all__ = ["snap_keys"]  # a fixture, imported to be found by pytest


@pytest.fixture
def estate_app(redis_url: str, redis_client: redis.Redis, snap_keys: Keys) -> ConsoleApp:
    fill_estate(RedisMirror(redis_client, snap_keys), protected=True)
    write_heartbeat(redis_client, snap_keys)
    app = ConsoleApp(redis_url, snap_keys, now=lambda: NOW, heartbeat_interval=0.2)
    app.store.redis_url = SHOWN_URL
    return app


@pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=["80x24", "160x48"])
def test_main_screen_with_the_estate(
    snap_compare: Any, estate_app: ConsoleApp, size: tuple[int, int]
) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        app = pilot.app
        await wait_for(pilot, lambda: app.screen.query_one(RunsTable).row_count == 4, "runs")
        await wait_for(
            pilot,
            lambda: "engine alive" in str(app.screen.query_one("#status").render()),
            "heartbeat",
        )
        app.screen.query_one(DeploymentsTable).focus()
        await wait_tables_sized(pilot)

    assert snap_compare(estate_app, terminal_size=size, run_before=run_before)
