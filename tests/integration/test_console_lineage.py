"""Traceability on the real stack: a run triggered from the keyboard shows its lineage, and
its partitions lead back to it."""

from __future__ import annotations

import re
from typing import Any

import pytest

from console.app import ConsoleApp
from console.screens.partitions import PartitionsScreen
from console.screens.run import RunScreen
from console.screens.writers import WritersScreen
from console.widgets.deployments_table import DeploymentsTable
from console.widgets.lineage_panel import LineagePanel
from console.widgets.runs_table import RunsTable
from engine.contract.command_client import CommandClient
from engine.contract.keys import Keys
from engine.stack.launcher import EmbeddedStack
from engine.store.mirror import RedisMirror
from tests.console.conftest import wait_for
from tests.console.test_lineage import rendered
from tests.integration.conftest import send_and_wait, wait_run_final
from tests.integration.conftest import wait_for as wait_for_value
from tests.integration.keyboard_trigger import trigger_with_t

pytestmark = pytest.mark.integration

PROD = "ai-inference-prod"


async def test_triggered_run_shows_its_lineage_and_who_wrote_its_partitions(
    stack: EmbeddedStack, stack_keys: Keys, mirror: RedisMirror
) -> None:
    app = ConsoleApp(stack.redis_url, stack_keys, command_timeout=60)
    async with app.run_test(size=(160, 48)) as pilot:
        deployments = app.screen.query_one(DeploymentsTable)
        await wait_for(pilot, lambda: PROD in deployments.row_keys(), "deployments", 20)
        deployments.focus()
        deployments.move_cursor(row=deployments.row_keys().index(PROD))
        runs = app.screen.query_one(RunsTable)
        run_id = await trigger_with_t(pilot, mirror.client, stack_keys, PROD, runs)

        runs.focus()
        runs.move_cursor(row=runs.row_keys().index(run_id))
        await pilot.press("enter")
        assert isinstance(app.screen, RunScreen)
        panel = app.screen.query_one(LineagePanel)
        # Opened while the run may still be going: the lineage arrives live when it ends.
        await wait_for(pilot, lambda: "Outputs (3)" in rendered(panel), "lineage outputs", 90)
        doc: Any = mirror.read_lineage(run_id)
        assert doc is not None and doc["status"] == "completed"
        text = rendered(panel)
        assert str(doc["input"]["sha256"])[:12] in text
        # The partitions' `date=...`; not the trigger's `logical_date=...` line.
        assert len(re.findall(r"(?<![\w])date=\d{4}-\d{2}-\d{2}", text)) == 3, text
        partitions = sorted(str(o["path"]).rsplit("/", 1)[-1] for o in doc["outputs"])

        await pilot.press("escape")
        deployments.focus()
        await pilot.press("w")
        assert isinstance(app.screen, PartitionsScreen)
        parts = app.screen
        await wait_for(pilot, lambda: len(parts.rows) >= 3, "partitions", 20)
        assert set(partitions) <= {row.partition for row in parts.rows.values()}
        parts.table.move_cursor(row=0)
        await pilot.press("enter")
        assert isinstance(app.screen, WritersScreen)
        writers = app.screen
        await wait_for(pilot, lambda: run_id in writers.run_ids, "the run among the writers", 20)


async def test_a_run_redis_no_longer_holds_shows_its_lineage_from_the_engines_table(
    stack: EmbeddedStack, stack_keys: Keys, mirror: RedisMirror, commands: CommandClient
) -> None:
    """Redis drops a run's lineage with the run (the mirror keeps the newest 1,000); opened
    from an older page, the run's lineage comes from the engine's parquet table."""
    result = send_and_wait(commands, "trigger", PROD)
    assert result.ok and result.flow_run_id, result.message
    run_id = result.flow_run_id
    run = wait_run_final(mirror, run_id)
    assert run["state_type"] == "COMPLETED", run["state_message"]
    wait_for_value(lambda: mirror.read_lineage(run_id), 30, "the run's lineage in Redis")
    lineage: Any = mirror.read_lineage(run_id)
    assert mirror.drop_runs([run_id]) == 1  # as trim_runs drops the oldest
    assert mirror.read_lineage(run_id) is None

    app = ConsoleApp(stack.redis_url, stack_keys, command_timeout=60)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for(pilot, lambda: app.store.engine is not None, "the heartbeat", 30)
        await app.push_screen(RunScreen(app.ctx, run_id))
        panel = app.screen.query_one(LineagePanel)
        await wait_for(pilot, lambda: "Outputs (3)" in rendered(panel), "its lineage", 30)
        assert str(lineage["input"]["sha256"])[:12] in rendered(panel)
        assert app.store.lineage[run_id].trigger.attempt == lineage["trigger"]["attempt"]
