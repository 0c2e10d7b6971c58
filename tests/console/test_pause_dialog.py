"""`p` on an active deployment: the maintenance-window dialog, what it sends, and
"paused until" in the table and on the deployment screen."""

from __future__ import annotations

import json
from datetime import timedelta

import redis
from textual.widgets import Input, Label, Static

from console.screens.deployment import DeploymentScreen
from console.screens.main import MainScreen
from console.screens.pause_confirm import PauseConfirmScreen
from console.text.pause_text import PAUSE_EFFECT
from console.widgets.deployments_table import DeploymentsTable
from console.widgets.runs_table import RunsTable
from engine.contract.keys import Keys
from engine.store.mirror import RedisMirror
from tests.console.conftest import (
    NOW,
    AppFactory,
    Posted,
    at,
    commands,
    deployment_doc,
    fill_standard,
    flow_run_doc,
    wait_for,
    wait_not_sent,
    wait_protected,
)
from tests.console.test_commands import notes


async def open_pause(pilot: object, app: object) -> PauseConfirmScreen:
    screen = app.screen  # type: ignore[attr-defined]
    await wait_for(pilot, lambda: screen.query_one(RunsTable).row_count >= 3, "runs")  # type: ignore[arg-type]
    screen.query_one(DeploymentsTable).focus()
    await pilot.press("p")  # type: ignore[attr-defined]
    dialog = app.screen  # type: ignore[attr-defined]
    assert isinstance(dialog, PauseConfirmScreen)
    return dialog


def when_text(dialog: PauseConfirmScreen) -> str:
    return str(dialog.query_one("#pause-when", Label).render())


async def test_pause_until_2h_sends_resume_at_and_says_what_happens_to_scheduled_runs(
    make_app: AppFactory, mirror: RedisMirror, redis_client: redis.Redis, keys: Keys
) -> None:
    fill_standard(mirror)
    mirror.upsert_flow_run(flow_run_doc("run-later", "early-bird", state="SCHEDULED", start=None))
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        dialog = await open_pause(pilot, app)
        effect = str(dialog.query_one("#pause-effect", Static).render())
        assert PAUSE_EFFECT.split(":")[0] in effect
        assert "deletes the runs the schedule had already created" in effect
        assert "will still run" in effect
        assert "Scheduled now: early-bird." in effect
        assert when_text(dialog) == "→ paused until someone resumes it (p again)"
        await pilot.press("2", "h")
        assert when_text(dialog) == (
            "→ the engine resumes it at 12:00 UTC (in 2h 00m), even with no console open"
        )
        await pilot.press("enter")
        await wait_for(pilot, lambda: len(commands(redis_client, keys)) == 1, "the pause")
        sent = commands(redis_client, keys)[0]
        assert (sent["action"], sent["target"]) == ("pause", "ai-inference-prod")
        assert json.loads(sent["params"]) == {"resume_at": (NOW + timedelta(hours=2)).isoformat()}


async def test_a_bad_time_is_named_and_nothing_is_sent_until_fixed_or_escaped(
    make_app: AppFactory, mirror: RedisMirror, redis_client: redis.Redis, keys: Keys
) -> None:
    fill_standard(mirror)
    app = make_app()
    posted = Posted()
    async with app.run_test(size=(120, 40), message_hook=posted.append) as pilot:
        dialog = await open_pause(pilot, app)
        await pilot.press(*"soon", "enter")
        assert app.screen is dialog
        assert when_text(dialog).startswith("✖ 'soon' is not a time; use 30m, 2h, 1d")
        assert dialog.query_one("#pause-when", Label).has_class("-error")
        dialog.query_one(Input).value = "2026-11-25 09:00"  # earlier today
        await pilot.pause()
        assert "is not in the future" in when_text(dialog)
        await pilot.press("escape")
        await wait_not_sent(pilot, posted, "pause ai-inference-prod", "declined")
        assert isinstance(app.screen, MainScreen)
        assert commands(redis_client, keys) == []
        assert any("Pause ai-inference-prod was not sent" in n for n in notes(app))


