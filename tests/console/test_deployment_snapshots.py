"""SVG snapshots of the deployment screen (80x24 and 160x48).

Same fixed clock, ids and key prefix as test_snapshots.py. Update with
`pytest tests/console/test_deployment_snapshots.py --snapshot-update`, then look at the SVGs.
"""

from __future__ import annotations

from typing import Any

import pytest
from textual.pilot import Pilot

from console.app import ConsoleApp
from console.screens.deployment import DeploymentScreen
from console.widgets.deployments_table import DeploymentsTable
from tests.console.conftest import wait_tables_sized
from tests.console.test_snapshots import _loaded, snap_app, snap_keys

__all__ = ["snap_app", "snap_keys"]  # fixtures, imported to be found by pytest


@pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=["80x24", "160x48"])
def test_deployment_screen(snap_compare: Any, snap_app: ConsoleApp, size: tuple[int, int]) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await _loaded(pilot)
        pilot.app.screen.query_one(DeploymentsTable).focus()
        await pilot.press("d")
        assert isinstance(pilot.app.screen, DeploymentScreen)
        await pilot.pause()
        await wait_tables_sized(pilot)

    assert snap_compare(snap_app, terminal_size=size, run_before=run_before)
