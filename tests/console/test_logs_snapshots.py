"""SVG snapshots of the log screen at 80x24 and 160x48, with the fixed clock.

Same fixtures as test_snapshots.py. Update with `--snapshot-update`, then look at the SVGs
before committing them.
"""

from __future__ import annotations

from typing import Any

import pytest
import redis
from textual.pilot import Pilot

from console.app import ConsoleApp
from engine.contract.keys import Keys
from engine.store.mirror import RedisMirror
from tests.console.conftest import wait_tables_sized
from tests.console.test_logs_keys import fetched, open_log, retry_and_ticks
from tests.console.test_snapshots import _loaded, snap_app, snap_keys  # noqa: F401


@pytest.fixture
def log_app(
    snap_app: ConsoleApp,  # noqa: F811
    redis_client: redis.Redis,
    snap_keys: Keys,  # noqa: F811
) -> ConsoleApp:
    RedisMirror(redis_client, snap_keys).append_logs("run-running", retry_and_ticks())
    return snap_app


def test_run_log_with_a_search_80x24(snap_compare: Any, log_app: ConsoleApp) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await _loaded(pilot)
        screen = await open_log(pilot)
        await pilot.press("slash", *"tick 5", "enter")
        await pilot.press("n")
        await fetched(pilot, screen)
        assert "/tick 5/ 3/11" in screen._title()
        await wait_tables_sized(pilot)

    assert snap_compare(log_app, terminal_size=(80, 24), run_before=run_before)


def test_task_log_wrapped_at_info_80x24(snap_compare: Any, log_app: ConsoleApp) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await _loaded(pilot)
        screen = await open_log(pilot, task_row=1)
        await pilot.press("W", "m", "m")
        await fetched(pilot, screen)
        await wait_tables_sized(pilot)

    assert snap_compare(log_app, terminal_size=(80, 24), run_before=run_before)


def test_run_log_level_and_window_160x48(snap_compare: Any, log_app: ConsoleApp) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await _loaded(pilot)
        screen = await open_log(pilot)
        await pilot.press("R", "R", "m", "m")  # last 5m, at least INFO
        await fetched(pilot, screen)
        await wait_tables_sized(pilot)

    assert snap_compare(log_app, terminal_size=(160, 48), run_before=run_before)
