"""The `:` command line: every command and alias, completion, unknown commands, the palette
entries made from the same registry, and `?` listing the commands."""

from __future__ import annotations

from typing import Any

import pytest
import redis
from textual.pilot import Pilot
from textual.widgets import Label

from console.app import ConsoleApp
from console.cmdline import registry as commands_registry
from console.cmdline.line import CommandInput
from console.cmdline.screen import CommandLineScreen
from console.logs.screen import LogScreen
from console.screens.audit import AuditScreen
from console.screens.deployment import DeploymentScreen
from console.screens.help import HelpScreen
from console.screens.main import MainScreen
from console.screens.partitions import PartitionsScreen
from console.screens.run import RunScreen
from console.screens.timeline import TimelineScreen
from console.widgets.deployments_table import DeploymentsTable
from console.widgets.runs_table import RunsTable
from engine.contract.keys import Keys
from engine.store.mirror import RedisMirror
from tests.console.conftest import (
    AppFactory,
    Posted,
    commands,
    fill_standard,
    wait_for,
    wait_not_sent,
    wait_palette_offers,
)
from tests.console.test_commands import notes
from tests.console.test_help import help_rows


async def loaded(pilot: Pilot[Any]) -> ConsoleApp:
    app = pilot.app
    assert isinstance(app, ConsoleApp)
    await wait_for(pilot, lambda: app.screen.query_one(RunsTable).row_count == 3, "runs")
    return app


def keys_of(text: str) -> list[str]:
    """Key names that type `text` (pilot.press takes names, not every character)."""
    names = {" ": "space", "-": "minus", ":": "colon"}
    return [names.get(char, char) for char in text]


async def type_command(pilot: Pilot[Any], line: str, *, enter: bool = True) -> None:
    await pilot.press("colon")
    assert isinstance(pilot.app.screen, CommandLineScreen)
    await pilot.press(*keys_of(line), *(["enter"] if enter else []))
    await pilot.pause()


def field(app: ConsoleApp) -> CommandInput:
    return app.screen.query_one(CommandInput)


def hints(app: ConsoleApp) -> str:
    return str(app.screen.query_one("#command-hints", Label).render())


@pytest.mark.parametrize("word", ["deploy", "dp", "deployments"])
async def test_deploy_opens_a_deployment_or_the_deployments(
    word: str, make_app: AppFactory, mirror: RedisMirror
) -> None:
    fill_standard(mirror)
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        app.screen.query_one(RunsTable).focus()
        await type_command(pilot, f"{word} nightly")  # a unique prefix is enough
        assert isinstance(app.screen, DeploymentScreen)
        assert app.screen.deployment_name == "nightly-report"
        await type_command(pilot, word)
        assert isinstance(app.screen, MainScreen)
        assert isinstance(app.focused, DeploymentsTable)


@pytest.mark.parametrize("word", ["runs", "r"])
async def test_runs_by_state_or_deployment(
    word: str, make_app: AppFactory, mirror: RedisMirror
) -> None:
    fill_standard(mirror)
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        runs = app.screen.query_one(RunsTable)
        await type_command(pilot, f"{word} failed")
        assert runs.state_filter_label == "Failed" and runs.row_count == 1
        assert app.focused is runs
        assert "Failed" in str(app.screen.query_one("#runs-title", Label).render())
        await type_command(pilot, f"{word} nightly-report")
        assert runs.deployment_filter == "nightly-report"
        await type_command(pilot, word)
        assert runs.state_filter_label == "All" and runs.deployment_filter is None
        assert runs.row_count == 3
        await type_command(pilot, f"{word} sideways")
        assert "'sideways' is neither a state" in notes(app)[-1]


@pytest.mark.parametrize("word", ["logs", "log", "l"])
async def test_logs_of_a_named_run_or_the_run_on_screen(
    word: str, make_app: AppFactory, mirror: RedisMirror
) -> None:
    fill_standard(mirror)
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        await type_command(pilot, f"{word} brave-otter")
        assert isinstance(app.screen, LogScreen)
        assert (app.screen.flow_run_id, app.screen.task_run_id) == ("run-failed", None)
        await pilot.press("escape")
        app.push_screen(RunScreen(app.ctx, "run-running"))
        await pilot.pause()
        await type_command(pilot, word)
        assert isinstance(app.screen, LogScreen)
        assert app.screen.flow_run_id == "run-running"


