"""SVG snapshots (80x24 and 160x48) of the outputs screen comparing a run with an older one.

Same fixed clock, ids and key prefix as test_snapshots.py. Update with
`pytest tests/console/test_outputs_snapshots.py --snapshot-update`, then look at the SVGs.
"""

from __future__ import annotations

from typing import Any

import pytest
import redis
from textual.pilot import Pilot

from console.app import ConsoleApp
from console.screens.outputs import OutputsScreen
from engine.contract.keys import Keys
from engine.store.mirror import RedisMirror
from tests.console.conftest import at, flow_run_doc, wait_for, wait_tables_sized
from tests.console.test_lineage import lineage_doc
from tests.console.test_outputs import SCHEMA, with_outputs
from tests.console.test_snapshots import snap_app, snap_keys

__all__ = ["snap_app", "snap_keys"]  # fixtures, imported to be found by pytest


@pytest.fixture
def outputs_app(
    snap_app: ConsoleApp,
    redis_client: redis.Redis,
    snap_keys: Keys,
) -> ConsoleApp:
    mirror = RedisMirror(redis_client, snap_keys)
    mirror.upsert_flow_run(
        flow_run_doc("run-old", "old-owl", state="COMPLETED", start=at(-300), end=at(-295))
    )
    mirror.write_lineage(
        with_outputs(
            lineage_doc("run-old", "old-owl", recorded=at(-295)),
            {"2026-11-01": 1000, "2026-11-02": 1000, "2026-11-03": 1000},
            SCHEMA,
        )
    )
    mirror.write_lineage(
        with_outputs(
            lineage_doc("run-failed", "brave-otter", recorded=at(-80)),
            {"2026-11-01": 400, "2026-11-02": 1000, "2026-11-03": 990},
            SCHEMA | {"region": "string"},
        )
    )
    return snap_app


@pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=["80x24", "160x48"])
def test_outputs_screen(snap_compare: Any, outputs_app: ConsoleApp, size: tuple[int, int]) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        app = pilot.app
        assert isinstance(app, ConsoleApp)
        await wait_for(pilot, lambda: "run-old" in app.store.flow_runs, "runs")
        await wait_for(
            pilot, lambda: "engine alive" in str(app.screen.query_one("#status").render()), "beat"
        )
        screen = OutputsScreen(app.ctx, "run-failed")
        await app.push_screen(screen)
        await wait_for(pilot, lambda: screen.comparison is not None, "comparison")
        await pilot.pause()
        await wait_tables_sized(pilot)

    assert snap_compare(outputs_app, terminal_size=size, run_before=run_before)
