"""SVG snapshots of the log screen's prompts with text typed, at 80x24 and 160x48: `/`
(search), `x` (hide) and `s` (save, its proposed path edited). Same fixtures and clock as
test_logs_snapshots.py. Update with
`pytest tests/console/test_log_prompts_snapshots.py --snapshot-update`, then look at them.
"""

from __future__ import annotations

from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from console.app import ConsoleApp
from console.logs.prompt import LogPrompt
from tests.console.conftest import wait_tables_sized
from tests.console.test_logs_keys import open_log
from tests.console.test_logs_snapshots import log_app
from tests.console.test_snapshots import _loaded, snap_app, snap_keys

__all__ = ["log_app", "snap_app", "snap_keys"]  # fixtures, imported to be found by pytest

SIZES = pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=["80x24", "160x48"])
PROMPTS = pytest.mark.parametrize(
    "keys",
    [
        ("slash", *"tick 5"),
        ("x", *"tick [0-4]$"),
        ("s", "backspace", "backspace", "backspace", *"txt"),
    ],
    ids=["search", "hide", "save"],
)
STATE_DIR = "/tmp/aiwf-snapshots"
"""The state dir the save prompt proposes a path in (fixed: it is in the picture)."""


@SIZES
@PROMPTS
def test_log_prompt_with_text_typed(
    snap_compare: Any,
    log_app: ConsoleApp,
    monkeypatch: pytest.MonkeyPatch,
    keys: tuple[str, ...],
    size: tuple[int, int],
) -> None:
    monkeypatch.setenv("AIWF_STATE_DIR", STATE_DIR)

    async def run_before(pilot: Pilot[Any]) -> None:
        await _loaded(pilot)
        await open_log(pilot)
        await pilot.press(keys[0])
        field = pilot.app.screen.query_one(LogPrompt).query_one(Input)
        field.cursor_blink = False  # the cursor shows in every picture
        await pilot.press(*keys[1:])
        await pilot.pause()
        await wait_tables_sized(pilot)

    assert snap_compare(log_app, terminal_size=size, run_before=run_before)
