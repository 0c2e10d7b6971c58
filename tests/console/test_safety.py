"""Read-only mode hides and refuses mutating actions; protected deployments need their name."""

from __future__ import annotations

from typing import Any

import redis
from textual.widgets import Input

from console.app import ConsoleApp
from console.screens.confirm import ConfirmScreen
from console.screens.help import HelpScreen
from console.screens.main import MainScreen
from console.screens.protected_confirm import ProtectedConfirmScreen
from console.screens.run import RunScreen
from console.widgets.deployments_table import DeploymentsTable
from console.widgets.runs_table import RunsTable
from console.widgets.status_bar import StatusBar
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
    wait_palette_offers,
)
from tests.console.test_commands import notes
from tests.console.test_help import help_rows

MUTATING_KEYS = ("t", "p", "r", "c")


def footer_keys(app: ConsoleApp) -> set[str]:
    """Keys the footer shows (the bindings check_action leaves enabled and visible)."""
    return {
        key
        for key, active in app.screen.active_bindings.items()
        if active.binding.show and active.enabled
    }


def fill_protected(mirror: RedisMirror) -> None:
    """The standard data, with ai-inference-prod protected."""
    fill_standard(mirror)
    mirror.upsert_deployment(deployment_doc(protected=True, updated=at(0)))


async def _loaded(pilot: Any) -> None:
    app = pilot.app
    await wait_for(pilot, lambda: app.screen.query_one(RunsTable).row_count == 3, "runs")


async def test_read_only_hides_mutating_keys_and_sends_nothing(
    make_app: AppFactory, mirror: RedisMirror, redis_client: redis.Redis, keys: Keys
) -> None:
    fill_standard(mirror)
    app = make_app(read_only=True)
    posted = Posted()
    async with app.run_test(size=(120, 40), message_hook=posted.append) as pilot:
        await _loaded(pilot)
        shown = footer_keys(app)
        assert not shown & set(MUTATING_KEYS)
        assert {"slash", "q", "a"} <= shown
        status = str(app.screen.query_one(StatusBar).render())
        assert "⊘ read-only" in status
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        rows = help_rows(app)
        assert not {"Trigger", "Retry", "Cancel", "Pause/Resume"} & set(rows.values())
        await pilot.press("escape")
        # Pressed anyway, on both tables and on the run screen: nothing happens.
        app.screen.query_one(DeploymentsTable).focus()
        await pilot.press(*MUTATING_KEYS)
        app.screen.query_one(RunsTable).focus()
        await pilot.press("down", *MUTATING_KEYS)
        await pilot.press("enter")
        assert isinstance(app.screen, RunScreen)
        assert not footer_keys(app) & {"r", "c"}
        await pilot.press("r", "c")
        assert not isinstance(app.screen, ConfirmScreen)
        # The palette's way in is refused with a word; the keys before it asked for nothing.
        app.screen.action_retry()
        await wait_not_sent(pilot, posted, "retry", "read-only")
        assert [m.what for m in posted.not_sent] == ["retry"]
        assert commands(redis_client, keys) == []


async def test_read_only_refuses_palette_actions_with_a_notification(
    make_app: AppFactory, mirror: RedisMirror, redis_client: redis.Redis, keys: Keys
) -> None:
    fill_standard(mirror)
    app = make_app(read_only=True)
    posted = Posted()
    async with app.run_test(size=(120, 40), message_hook=posted.append) as pilot:
        await _loaded(pilot)
        screen = app.screen
        assert isinstance(screen, MainScreen)
        titles = {c.title: c for c in app.get_system_commands(screen)}
        for title in ("Trigger", "Pause/Resume", "Retry run", "Cancel run"):
            titles[title].callback()  # what the palette does on enter
        await wait_for(pilot, lambda: len(posted.not_sent) == 4, "four refusals")
        assert {m.reason for m in posted.not_sent} == {"read-only"} and posted.requested == []
        refusals = [n for n in notes(app) if n.startswith("Read-only|")]
        assert len(refusals) == 4, notes(app)
        assert all("nothing was sent" in n for n in refusals)
        assert not isinstance(app.screen, ConfirmScreen)
        assert commands(redis_client, keys) == []


