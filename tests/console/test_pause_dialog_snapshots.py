"""SVG snapshots of the pause dialog with a window typed (80x24, 160x48).

Same fixed clock, ids and key prefix as test_snapshots.py, over the trigger form's
deployment with its parameter schema. Update with
`pytest tests/console/test_pause_dialog_snapshots.py --snapshot-update`, then look at them.
"""

from __future__ import annotations

from typing import Any

import pytest
import redis
from textual.pilot import Pilot

from console.app import ConsoleApp
from console.screens.pause_confirm import PauseConfirmScreen
from console.widgets.deployments_table import DeploymentsTable
from engine.contract.keys import Keys
from engine.store.mirror import RedisMirror
from tests.console.conftest import flow_run_doc, wait_for, wait_tables_sized
from tests.console.test_snapshots import _loaded, snap_app, snap_keys
from tests.console.test_trigger_form_snapshots import schema_app

__all__ = ["schema_app", "snap_app", "snap_keys"]  # fixtures, imported to be found by pytest


@pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=["80x24", "160x48"])
def test_pause_dialog(
    snap_compare: Any,
    schema_app: ConsoleApp,
    redis_client: redis.Redis,
    snap_keys: Keys,
    size: tuple[int, int],
) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await _loaded(pilot)
        RedisMirror(redis_client, snap_keys).upsert_flow_run(
            flow_run_doc("run-later", "early-bird", state="SCHEDULED", start=None)
        )
        await wait_for(pilot, lambda: "run-later" in schema_app.store.flow_runs, "scheduled run")
        pilot.app.screen.query_one(DeploymentsTable).focus()
        await pilot.press("p")
        assert isinstance(pilot.app.screen, PauseConfirmScreen)
        await pilot.press("1", "h")
        await pilot.pause()
        await wait_tables_sized(pilot)

    assert snap_compare(schema_app, terminal_size=size, run_before=run_before)
