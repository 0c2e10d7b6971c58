"""SVG snapshots of traceability: the run screen's lineage panel and the retry dialog.

Same fixed clock, ids and prefix as test_snapshots.py (its fixtures are reused). Update
with `--snapshot-update`, then look at the SVGs before committing them.
"""

from __future__ import annotations

from typing import Any

import pytest
import redis
from textual.pilot import Pilot

from console.app import ConsoleApp
from console.screens.retry_confirm import RetryConfirmScreen
from console.screens.run import RunScreen
from console.widgets.lineage_panel import LineagePanel
from console.widgets.runs_table import RunsTable
from engine.contract.keys import Keys
from engine.store.mirror import RedisMirror
from tests.console.conftest import at, wait_for, wait_tables_sized
from tests.console.test_lineage import FAILED_TASKS, lineage_doc, rendered
from tests.console.test_snapshots import _loaded, snap_app, snap_keys  # noqa: F401


@pytest.fixture
def traced_app(
    snap_app: ConsoleApp,  # noqa: F811
    redis_client: redis.Redis,
    snap_keys: Keys,  # noqa: F811
) -> ConsoleApp:
    mirror = RedisMirror(redis_client, snap_keys)
    done = lineage_doc("run-done", "calm-lynx", recorded=at(-195))
    mirror.write_lineage(done | {"deployment_name": "nightly-report"})
    failed = lineage_doc(
        "run-failed", "brave-otter", recorded=at(-80), tasks=FAILED_TASKS, status="failed"
    )
    mirror.write_lineage(failed | {"outputs": []})
    return snap_app


async def _open_run(pilot: Pilot[Any], row: int) -> RunScreen:
    await _loaded(pilot)
    runs = pilot.app.screen.query_one(RunsTable)
    runs.focus()
    runs.move_cursor(row=row)
    await pilot.press("enter")
    screen = pilot.app.screen
    assert isinstance(screen, RunScreen)
    panel = screen.query_one(LineagePanel)
    await wait_for(pilot, lambda: "a1b2c3d4e5f6" in rendered(panel), "lineage")
    return screen


def test_run_screen_with_lineage(snap_compare: Any, traced_app: ConsoleApp) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await _open_run(pilot, row=2)  # calm-lynx, completed
        await wait_tables_sized(pilot)

    assert snap_compare(traced_app, terminal_size=(120, 40), run_before=run_before)


def test_retry_dialog(snap_compare: Any, traced_app: ConsoleApp) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await _open_run(pilot, row=1)  # brave-otter, failed
        await pilot.press("r")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, RetryConfirmScreen), "dialog")
        await wait_tables_sized(pilot)

    assert snap_compare(traced_app, terminal_size=(120, 40), run_before=run_before)
