"""SVG snapshot of the bulk confirm for the runs marked on the main screen, at 80x24 (160x48:
test_snapshots_every_screen).

Same fixed clock, ids and key prefix as test_snapshots.py. Update with
`pytest tests/console/test_bulk_confirm_snapshots.py --snapshot-update`, then look at it.
"""

from __future__ import annotations

from typing import Any

from textual.pilot import Pilot

from console.app import ConsoleApp
from console.screens.bulk_confirm import BulkConfirmScreen
from console.widgets.runs_table import RunsTable
from tests.console.conftest import wait_tables_sized
from tests.console.test_snapshots import _loaded, snap_app, snap_keys

__all__ = ["snap_app", "snap_keys"]  # fixtures, imported to be found by pytest


def test_bulk_confirm(snap_compare: Any, snap_app: ConsoleApp) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await _loaded(pilot)
        pilot.app.screen.query_one(RunsTable).focus()
        await pilot.press("asterisk", "r")
        assert isinstance(pilot.app.screen, BulkConfirmScreen)
        await wait_tables_sized(pilot)

    assert snap_compare(snap_app, terminal_size=(80, 24), run_before=run_before)
