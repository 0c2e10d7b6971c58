"""At a tiny 40x10 every table still shows a row and every dialog's buttons stay on screen,
focusable and uncovered (issue 7, "readable at 80x24")."""

from __future__ import annotations

from typing import Any

from textual.app import App
from textual.geometry import Region
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Button, DataTable, Input

from console.screens.audit import AuditScreen
from console.screens.backfill import BackfillScreen
from console.screens.bulk_confirm import BulkConfirmScreen
from console.screens.confirm import ConfirmScreen
from console.screens.deployment import DeploymentScreen
from console.screens.help import HelpScreen
from console.screens.partitions import PartitionsScreen
from console.screens.pause_confirm import PauseConfirmScreen
from console.screens.protected_confirm import ProtectedConfirmScreen
from console.screens.retry_confirm import RetryConfirmScreen, retry_previews
from console.screens.run import RunScreen
from console.screens.trigger_form import TriggerFormScreen
from console.screens.trigger_preview import TriggerPreviewScreen
from console.screens.writers import WritersScreen
from console.widgets.deployments_table import DeploymentsTable
from console.widgets.keyed_table import KeyedTable
from console.widgets.runs_table import RunsTable
from engine.contract.documents import FlowRun
from engine.store.mirror import RedisMirror
from tests.console.conftest import NOW, AppFactory, at, deployment_doc, fill_standard, wait_for
from tests.console.param_schemas import FLOW_SCHEMA
from tests.console.test_audit import audit
from tests.console.test_lineage import lineage_doc

TINY = (40, 10)


def on_screen(app: App[Any], widget: Widget) -> Region:
    """The widget's region, after checking it lies inside the screen and is not covered
    by another widget at its centre (what a click or a look would reach)."""
    region = widget.region
    screen = app.screen.region
    assert region.area > 0, f"{widget!r} has no room"
    assert screen.contains_region(region), f"{widget!r} at {region} is outside {screen}"
    x, y = region.center
    found, _ = app.screen.get_widget_at(int(x), int(y))
    assert found is widget or widget in found.ancestors, f"{widget!r} is covered by {found!r}"
    return region


async def shows_a_row(pilot: Any, table: DataTable[Any]) -> None:
    region = on_screen(pilot.app, table)
    assert table.row_count >= 1, f"{table!r} has no rows to show"
    assert region.height >= 2, f"{table!r} is {region.height} line(s) high: header only"
    first = str(table.get_row_at(0)[0])
    # A table whose columns were just fitted measures its cells on the next idle.
    await wait_for(pilot, lambda: first in table.render_line(1).text, f"{first} in {table!r}")


def every_table_has_rows(app: App[Any]) -> bool:
    """True once the top screen has tables and each has a row: a screen just pushed has
    none until it is composed (`all` of no tables would be true before any is loaded)."""
    tables = list(app.screen.query(KeyedTable))
    return bool(tables) and all(table.row_count for table in tables)


async def test_every_table_shows_a_row_at_40x10(make_app: AppFactory, mirror: RedisMirror) -> None:
    fill_standard(mirror)
    audit(mirror, "trigger", "ai-inference-prod", message="started run witty-fox")
    mirror.write_lineage(lineage_doc("run-old", "first-run", recorded=at(-300)))
    app = make_app()
    async with app.run_test(size=TINY) as pilot:
        await wait_for(pilot, lambda: app.screen.query_one(RunsTable).row_count == 3, "runs")
        await pilot.pause()
        for table in app.screen.query(KeyedTable):
            await shows_a_row(pilot, table)
        screens: list[Screen[Any]] = [
            RunScreen(app.ctx, "run-running"),
            DeploymentScreen(app.ctx, "ai-inference-prod"),
            AuditScreen(app.ctx),
        ]
        for screen in screens:
            app.push_screen(screen)
            await wait_for(pilot, lambda: every_table_has_rows(app), f"rows on {screen!r}")
            await pilot.pause()
            tables = list(app.screen.query(KeyedTable))
            assert tables, f"{screen!r} has no table"
            for table in tables:
                await shows_a_row(pilot, table)
            await pilot.press("question_mark")
            assert isinstance(app.screen, HelpScreen)
            await pilot.pause()
            await shows_a_row(pilot, app.screen.query_one("#help-table", DataTable))
            await pilot.press("escape")
            app.pop_screen()
            await pilot.pause()
        # The `w` screens' tables (plain DataTables with few columns).
        await pilot.press("w")
        parts = app.screen
        assert isinstance(parts, PartitionsScreen)
        await wait_for(pilot, lambda: parts.table.row_count == 3, "partitions")
        await shows_a_row(pilot, parts.table)
        await pilot.press("enter")
        writers = app.screen
        assert isinstance(writers, WritersScreen)
        await wait_for(pilot, lambda: writers.table.row_count == 1, "writers")
        await shows_a_row(pilot, writers.table)


