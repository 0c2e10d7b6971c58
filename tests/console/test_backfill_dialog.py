"""The deployment screen's `b`: backfill dialog with the dry-run list, then the command."""

from __future__ import annotations

import json

import msgspec
import pytest
import redis
from textual.widgets import Button, Input, Label, Static

from console.screens.backfill import BackfillScreen
from console.screens.deployment import DeploymentScreen
from console.screens.protected_confirm import ProtectedConfirmScreen
from engine.contract.documents import LineageTrigger
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
    wait_protected,
)
from tests.console.test_deployment_screen import open_deployment
from tests.console.test_help import help_rows


def text_of(dialog: BackfillScreen, selector: str) -> str:
    widget = dialog.query_one(selector)
    assert isinstance(widget, (Label, Static))
    return str(widget.render())


async def open_backfill(pilot: object, app: object) -> BackfillScreen:
    await pilot.press("b")  # type: ignore[attr-defined]
    await wait_for(pilot, lambda: isinstance(app.screen, BackfillScreen), "backfill dialog")  # type: ignore[arg-type, attr-defined]
    dialog = app.screen  # type: ignore[attr-defined]
    assert isinstance(dialog, BackfillScreen)
    return dialog


async def set_field(pilot: object, dialog: BackfillScreen, field: str, value: str) -> None:
    dialog.query_one(f"#backfill-{field}", Input).value = value
    await pilot.pause()  # type: ignore[attr-defined]


async def test_b_lists_the_fire_times_then_sends_the_window(
    make_app: AppFactory, mirror: RedisMirror, redis_client: redis.Redis, keys: Keys
) -> None:
    fill_standard(mirror)
    app = make_app()
    posted = Posted()
    async with app.run_test(size=(120, 40), message_hook=posted.append) as pilot:
        screen = await open_deployment(pilot, app)  # ai-inference-prod, 0 2,14 Shanghai
        dialog = await open_backfill(pilot, app)
        # NOW is 18:00 in Shanghai: yesterday 00:00 to now holds four fire times.
        assert dialog.query_one("#backfill-start", Input).value == "2026-11-24T00:00"
        assert dialog.query_one("#backfill-end", Input).value == "2026-11-25T18:00"
        assert text_of(dialog, "#backfill-summary").startswith("✔ 4 run(s), at most 1")
        listing = text_of(dialog, "#backfill-list").splitlines()
        assert listing[0].split()[:5] == ["1.", "Tue", "2026-11-24", "02:00", "CST"]
        assert listing[0].split()[5:] == ["Mon", "11-23", "18:00", "UTC"]
        assert len(listing) == 4

        await set_field(pilot, dialog, "end", "2026-11-24T00:00")
        assert text_of(dialog, "#backfill-summary").startswith("✖ end ")
        assert "must be after start" in text_of(dialog, "#backfill-summary")
        assert dialog.query_one("#backfill-send", Button).disabled
        await set_field(pilot, dialog, "start", "2024-01-01")
        await set_field(pilot, dialog, "end", "2025-06-01")
        assert "more than 500 fire times" in text_of(dialog, "#backfill-summary")
        assert dialog.query_one("#backfill-send", Button).disabled

        await set_field(pilot, dialog, "start", "2026-11-20")
        await set_field(pilot, dialog, "end", "2026-11-22")
        await set_field(pilot, dialog, "max", "2")
        assert text_of(dialog, "#backfill-summary").startswith("✔ 4 run(s), at most 2")
        assert posted.requested == [] and commands(redis_client, keys) == []  # a dry run
        await pilot.click("#backfill-send")
        await wait_for(pilot, lambda: len(commands(redis_client, keys)) == 1, "backfill sent")
        sent = commands(redis_client, keys)[0]
        assert sent["action"] == "backfill" and sent["target"] == "ai-inference-prod"
        assert json.loads(sent["params"]) == {
            "start": "2026-11-20T00:00:00+08:00",
            "end": "2026-11-22T00:00:00+08:00",
            "max_concurrent": 2,
        }
        assert app.screen is screen


async def test_escape_and_enter_send_nothing(
    make_app: AppFactory, mirror: RedisMirror, redis_client: redis.Redis, keys: Keys
) -> None:
    fill_standard(mirror)
    app = make_app()
    posted = Posted()
    async with app.run_test(size=(120, 40), message_hook=posted.append) as pilot:
        screen = await open_deployment(pilot, app)
        dialog = await open_backfill(pilot, app)
        await pilot.press("enter", "enter")  # moves through the fields
        assert app.screen is dialog
        await pilot.press("escape")
        await wait_not_sent(pilot, posted, "backfill ai-inference-prod", "declined")
        assert app.screen is screen and commands(redis_client, keys) == []


