"""`T` on a deployment with a secret parameter: masked input, fingerprints everywhere the
form, the preview and the notices show it; only the command carries what was typed."""

from __future__ import annotations

import json
from typing import Any

import redis
from textual.widgets import Input, Label

from console.app import ConsoleApp
from console.screens.trigger_preview import TriggerPreviewScreen
from console.text.param_form import check_form, fields_from_schema
from engine.contract.keys import Keys
from engine.contract.secrets import fingerprint, mark_secret_schema
from engine.store.mirror import RedisMirror
from tests.console.conftest import AppFactory, at, commands, deployment_doc, fill_standard, wait_for
from tests.console.param_schemas import FLOW_SCHEMA
from tests.console.test_commands import notes
from tests.console.test_trigger_form import open_form

CONFIGURED = "tok-configured-5f1c2a"
"""The deployment file's value: the console only ever sees its fingerprint."""
TYPED = "tok-typed-9b7e44d0"
"""What the operator types into the secret field."""


def screen_text(app: ConsoleApp) -> str:
    """Everything drawn on the terminal now (the SVG export holds each cell's text)."""
    return app.export_screenshot()


def with_secret(mirror: RedisMirror) -> None:
    """fill_standard, then ai-inference-prod with `source` secret, as the engine writes it."""
    fill_standard(mirror)
    doc: dict[str, Any] = deployment_doc(updated=at(0)) | {
        "parameter_schema": mark_secret_schema(FLOW_SCHEMA, {"source"}),
        "parameters": {"source": fingerprint(CONFIGURED), "target": "s3://out"},
        "secret_parameters": ["source"],
    }
    mirror.upsert_deployment(doc)


async def test_a_secret_parameter_is_masked_in_the_form_preview_and_notices(
    make_app: AppFactory, mirror: RedisMirror, redis_client: redis.Redis, keys: Keys
) -> None:
    with_secret(mirror)
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        form = await open_form(pilot, app)
        field = form.query_one("#param-source", Input)
        assert field.password and field.value == ""  # never pre-filled with the fingerprint
        assert fingerprint(CONFIGURED) in field.placeholder
        label = form.query(Label).filter(".param-label").first()
        assert "secret" in str(label.render())
        field.focus()
        await pilot.press(*TYPED)
        await pilot.pause()
        assert field.value == TYPED
        assert TYPED not in screen_text(app)  # drawn as dots
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, TriggerPreviewScreen), "preview")
        preview = app.screen
        assert isinstance(preview, TriggerPreviewScreen)
        lines = "\n".join(preview.preview.lines)
        assert TYPED not in lines and CONFIGURED not in lines
        assert f"source: {fingerprint(CONFIGURED)} → {fingerprint(TYPED)}" in lines
        assert TYPED not in screen_text(app)
        await pilot.press("enter")  # Run
        await wait_for(pilot, lambda: len(commands(redis_client, keys)) == 1, "the trigger")
        sent = commands(redis_client, keys)[0]
        assert json.loads(sent["params"]) == {"source": TYPED}  # the engine needs the value
        await pilot.pause()
        assert notes(app) and not any(TYPED in note for note in notes(app))
        assert TYPED not in screen_text(app)


async def test_leaving_a_secret_empty_keeps_the_deployment_value(
    make_app: AppFactory, mirror: RedisMirror, redis_client: redis.Redis, keys: Keys
) -> None:
    with_secret(mirror)
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        form = await open_form(pilot, app)
        form.action_review()
        await wait_for(pilot, lambda: isinstance(app.screen, TriggerPreviewScreen), "preview")
        preview = app.screen
        assert isinstance(preview, TriggerPreviewScreen)
        shown = [line.split() for line in preview.preview.lines]
        assert ["source", "=", fingerprint(CONFIGURED)] in shown
        await pilot.press("enter")
        await wait_for(pilot, lambda: len(commands(redis_client, keys)) == 1, "the trigger")
        # Nothing typed: nothing sent for it (never the fingerprint in place of the value).
        assert json.loads(commands(redis_client, keys)[0]["params"]) == {}


def test_typing_the_configured_value_again_is_no_change() -> None:
    fields = fields_from_schema(
        mark_secret_schema(FLOW_SCHEMA, {"source"}),
        {"source": fingerprint(CONFIGURED), "target": "s3://out"},
    )
    assert [f.name for f in fields if f.secret] == ["source"]
    same = check_form(fields, {"source": CONFIGURED, "target": "s3://out", "model": "scorer-v1"})
    assert same.ok and same.overrides == {}
    other = check_form(fields, {"source": TYPED, "target": "s3://out", "model": "scorer-v1"})
    assert other.overrides == {"source": TYPED}
    bad = check_form(
        fields_from_schema({"properties": {"n": {"type": "integer", "writeOnly": True}}}, {}),
        {"n": "12x"},
    )
    assert bad.errors == {"n": "expected whole number; the entry is not shown"}