async def test_logs_without_a_run_says_what_to_do(
    make_app: AppFactory, mirror: RedisMirror
) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await type_command(pilot, "logs")
        assert isinstance(app.screen, MainScreen)
        assert "No run here: name one" in notes(app)[-1]
        await type_command(pilot, "logs nobody")
        assert "No run 'nobody'" in notes(app)[-1]


@pytest.mark.parametrize("word", ["timeline", "tl", "gantt"])
async def test_timeline_of_the_selected_run(
    word: str, make_app: AppFactory, mirror: RedisMirror
) -> None:
    fill_standard(mirror)
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        app.screen.query_one(RunsTable).focus()  # the cursor is on the newest run
        await type_command(pilot, word)
        assert isinstance(app.screen, TimelineScreen)
        assert app.screen.flow_run_id == "run-running"


@pytest.mark.parametrize("word", ["audit", "au"])
async def test_audit(word: str, make_app: AppFactory, mirror: RedisMirror) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await type_command(pilot, word)
        assert isinstance(app.screen, AuditScreen)


@pytest.mark.parametrize("word", ["who", "writers"])
async def test_who_wrote(word: str, make_app: AppFactory, mirror: RedisMirror) -> None:
    fill_standard(mirror)
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        await type_command(pilot, f"{word} ai-inference-prod")
        assert isinstance(app.screen, PartitionsScreen)
        assert app.screen.deployment == "ai-inference-prod"
        await pilot.press("escape")
        await type_command(pilot, word)  # the deployment under the cursor
        assert isinstance(app.screen, PartitionsScreen)
        assert app.screen.deployment == "ai-inference-prod"


