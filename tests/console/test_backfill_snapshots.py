"""SVG snapshots (80x24 and 160x48) of the backfill dialog.

Same fixed clock, ids and key prefix as test_snapshots.py. Update with
`pytest tests/console/test_backfill_snapshots.py --snapshot-update`, then look at the SVGs.
"""

from __future__ import annotations

from typing import Any

import pytest
from textual.pilot import Pilot

from console.app import ConsoleApp
from console.screens.backfill import BackfillScreen
from console.screens.deployment import DeploymentScreen
from console.widgets.deployments_table import DeploymentsTable
from tests.console.conftest import wait_for, wait_tables_sized
from tests.console.test_snapshots import _loaded, snap_app, snap_keys

__all__ = ["snap_app", "snap_keys"]  # fixtures, imported to be found by pytest


@pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=["80x24", "160x48"])
def test_backfill_dialog(snap_compare: Any, snap_app: ConsoleApp, size: tuple[int, int]) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await _loaded(pilot)
        pilot.app.screen.query_one(DeploymentsTable).focus()
        await pilot.press("d")
        assert isinstance(pilot.app.screen, DeploymentScreen)
        await pilot.press("b")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, BackfillScreen), "dialog")
        await pilot.pause()
        await wait_tables_sized(pilot)

    assert snap_compare(snap_app, terminal_size=size, run_before=run_before)
