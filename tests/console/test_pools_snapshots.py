"""SVG snapshots of the work pools screen at 80x24 and 160x48 (fixed clock and prefix of
test_snapshots.py). Update with `--snapshot-update`, then look at the SVGs."""

from __future__ import annotations

from typing import Any

import pytest
import redis
from textual.pilot import Pilot

from console.app import ConsoleApp
from console.screens.pools import PoolsScreen
from engine.contract.keys import Keys
from engine.store.mirror import RedisMirror
from tests.console.conftest import wait_for, wait_tables_sized
from tests.console.test_pools_screen import pools_doc
from tests.console.test_snapshots import _loaded, snap_app, snap_keys  # noqa: F401


@pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=["80x24", "160x48"])
def test_pools_screen(
    snap_compare: Any,
    snap_app: ConsoleApp,  # noqa: F811
    redis_client: redis.Redis,
    snap_keys: Keys,  # noqa: F811
    size: tuple[int, int],
) -> None:
    RedisMirror(redis_client, snap_keys).write_pools(pools_doc(worker_status="OFFLINE"))

    async def run_before(pilot: Pilot[Any]) -> None:
        await _loaded(pilot)
        await wait_for(pilot, lambda: snap_app.store.pools is not None, "the pools")
        await pilot.press("P")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, PoolsScreen), "the screen")
        await wait_tables_sized(pilot)

    assert snap_compare(snap_app, terminal_size=size, run_before=run_before)