@pytest.mark.parametrize("word", ["theme", "th"])
async def test_theme(word: str, make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await type_command(pilot, f"{word} aiwf-light")
        assert app.theme == "aiwf-light"
        await type_command(pilot, f"{word} aiwf-lite")
        assert app.theme == "aiwf-light"
        assert "No theme 'aiwf-lite'; nearest: aiwf-light" in notes(app)[-1]
        await type_command(pilot, word)
        assert ":theme NAME: give a name" in notes(app)[-1]


@pytest.mark.parametrize("word", ["help", "h"])
async def test_help_lists_keys_and_commands(word: str, make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await type_command(pilot, word)
        assert isinstance(app.screen, HelpScreen)
        rows = help_rows(app)
        assert rows["t"] == "Trigger"  # the main screen's keys
        assert rows[":"] == ":Command"
        for command in commands_registry.COMMANDS:
            assert rows[f":{command.name}"] == f"{command.help} {command.usage}".rstrip()
        assert rows[":runs"] == "The runs: all, one state's or one deployment's [STATE|DEPLOYMENT]"


@pytest.mark.parametrize("word", ["readonly", "ro"])
async def test_readonly_turns_on_and_never_off(
    word: str, make_app: AppFactory, mirror: RedisMirror, redis_client: redis.Redis, keys: Keys
) -> None:
    fill_standard(mirror)
    app = make_app()
    posted = Posted()
    async with app.run_test(size=(120, 40), message_hook=posted.append) as pilot:
        await loaded(pilot)
        await type_command(pilot, f"{word} off")
        assert not app.read_only
        assert "only turns read-only on" in notes(app)[-1]
        await type_command(pilot, word)
        assert app.read_only and app.ctx.read_only
        assert "⊘ read-only" in str(app.screen.query_one("#status").render())
        await pilot.press("t")  # hidden: does nothing
        app.screen.action_trigger()  # as the palette would: refused, after the key
        await wait_not_sent(pilot, posted, "trigger", "read-only")
        assert commands(redis_client, keys) == []


@pytest.mark.parametrize("word", ["quit", "q", "exit"])
async def test_quit(word: str, make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await type_command(pilot, word)
        await wait_for(pilot, lambda: app._exit, "exit")


async def test_unknown_command_names_the_nearest(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await type_command(pilot, "deplo")
        assert isinstance(app.screen, MainScreen)
        assert "Unknown command :deplo; did you mean :deploy" in notes(app)[-1]
        await type_command(pilot, "xyzzy")
        assert notes(app)[-1].split("|")[1] == "Unknown command :xyzzy (:help lists them)"


async def test_escape_closes_and_runs_nothing(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await type_command(pilot, "audit", enter=False)
        await pilot.press("escape")
        assert isinstance(app.screen, MainScreen)
        assert notes(app) == []


async def test_tab_completes_commands_and_arguments(
    make_app: AppFactory, mirror: RedisMirror
) -> None:
    fill_standard(mirror)
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        await type_command(pilot, "au", enter=False)
        assert "audit" in hints(app)
        await pilot.press("tab")
        assert field(app).value == "audit "
        field(app).value = ""
        await pilot.press(*keys_of("the"), "tab")
        assert field(app).value == "theme "
        await pilot.press(*keys_of("aiwf-l"), "tab")
        assert field(app).value == "theme aiwf-light"
        field(app).value = "deploy "
        await pilot.pause()
        assert "ai-inference-prod  nightly-report" in hints(app)
        # No common prefix: tab cycles through the candidates.
        await pilot.press("tab")
        assert field(app).value == "deploy ai-inference-prod"
        await pilot.press("tab")
        assert field(app).value == "deploy nightly-report"
        await pilot.press("tab")
        assert field(app).value == "deploy ai-inference-prod"
        field(app).value = "runs fa"
        await pilot.press("tab")
        assert field(app).value == "runs failed"
        field(app).value = "logs wit"
        await pilot.press("tab", "enter")
        await pilot.pause()
        assert isinstance(app.screen, LogScreen)


def test_completions_are_pure_registry_logic() -> None:
    class FakeStore:
        deployments: dict[str, dict[str, str]] = {"ai-inference-prod": {}, "nightly-report": {}}

    class FakeApp:
        store = FakeStore()

    app: Any = FakeApp()
    assert commands_registry.completions("d", app) == ["deploy"]
    assert commands_registry.completions("t", app) == ["timeline", "theme"]
    assert commands_registry.completions("dp ni", app) == ["dp nightly-report"]
    # Prefix matches first, then the names that contain the text.
    assert commands_registry.completions("dp n", app) == [
        "dp nightly-report",
        "dp ai-inference-prod",
    ]
    assert commands_registry.completions("dp report", app) == ["dp nightly-report"]
    assert commands_registry.completions("audit x", app) == []
    assert commands_registry.completions("zz", app) == []
    with pytest.raises(commands_registry.CommandError, match="Type a command"):
        commands_registry.parse(":  ")
    command, arg = commands_registry.parse(":DP   nightly-report ")
    assert (command.name, arg) == ("deploy", "nightly-report")


async def test_palette_offers_the_registry_commands(
    make_app: AppFactory, mirror: RedisMirror
) -> None:
    fill_standard(mirror)
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        titles = {c.title: c for c in app.get_system_commands(app.screen)}
        for command in commands_registry.COMMANDS:
            if command.palette:
                assert command.palette in titles
        for title in ("Audit trail", "Who wrote this?", "Run timeline", "Read-only on"):
            assert title in titles
        titles["Deployment: nightly-report"].callback()
        await pilot.pause()
        assert isinstance(app.screen, DeploymentScreen)
        titles["Runs: failed"].callback()
        await pilot.pause()
        assert isinstance(app.screen, MainScreen)
        assert app.screen.query_one(RunsTable).state_filter_label == "Failed"
        titles["Theme: aiwf-high-contrast"].callback()
        assert app.theme == "aiwf-high-contrast"
        titles["Run log"].callback()  # the run under the cursor: the one failed run
        await pilot.pause()
        assert isinstance(app.screen, LogScreen)
        assert app.screen.flow_run_id == "run-failed"


async def test_the_real_palette_finds_and_runs_registry_entries(
    make_app: AppFactory, mirror: RedisMirror
) -> None:
    """The real palette (ctrl+p) finds a registry entry by typing and runs it."""
    fill_standard(mirror)
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        await pilot.press("ctrl+p")
        await pilot.press(*keys_of("Deployment: nightly"))
        await wait_palette_offers(pilot, "nightly")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, DeploymentScreen), "deployment")
        # An entry that reads the screen it was opened from: the run on screen.
        app.push_screen(RunScreen(app.ctx, "run-failed"))
        await pilot.pause()
        await pilot.press("ctrl+p", *keys_of("Run timeline"))
        await wait_palette_offers(pilot, "timeline")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, TimelineScreen), "timeline")
        assert isinstance(app.screen, TimelineScreen)
        assert app.screen.flow_run_id == "run-failed"


async def test_colon_is_not_offered_inside_a_dialog(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("question_mark", "colon")
        assert isinstance(app.screen, HelpScreen)


async def test_a_colon_typed_into_the_filter_stays_text(
    make_app: AppFactory, mirror: RedisMirror
) -> None:
    fill_standard(mirror)
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        await pilot.press("slash", "a", "colon", "b")
        assert isinstance(app.screen, MainScreen)
        assert app.screen.query_one(DeploymentsTable).filter_text == "a:b"
