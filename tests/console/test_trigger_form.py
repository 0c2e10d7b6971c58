"""`T`: the parameter form, its checks, the preview, and exactly what is sent."""

from __future__ import annotations

import json
from typing import Any

import redis
from textual.widgets import Input, Label, Select

from console.app import ConsoleApp
from console.data.messages import CommandRequested
from console.screens.deployment import DeploymentScreen
from console.screens.main import MainScreen
from console.screens.protected_confirm import ProtectedConfirmScreen
from console.screens.trigger_form import TriggerFormScreen
from console.screens.trigger_preview import TriggerPreviewScreen
from console.widgets.deployments_table import DeploymentsTable
from console.widgets.runs_table import RunsTable
from engine.contract.keys import Keys
from engine.store.mirror import RedisMirror
from tests.console.conftest import (
    AppFactory,
    Posted,
    at,
    commands,
    deployment_doc,
    fill_standard,
    wait_for,
    wait_not_sent,
)
from tests.console.param_schemas import FLOW_SCHEMA, RICH_SCHEMA
from tests.console.test_commands import notes
from tests.console.test_help import help_rows


def with_schema(
    mirror: RedisMirror, schema: dict[str, Any] = RICH_SCHEMA, **kwargs: Any
) -> dict[str, Any]:
    """fill_standard, then ai-inference-prod publishing `schema` (newer doc wins)."""
    fill_standard(mirror)
    doc = deployment_doc(updated=at(0), **kwargs) | {"parameter_schema": schema}
    if schema is RICH_SCHEMA:
        doc["parameters"] = {"source": "s3://in", "target": "s3://out", "batch": 64}
    mirror.upsert_deployment(doc)
    return doc


async def open_form(pilot: Any, app: ConsoleApp) -> TriggerFormScreen:
    await wait_for(pilot, lambda: app.screen.query_one(RunsTable).row_count == 3, "runs")
    await wait_for(
        pilot,
        lambda: bool((d := app.store.deployments.get("ai-inference-prod")) and d.parameter_schema),
        "the schema",
    )
    app.screen.query_one(DeploymentsTable).focus()
    await pilot.press("T")
    screen = app.screen
    assert isinstance(screen, TriggerFormScreen)
    return screen


def error_text(screen: TriggerFormScreen, name: str) -> str:
    label = screen.query_one(f"#error-{name}", Label)
    return "" if label.has_class("-ok") else str(label.render())


async def test_form_has_one_typed_input_per_parameter_with_defaults_and_required_marks(
    make_app: AppFactory, mirror: RedisMirror
) -> None:
    with_schema(mirror)
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        form = await open_form(pilot, app)
        assert form.query_one("#param-source", Input).value == "s3://in"
        assert form.query_one("#param-batch", Input).value == "64"
        assert form.query_one("#param-threshold", Input).value == "0.5"
        assert form.query_one("#param-mode", Select).value == "fast"
        assert form.query_one("#param-limit", Input).value == ""
        assert form.query_one("#param-dry_run", Select).value is False
        labels = [str(label.render()) for label in form.query(".param-label").results(Label)]
        assert labels[0] == "source *  (text)"
        assert labels[1] == "batch  (whole number)"
        assert labels[3] == "mode  (one of fast, exact)"
        assert form.focused is form.query_one("#param-source", Input)


async def test_type_errors_show_per_field_and_block_the_preview(
    make_app: AppFactory, mirror: RedisMirror, redis_client: redis.Redis, keys: Keys
) -> None:
    with_schema(mirror)
    app = make_app()
    posted = Posted()
    async with app.run_test(size=(120, 40), message_hook=posted.append) as pilot:
        form = await open_form(pilot, app)
        form.query_one("#param-batch", Input).focus()
        await pilot.press("end", "x")  # "64x": told at once
        assert error_text(form, "batch") == "  ✖ batch: must be a whole number, not '64x'"
        form.query_one("#param-threshold", Input).value = "high"
        form.query_one("#param-source", Input).value = ""
        await pilot.press("enter")  # review: refused, the first bad field gets focus
        assert isinstance(app.screen, TriggerFormScreen)
        assert form.last_check is not None
        assert set(form.last_check.errors) == {"source", "batch", "threshold"}
        assert error_text(form, "source") == "  ✖ source: required: type a value"
        assert error_text(form, "threshold") == "  ✖ threshold: must be a number, not 'high'"
        assert form.focused is form.query_one("#param-source", Input)
        await pilot.press("escape")
        await wait_not_sent(pilot, posted, "trigger ai-inference-prod", "declined")
        assert isinstance(app.screen, MainScreen)
        assert commands(redis_client, keys) == []
        assert any("Trigger ai-inference-prod was not sent" in n for n in notes(app))


