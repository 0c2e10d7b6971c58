"""SVG snapshots (80x24 and 160x48) of the retry dialog with its from-task choice.

Same fixed clock, ids and key prefix as test_snapshots.py. Update with
`pytest tests/console/test_retry_from_task_snapshots.py --snapshot-update`, then look at
the SVGs.
"""

from __future__ import annotations

from typing import Any

import pytest
from textual.pilot import Pilot

from console.app import ConsoleApp
from console.screens.retry_confirm import RetryConfirmScreen
from tests.console.conftest import wait_for, wait_tables_sized
from tests.console.test_lineage_snapshots import _open_run, traced_app
from tests.console.test_snapshots import snap_app, snap_keys

__all__ = ["snap_app", "snap_keys", "traced_app"]  # fixtures, imported to be found by pytest

SIZES = pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=["80x24", "160x48"])


@SIZES
def test_retry_dialog_with_from_task(
    snap_compare: Any, traced_app: ConsoleApp, size: tuple[int, int]
) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await _open_run(pilot, row=1)  # brave-otter, failed
        await pilot.press("r")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, RetryConfirmScreen), "dialog")
        await wait_tables_sized(pilot)

    assert snap_compare(traced_app, terminal_size=size, run_before=run_before)