async def test_an_empty_entry_pauses_indefinitely_with_no_params(
    make_app: AppFactory, mirror: RedisMirror, redis_client: redis.Redis, keys: Keys
) -> None:
    fill_standard(mirror)
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await open_pause(pilot, app)
        await pilot.press("enter")
        await wait_for(pilot, lambda: len(commands(redis_client, keys)) == 1, "the pause")
        assert commands(redis_client, keys)[0]["params"] == "{}"


async def test_paused_until_shows_in_the_table_and_on_the_deployment_screen(
    make_app: AppFactory, mirror: RedisMirror, redis_client: redis.Redis, keys: Keys
) -> None:
    fill_standard(mirror)
    mirror.upsert_deployment(
        deployment_doc(paused=True, updated=at(0))
        | {"resume_at": (NOW + timedelta(minutes=80)).isoformat()}
    )
    app = make_app()
    async with app.run_test(size=(160, 40)) as pilot:
        table = app.screen.query_one(DeploymentsTable)
        await wait_for(pilot, lambda: "ai-inference-prod" in table.row_keys(), "deployments")
        await wait_for(
            pilot,
            lambda: table.get_row("ai-inference-prod")[2].plain == "paused until 11:20 (in 1h 20m)",
            "paused until in the table",
        )
        table.focus()
        await pilot.press("d")
        screen = app.screen
        assert isinstance(screen, DeploymentScreen)
        assert screen._info().plain.splitlines()[0] == "‖ Paused until 11:20 (in 1h 20m)"
        assert "(paused until 11:20 (in 1h 20m): none fires before then)" in screen._fires().plain
        await pilot.press("p")  # paused: resumes at once, no dialog
        await wait_for(pilot, lambda: len(commands(redis_client, keys)) == 1, "the resume")
        assert commands(redis_client, keys)[0]["action"] == "resume"


async def test_protected_pause_with_a_window_names_the_local_time_then_asks_for_the_name(
    make_app: AppFactory, mirror: RedisMirror, redis_client: redis.Redis, keys: Keys
) -> None:
    from console.screens.protected_confirm import ProtectedConfirmScreen

    fill_standard(mirror)
    mirror.upsert_deployment(deployment_doc(protected=True, updated=at(0)))
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_protected(pilot, app)
        await open_pause(pilot, app)
        await pilot.press(*"30m", "enter")
        assert isinstance(app.screen, ProtectedConfirmScreen)
        assert app.screen.question == "Pause ai-inference-prod until 2026-11-25 10:30 UTC?"
        await pilot.press(*"ai-inference-prod", "enter")
        await wait_for(pilot, lambda: len(commands(redis_client, keys)) == 1, "the pause")
        sent = json.loads(commands(redis_client, keys)[0]["params"])
        assert sent == {"resume_at": (NOW + timedelta(minutes=30)).isoformat()}


async def test_a_relative_window_counts_from_confirm_not_from_when_the_dialog_opened(
    make_app: AppFactory, mirror: RedisMirror, redis_client: redis.Redis, keys: Keys
) -> None:
    fill_standard(mirror)
    clock = [NOW]
    app = make_app(now=lambda: clock[0])
    async with app.run_test(size=(120, 40)) as pilot:
        dialog = await open_pause(pilot, app)
        await pilot.press("2", "m")
        assert "resumes it at 10:02 UTC (in 2m" in when_text(dialog)
        # The operator reads the dialog for five minutes before confirming.
        clock[0] = NOW + timedelta(minutes=5)
        await wait_for(pilot, lambda: "at 10:07 UTC" in when_text(dialog), "the moving time")
        await pilot.press("enter")
        await wait_for(pilot, lambda: len(commands(redis_client, keys)) == 1, "the pause")
        sent = json.loads(commands(redis_client, keys)[0]["params"])
        assert sent == {"resume_at": (NOW + timedelta(minutes=7)).isoformat()}