async def buttons_reachable(pilot: Any, dialog: Screen[Any]) -> None:
    """Every button (or, in a dialog without any, every input) is reached by tab and, once
    focused, lies on screen and uncovered. At 40 columns a row of three buttons is wider
    than the dialog: it scrolls sideways to the focused one."""
    app = pilot.app
    await pilot.pause()
    assert app.screen is dialog
    controls: list[Widget] = list(dialog.query(Button)) or list(dialog.query(Input))
    assert controls, f"{dialog!r} has nothing to press or type in"
    seen: set[Widget] = set()
    for _ in range(len(dialog.focus_chain) + 1):
        focused = app.focused
        if focused in controls:
            await pilot.pause()
            on_screen(app, focused)
            seen.add(focused)
        await pilot.press("tab")
    assert set(controls) <= seen, f"tab does not reach {set(controls) - seen}"


async def test_every_dialog_keeps_its_buttons_reachable_at_40x10(
    make_app: AppFactory, mirror: RedisMirror
) -> None:
    fill_standard(mirror)
    mirror.upsert_deployment(
        deployment_doc(protected=True, updated=NOW)
        | {
            "parameter_schema": FLOW_SCHEMA,
            "parameters": {
                "source": "/srv/aiwf/input/daily_batch.csv",
                "target": "/srv/aiwf/output/predictions",
                "model": "scorer-v1",
            },
        }
    )
    app = make_app()
    async with app.run_test(size=TINY) as pilot:
        await wait_for(pilot, lambda: app.screen.query_one(RunsTable).row_count == 3, "runs")
        await wait_for(
            pilot,
            lambda: bool(app.store.deployments["ai-inference-prod"].parameter_schema),
            "schema",
        )
        question = "Cancel run witty-fox of ai-inference-prod (now ▶ Running)?"
        many = [f"run-{n:02d}-with-a-long-name" for n in range(30)]
        dialogs: list[Screen[Any]] = [
            ConfirmScreen(question),
            BulkConfirmScreen("Retry 30 runs (failed ones only)?", many, "Retry 30"),
            RetryConfirmScreen(
                "brave-otter",
                "✖ Failed",
                retry_previews(FlowRun(id="run-1", flow_name="ai-inference-pipeline"), None, []),
            ),
            PauseConfirmScreen("ai-inference-prod", lambda: NOW, ["early-bird", "late-owl"]),
            ProtectedConfirmScreen("ai-inference-prod", "Trigger ai-inference-prod?"),
            BackfillScreen(app.ctx, app.store.deployments["ai-inference-prod"]),
        ]
        for dialog in dialogs:
            app.push_screen(dialog)
            await buttons_reachable(pilot, dialog)
            app.pop_screen()
            await pilot.pause()
        # The trigger form (inputs, no buttons) and its preview (buttons), by their keys.
        app.screen.query_one(DeploymentsTable).focus()
        await pilot.press("T")
        form = app.screen
        assert isinstance(form, TriggerFormScreen)
        await buttons_reachable(pilot, form)
        form.query_one("#param-model", Input).value = "scorer-v2"
        form.query_one("#param-model", Input).focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, TriggerPreviewScreen), "preview")
        await buttons_reachable(pilot, app.screen)