async def test_preview_shows_what_will_run_and_only_overrides_are_sent(
    make_app: AppFactory, mirror: RedisMirror, redis_client: redis.Redis, keys: Keys
) -> None:
    with_schema(mirror)
    app = make_app()
    seen: list[Any] = []
    async with app.run_test(size=(120, 40), message_hook=seen.append) as pilot:
        form = await open_form(pilot, app)
        form.query_one("#param-batch", Input).value = "128"
        form.query_one("#param-mode", Select).value = "exact"
        form.query_one("#param-dry_run", Select).value = True
        form.action_review()
        await pilot.pause()
        preview = app.screen
        assert isinstance(preview, TriggerPreviewScreen)
        lines = preview.preview.lines
        assert lines[0] == "Deployment: ai-inference-prod   Version: 1.0.0"
        assert " * batch     = 128" in lines
        assert '   source    = "s3://in"' in lines
        assert '   target    = "s3://out"' in lines  # the deployment's, not in the schema
        assert "   batch: 64 → 128" in lines
        assert '   mode: "fast" → "exact"' in lines
        assert "   dry_run: false → true" in lines
        await pilot.press("escape")  # back to the form, values kept
        assert app.screen is form
        assert form.query_one("#param-batch", Input).value == "128"
        form.action_review()
        await pilot.pause()
        await pilot.press("enter")  # Run has focus
        await wait_for(pilot, lambda: len(commands(redis_client, keys)) == 1, "the trigger")
        sent = commands(redis_client, keys)[0]
        assert (sent["action"], sent["target"]) == ("trigger", "ai-inference-prod")
        assert json.loads(sent["params"]) == {"batch": 128, "mode": "exact", "dry_run": True}
        # One message (the hook sees it at the screen and again at the app it bubbles to).
        requested = list({id(m): m for m in seen if isinstance(m, CommandRequested)}.values())
        assert [(m.action, m.params) for m in requested] == [
            ("trigger", {"batch": 128, "mode": "exact", "dry_run": True})
        ]


async def test_protected_deployment_asks_for_its_name_after_the_preview(
    make_app: AppFactory, mirror: RedisMirror, redis_client: redis.Redis, keys: Keys
) -> None:
    with_schema(mirror, FLOW_SCHEMA, protected=True)
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        form = await open_form(pilot, app)
        form.query_one("#param-model", Input).value = "scorer-v2"
        await pilot.press("enter", "y")
        assert isinstance(app.screen, ProtectedConfirmScreen)
        assert "model='scorer-v2'" in app.screen.question
        await pilot.press(*"ai-inference-prod", "enter")
        await wait_for(pilot, lambda: len(commands(redis_client, keys)) == 1, "the trigger")
        assert json.loads(commands(redis_client, keys)[0]["params"]) == {"model": "scorer-v2"}


async def test_deployment_screen_T_and_read_only(
    make_app: AppFactory, mirror: RedisMirror, redis_client: redis.Redis, keys: Keys
) -> None:
    with_schema(mirror, FLOW_SCHEMA)
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.screen.query_one(RunsTable).row_count == 3, "runs")
        app.screen.query_one(DeploymentsTable).focus()
        await pilot.press("d")
        assert isinstance(app.screen, DeploymentScreen)
        await pilot.press("T")
        assert isinstance(app.screen, TriggerFormScreen)
        await pilot.press("enter", "y")  # nothing changed: a trigger with no overrides
        await wait_for(pilot, lambda: len(commands(redis_client, keys)) == 1, "the trigger")
        assert commands(redis_client, keys)[0]["params"] == "{}"

    read_only = make_app(read_only=True)
    async with read_only.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: read_only.screen.query_one(RunsTable).row_count == 3, "runs")
        await pilot.press("T")
        assert isinstance(read_only.screen, MainScreen)
        read_only.screen.action_trigger_with_params()  # as the palette would
        await pilot.press("question_mark")
        assert "T" not in help_rows(read_only)
    assert len(commands(redis_client, keys)) == 1