async def test_palette_runs_a_command_through_the_screen(
    make_app: AppFactory, mirror: RedisMirror, redis_client: redis.Redis, keys: Keys
) -> None:
    fill_standard(mirror)
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await _loaded(pilot)
        await pilot.press("ctrl+p")
        await pilot.press(*"Trigger")
        await wait_palette_offers(pilot, "Trigger")
        await pilot.press("enter")
        await wait_for(pilot, lambda: len(commands(redis_client, keys)) == 1, "trigger sent")
        assert commands(redis_client, keys)[0]["action"] == "trigger"


async def test_protected_trigger_needs_the_exact_name(
    make_app: AppFactory, mirror: RedisMirror, redis_client: redis.Redis, keys: Keys
) -> None:
    fill_protected(mirror)
    app = make_app()
    posted = Posted()
    async with app.run_test(size=(120, 40), message_hook=posted.append) as pilot:
        await _loaded(pilot)
        await wait_for(
            pilot, lambda: app.store.deployments["ai-inference-prod"].protected, "protected"
        )
        app.screen.query_one(DeploymentsTable).focus()
        await pilot.press("t")
        assert isinstance(app.screen, ProtectedConfirmScreen)
        await pilot.press(*"ai-inference-pro", "enter")  # one letter short
        assert isinstance(app.screen, MainScreen)
        await wait_for(pilot, lambda: any("not 'ai-inference-prod'" in n for n in notes(app)))
        await pilot.press("t", *"AI-INFERENCE-PROD", "enter")  # not exact
        await pilot.press("t", *"ai-inference-prod", "escape")  # abandoned
        await wait_not_sent(pilot, posted, "trigger ai-inference-prod", "declined")
        assert [m.reason for m in posted.not_sent] == ["wrong name", "wrong name", "declined"]
        assert commands(redis_client, keys) == []
        assert "Not sent|Trigger ai-inference-prod was not sent.|information" in notes(app)
        await pilot.press("t")
        assert app.screen.query_one(Input).has_focus
        await pilot.press(*"ai-inference-prod", "enter")
        await wait_for(pilot, lambda: len(commands(redis_client, keys)) == 1, "trigger sent")
        sent = commands(redis_client, keys)[0]
        assert (sent["action"], sent["target"]) == ("trigger", "ai-inference-prod")


async def test_protected_run_actions_and_pause_need_the_name(
    make_app: AppFactory, mirror: RedisMirror, redis_client: redis.Redis, keys: Keys
) -> None:
    fill_protected(mirror)
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await _loaded(pilot)
        await wait_for(
            pilot, lambda: app.store.deployments["ai-inference-prod"].protected, "protected"
        )
        runs = app.screen.query_one(RunsTable)
        runs.focus()
        await pilot.press("c")  # witty-fox, running, of the protected deployment
        assert isinstance(app.screen, ProtectedConfirmScreen)
        assert "Cancel run witty-fox" in app.screen.question
        await pilot.press(*"nope", "enter")
        await pilot.press("down", "r")  # brave-otter, failed
        assert isinstance(app.screen, ProtectedConfirmScreen)
        await pilot.press(*"ai-inference-prod", "enter")
        app.screen.query_one(DeploymentsTable).focus()
        await pilot.press("p", "enter")  # the pause dialog first, then the name
        assert isinstance(app.screen, ProtectedConfirmScreen)
        await pilot.press(*"ai-inference-prod", "enter")
        await wait_for(pilot, lambda: len(commands(redis_client, keys)) == 2, "two commands")
        sent = [(c["action"], c["target"]) for c in commands(redis_client, keys)]
        assert sent == [("retry", "run-failed"), ("pause", "ai-inference-prod")]


async def test_unprotected_deployments_keep_single_keys_and_y_n(
    make_app: AppFactory, mirror: RedisMirror, redis_client: redis.Redis, keys: Keys
) -> None:
    fill_protected(mirror)
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await _loaded(pilot)
        table = app.screen.query_one(DeploymentsTable)
        table.focus()
        await pilot.press("down", "p")  # nightly-report: not protected
        await wait_for(pilot, lambda: len(commands(redis_client, keys)) == 1, "resume sent")
        assert commands(redis_client, keys)[0]["action"] == "resume"
        assert not isinstance(app.screen, ProtectedConfirmScreen)
