"""SVG snapshots of the `:` command line with completion showing, at 80x24 and 160x48
(same fixed clock, ids and prefix as test_snapshots.py). Update with
`pytest tests/console/test_command_line_snapshots.py --snapshot-update`, then look at the SVGs."""

from __future__ import annotations

from typing import Any

import pytest
from textual.pilot import Pilot

from console.app import ConsoleApp
from console.cmdline.screen import CommandLineScreen
from tests.console.conftest import wait_tables_sized
from tests.console.test_snapshots import _loaded, snap_app, snap_keys

__all__ = ["snap_app", "snap_keys"]  # fixtures, imported to be found by pytest

SIZES = pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=["80x24", "160x48"])


@SIZES
def test_command_line_completing_a_deployment(
    snap_compare: Any, snap_app: ConsoleApp, size: tuple[int, int]
) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await _loaded(pilot)
        await pilot.press("colon", "d", "e", "tab")  # `deploy `: the deployments listed
        assert isinstance(pilot.app.screen, CommandLineScreen)
        await pilot.pause()
        await wait_tables_sized(pilot)

    assert snap_compare(snap_app, terminal_size=size, run_before=run_before)