async def test_without_a_schema_it_says_which_field_is_missing(
    make_app: AppFactory, mirror: RedisMirror, redis_client: redis.Redis, keys: Keys
) -> None:
    fill_standard(mirror)  # documents of an older engine: no parameter_schema
    app = make_app()
    posted = Posted()
    async with app.run_test(size=(120, 40), message_hook=posted.append) as pilot:
        await wait_for(pilot, lambda: app.screen.query_one(RunsTable).row_count == 3, "runs")
        app.screen.query_one(DeploymentsTable).focus()
        await pilot.press("T")
        await wait_not_sent(pilot, posted, "trigger ai-inference-prod", "ineligible")
        assert isinstance(app.screen, MainScreen)
        assert any("field parameter_schema" in n and f"{keys.deployments}" in n for n in notes(app))
        await pilot.press("question_mark")
        assert help_rows(app)["T"] == "Trigger with parameters..."
    assert commands(redis_client, keys) == []


async def test_a_long_form_scrolls_and_keeps_its_title_and_keys_in_view_at_80x24(
    make_app: AppFactory, mirror: RedisMirror
) -> None:
    with_schema(mirror)  # seven parameters: taller than 24 rows
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        form = await open_form(pilot, app)
        for _ in range(6):
            await pilot.press("tab")
        await pilot.pause()
        last = form.query_one("#param-tags", Input)
        assert form.focused is last
        screen = app.screen.region
        for widget in (form.query_one("#trigger-title"), form.query_one("#trigger-hint"), last):
            assert screen.contains_region(widget.region), widget


async def test_retry_controls_are_not_offered_and_empty_fields_do_not_look_filled(
    make_app: AppFactory, mirror: RedisMirror, redis_client: redis.Redis, keys: Keys
) -> None:
    with_schema(mirror, FLOW_SCHEMA)
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        form = await open_form(pilot, app)
        inputs = [widget.id for widget in form.query("#trigger-fields Input, Select")]
        assert inputs == ["param-source", "param-target", "param-model", "param-logical_date"]
        assert not form.query("#param-refresh_cache") and not form.query("#param-from_task")
        note = str(form.query_one("#trigger-hidden", Label).render())
        assert note == "Not offered: refresh_cache, from_task (retry controls: r on a run)"
        target = form.query_one("#param-target", Input)
        target.value = ""
        await pilot.pause()
        # An empty input says what empty means; it does not show a word that passes for
        # an entered value (it used to show `text`).
        assert target.placeholder == "empty: required, type text"
        assert form.query_one("#param-model", Input).placeholder == "empty: sends empty text"
        form.query_one("#param-model", Input).value = "scorer-v2"
        target.value = "s3://out"
        await pilot.press("enter")
        assert isinstance(app.screen, TriggerPreviewScreen)
        lines = app.screen.preview.lines
        assert ' * model         = "scorer-v2"' in lines
        # They still run, with the flow's defaults, and are not sent.
        assert "   refresh_cache = false" in lines and '   from_task     = ""' in lines
        await pilot.press("y")
        await wait_for(pilot, lambda: len(commands(redis_client, keys)) == 1, "the trigger")
        assert json.loads(commands(redis_client, keys)[0]["params"]) == {"model": "scorer-v2"}


async def test_a_logical_date_is_checked_in_the_form_and_sent_as_typed(
    make_app: AppFactory, mirror: RedisMirror, redis_client: redis.Redis, keys: Keys
) -> None:
    with_schema(mirror, FLOW_SCHEMA)
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        form = await open_form(pilot, app)
        date = form.query_one("#param-logical_date", Input)
        assert date.value == "" and date.placeholder == "empty: now; or a date, YYYY-MM-DD"
        date.focus()
        await pilot.press(*"2026-02-30")
        assert error_text(form, "logical_date").startswith(
            "  ✖ logical_date: logical date '2026-02-30' is not a date: write YYYY-MM-DD"
        )
        await pilot.press("enter")
        assert isinstance(app.screen, TriggerFormScreen)
        date.value = "2026-11-01"
        await pilot.pause()
        assert error_text(form, "logical_date") == ""
        await pilot.press("enter")
        assert isinstance(app.screen, TriggerPreviewScreen)
        assert ' * logical_date  = "2026-11-01"' in app.screen.preview.lines
        await pilot.press("y")
        await wait_for(pilot, lambda: len(commands(redis_client, keys)) == 1, "the trigger")
        sent = json.loads(commands(redis_client, keys)[0]["params"])
        assert sent == {"logical_date": "2026-11-01"}
