"""SVG snapshots of the trigger form and its preview (80x24, 160x48).

Same fixed clock, ids and key prefix as test_snapshots.py; the prod deployment publishes
the real flow's parameter schema. Update with
`pytest tests/console/test_trigger_form_snapshots.py --snapshot-update`, then look at them.
"""

from __future__ import annotations

from typing import Any

import pytest
import redis
from textual.pilot import Pilot
from textual.widgets import Input

from console.app import ConsoleApp
from console.screens.trigger_form import TriggerFormScreen
from console.screens.trigger_preview import TriggerPreviewScreen
from console.widgets.deployments_table import DeploymentsTable
from engine.contract.keys import Keys
from engine.store.mirror import RedisMirror
from tests.console.conftest import at, deployment_doc, wait_for, wait_tables_sized
from tests.console.param_schemas import FLOW_SCHEMA
from tests.console.test_snapshots import _loaded, snap_app, snap_keys

__all__ = ["snap_app", "snap_keys"]  # fixtures, imported to be found by pytest

SIZES = pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=["80x24", "160x48"])


@pytest.fixture
def schema_app(snap_app: ConsoleApp, redis_client: redis.Redis, snap_keys: Keys) -> ConsoleApp:
    mirror = RedisMirror(redis_client, snap_keys)
    mirror.upsert_deployment(
        deployment_doc(updated=at(0))
        | {
            "parameter_schema": FLOW_SCHEMA,
            "parameters": {
                "source": "/srv/aiwf/input/daily_batch.csv",
                "target": "/srv/aiwf/output/predictions",
                "model": "scorer-v1",
            },
        }
    )
    return snap_app


async def _form(pilot: Pilot[Any]) -> TriggerFormScreen:
    app = pilot.app
    await _loaded(pilot)
    await wait_for(
        pilot,
        lambda: bool(app.store.deployments["ai-inference-prod"].parameter_schema),  # type: ignore[attr-defined]
        "schema",
    )
    app.screen.query_one(DeploymentsTable).focus()
    await pilot.press("T")
    assert isinstance(app.screen, TriggerFormScreen)
    return app.screen


@SIZES
def test_trigger_form_with_an_error(
    snap_compare: Any, schema_app: ConsoleApp, size: tuple[int, int]
) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        form = await _form(pilot)
        form.query_one("#param-model", Input).value = "scorer-v2"
        form.query_one("#param-target", Input).value = ""
        await pilot.press("enter")  # review: target is required
        await pilot.pause()
        await wait_tables_sized(pilot)

    assert snap_compare(schema_app, terminal_size=size, run_before=run_before)


@SIZES
def test_trigger_preview(snap_compare: Any, schema_app: ConsoleApp, size: tuple[int, int]) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        form = await _form(pilot)
        form.query_one("#param-model", Input).value = "scorer-v2"
        await pilot.press("enter")
        assert isinstance(pilot.app.screen, TriggerPreviewScreen)
        await pilot.pause()
        await wait_tables_sized(pilot)

    assert snap_compare(schema_app, terminal_size=size, run_before=run_before)