async def test_enter_walks_the_fields_to_the_button_and_sends(
    make_app: AppFactory, mirror: RedisMirror, redis_client: redis.Redis, keys: Keys
) -> None:
    fill_standard(mirror)
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await open_deployment(pilot, app)
        dialog = await open_backfill(pilot, app)
        await pilot.press("enter", "enter", "enter")  # start, end, max at once
        assert dialog.focused is dialog.query_one("#backfill-send")
        await pilot.press("enter")
        await wait_for(pilot, lambda: len(commands(redis_client, keys)) == 1, "sent")
        assert commands(redis_client, keys)[0]["action"] == "backfill"


async def test_protected_backfill_needs_the_name(
    make_app: AppFactory, mirror: RedisMirror, redis_client: redis.Redis, keys: Keys
) -> None:
    fill_standard(mirror)
    mirror.upsert_deployment(deployment_doc(protected=True, updated=at(0)))
    app = make_app()
    posted = Posted()
    async with app.run_test(size=(120, 40), message_hook=posted.append) as pilot:
        await wait_protected(pilot, app)
        await open_deployment(pilot, app)
        await open_backfill(pilot, app)
        await pilot.click("#backfill-send")
        await wait_for(pilot, lambda: isinstance(app.screen, ProtectedConfirmScreen), "name")
        await pilot.press(*"nope", "enter")
        await wait_not_sent(pilot, posted, "backfill ai-inference-prod", "wrong name")
        assert isinstance(app.screen, DeploymentScreen) and commands(redis_client, keys) == []
        await open_backfill(pilot, app)
        await pilot.click("#backfill-send")
        await wait_for(pilot, lambda: isinstance(app.screen, ProtectedConfirmScreen), "name")
        await pilot.press(*"ai-inference-prod", "enter")
        await wait_for(pilot, lambda: len(commands(redis_client, keys)) == 1, "sent")
        assert commands(redis_client, keys)[0]["action"] == "backfill"


async def test_read_only_hides_b_and_a_deployment_without_schedule_says_so(
    make_app: AppFactory, mirror: RedisMirror, redis_client: redis.Redis, keys: Keys
) -> None:
    fill_standard(mirror)
    app = make_app(read_only=True)
    posted = Posted()
    async with app.run_test(size=(120, 40), message_hook=posted.append) as pilot:
        screen = await open_deployment(pilot, app)
        await pilot.press("b")
        screen.action_backfill()  # as the palette would: refused, after the key
        await wait_not_sent(pilot, posted, "backfill", "read-only")
        assert app.screen is screen and commands(redis_client, keys) == []
        await pilot.press("question_mark")
        assert "b" not in help_rows(app)


async def test_b_is_listed_in_help(make_app: AppFactory, mirror: RedisMirror) -> None:
    fill_standard(mirror)
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await open_deployment(pilot, app)
        await pilot.press("question_mark")
        assert help_rows(app)["b"] == "Backfill"


def test_lineage_panel_describes_a_backfill_trigger() -> None:
    from datetime import timezone

    from console.widgets.lineage_panel import describe_trigger

    trigger = {
        "kind": "backfill",
        "origin": "backfill",
        "operator": "ana",
        "fire_time": "2026-11-20T02:00:00+08:00",
        "attempt": 1,
    }
    text = describe_trigger(msgspec.convert(trigger, LineageTrigger), timezone.utc)
    assert text.startswith("backfill of fire time 11-19 18:00") and text.endswith("by ana")


@pytest.mark.parametrize("size", [(80, 24), (40, 10)], ids=["80x24", "40x10"])
async def test_backfill_dialog_on_small_terminals(
    size: tuple[int, int], make_app: AppFactory, mirror: RedisMirror
) -> None:
    fill_standard(mirror)
    app = make_app()
    async with app.run_test(size=size) as pilot:
        deployment = await open_deployment(pilot, app)
        await pilot.press("b")
        await wait_for(pilot, lambda: isinstance(app.screen, BackfillScreen), "backfill")
        await pilot.press("tab", "tab", "escape")
        assert app.screen is deployment
