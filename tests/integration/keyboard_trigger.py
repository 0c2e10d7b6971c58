"""`t` pressed in a console on the real stack, and the run it made (for the pilot tests)."""

from __future__ import annotations

from typing import Any

import redis
from textual.pilot import Pilot

from console.widgets.runs_table import RunsTable
from engine.contract.keys import Keys
from tests.console.conftest import wait_for
from tests.integration.conftest import audit_end, triggered_run


async def trigger_with_t(
    pilot: Pilot[Any], client: redis.Redis, keys: Keys, deployment: str, runs: RunsTable
) -> str:
    """Presses `t` (the cursor on `deployment`) and returns the id of the run its audited
    trigger created, once the runs table shows its row."""
    after = audit_end(client, keys)
    await pilot.press("t")
    await wait_for(
        pilot,
        lambda: triggered_run(client, keys, deployment, after) is not None,
        "the trigger's run",
        60,
    )
    run_id = triggered_run(client, keys, deployment, after)
    assert run_id is not None
    await wait_for(pilot, lambda: run_id in runs.row_keys(), "the new run's row", 20)
    return run_id
