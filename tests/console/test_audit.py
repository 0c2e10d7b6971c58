"""The audit screen: newest first, live from the `{p}:audit` stream, `/` filter, escape."""

from __future__ import annotations

import redis
from textual.widgets import Static

from console.app import ConsoleApp
from console.screens.audit import AuditScreen
from console.screens.audit_entry import AuditEntryScreen
from console.screens.help import HelpScreen
from console.screens.main import MainScreen
from console.widgets.audit_table import AuditTable
from console.widgets.runs_table import RunsTable
from engine.contract.commands import Command, CommandResult
from engine.contract.identity import Identity
from engine.contract.keys import Keys
from engine.store.mirror import RedisMirror
from tests.console.conftest import AppFactory, at, fill_standard, wait_for


def audit(
    mirror: RedisMirror,
    action: str,
    target: str,
    status: str = "ok",
    message: str = "done",
    minutes: float = -1,
    user: str = "alice",
    run_id: str = "",
    run_name: str = "",
) -> None:
    """One executed command, written as the engine writes it (result + audit entry)."""
    command = Command(
        id=f"cmd-{action}-{target}-{minutes}",  # fixed: the detail view shows it
        action=action,
        target=target,
        identity=Identity(user=user, host="ops-1", ssh_client="10.0.0.7"),
        sent_at=at(minutes - 0.1).isoformat(),
    )
    mirror.record_result(
        command,
        CommandResult(
            command.id,
            status,  # type: ignore[arg-type]
            message,
            flow_run_id=run_id,
            finished_at=at(minutes).isoformat(),
            flow_run_name=run_name,
        ),
    )


def cells(app: ConsoleApp) -> list[list[str]]:
    table = app.screen.query_one(AuditTable)
    return [[cell.plain for cell in table.get_row(key)] for key in table.row_keys()]


async def test_audit_lists_newest_first_and_follows_live(
    make_app: AppFactory, mirror: RedisMirror, redis_client: redis.Redis, keys: Keys
) -> None:
    fill_standard(mirror)
    audit(mirror, "trigger", "ai-inference-prod", minutes=-30)
    audit(mirror, "cancel", "run-x", "error", "run already finished", minutes=-20, user="bob")
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("a")
        assert isinstance(app.screen, AuditScreen)
        table = app.screen.query_one(AuditTable)
        await wait_for(pilot, lambda: table.row_count == 2, "two entries")
        rows = cells(app)
        assert rows[0][:5] == [
            "11-25 09:40:00",
            "✖ error",
            "cancel",
            "run-x",
            "bob@ops-1 from 10.0.0.7",
        ]
        assert rows[0][5] == "run already finished"
        assert rows[1][:3] == ["11-25 09:30:00", "✔ ok", "trigger"]
        # Written after the screen opened, no key pressed: it appears on top.
        audit(mirror, "pause", "nightly-report", message="paused", minutes=-5)
        await wait_for(pilot, lambda: table.row_count == 3, "the live entry")
        assert cells(app)[0][:4] == ["11-25 09:55:00", "✔ ok", "pause", "nightly-report"]
        await pilot.press("a")  # already here: no second screen
        assert sum(isinstance(s, AuditScreen) for s in app.screen_stack) == 1
        await pilot.press("question_mark", "a")  # not from inside a dialog
        assert isinstance(app.screen, HelpScreen)


async def test_audit_filter_and_escape(
    make_app: AppFactory, mirror: RedisMirror, redis_client: redis.Redis, keys: Keys
) -> None:
    audit(mirror, "trigger", "ai-inference-prod", minutes=-30)
    audit(mirror, "cancel", "run-x", "error", "run already finished", minutes=-20, user="bob")
    audit(mirror, "pause", "nightly-report", minutes=-10)
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("a")
        table = app.screen.query_one(AuditTable)
        await wait_for(pilot, lambda: table.row_count == 3, "entries")
        await pilot.press("slash", *"bob")
        await wait_for(pilot, lambda: table.row_count == 1, "filtered")
        assert cells(app)[0][2] == "cancel"
        title = str(app.screen.query_one("#audit-title").render())
        assert "1 of 3" in title and "'bob'" in title
        await pilot.press("enter")  # keep the filter, back to the table
        audit(mirror, "resume", "nightly-report", user="bob", minutes=-1)
        await wait_for(pilot, lambda: table.row_count == 2, "live entry passes the filter")
        await pilot.press("escape")  # clears the filter
        await wait_for(pilot, lambda: table.row_count == 4, "all entries")
        assert isinstance(app.screen, AuditScreen)
        await pilot.press("escape")
        assert isinstance(app.screen, MainScreen)


async def test_audit_from_the_palette(make_app: AppFactory, mirror: RedisMirror) -> None:
    fill_standard(mirror)
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.screen.query_one(RunsTable).row_count == 3, "runs")
        titles = {c.title: c for c in app.get_system_commands(app.screen)}
        titles["Audit trail"].callback()
        await pilot.pause()
        assert isinstance(app.screen, AuditScreen)


async def test_audit_names_runs_and_the_detail_view_gives_name_and_id(
    make_app: AppFactory, mirror: RedisMirror, redis_client: redis.Redis, keys: Keys
) -> None:
    fill_standard(mirror)
    run_id = "0193a1b2-0000-7000-8000-00000000abcd"
    # As the engine writes it now: the run's name on the entry.
    audit(mirror, "retry", run_id, run_id=run_id, run_name="witty-fox", minutes=-30)
    # An entry written before names were recorded: the mirror knows the run.
    audit(mirror, "cancel", "run-failed", "error", "run brave-otter already finished", -20)
    # A trigger: the deployment is the target, the run it created is on the detail view.
    audit(
        mirror, "trigger", "ai-inference-prod", run_id="run-new", run_name="calm-owl", minutes=-10
    )
    app = make_app()
    async with app.run_test(size=(160, 40)) as pilot:
        await wait_for(pilot, lambda: app.screen.query_one(RunsTable).row_count == 3, "runs")
        await pilot.press("a")
        table = app.screen.query_one(AuditTable)
        await wait_for(pilot, lambda: table.row_count == 3, "three entries")
        targets = [(row[2], row[3]) for row in cells(app)]
        assert targets == [
            ("trigger", "ai-inference-prod"),
            ("cancel", "brave-otter"),
            ("retry", "witty-fox"),
        ]
        assert run_id not in "".join("".join(row) for row in cells(app))
        await pilot.press("down", "down", "enter")
        detail = app.screen
        assert isinstance(detail, AuditEntryScreen)
        text = str(detail.query_one("#audit-entry-fields", Static).render())
        assert f"witty-fox (id {run_id})" in text
        assert "alice@ops-1 from 10.0.0.7" in text
        await pilot.press("escape", "up", "enter")
        text = str(app.screen.query_one("#audit-entry-fields", Static).render())
        assert "brave-otter (id run-failed)" in text
        await pilot.press("escape", "up", "enter")
        text = str(app.screen.query_one("#audit-entry-fields", Static).render())
        assert "calm-owl (id run-new)" in text and "ai-inference-prod" in text
        await pilot.press("escape")
        assert isinstance(app.screen, AuditScreen)


async def test_a_cancel_is_one_row_that_turns_final(
    make_app: AppFactory, mirror: RedisMirror, redis_client: redis.Redis, keys: Keys
) -> None:
    command = Command(
        action="cancel",
        target="run-x",
        identity=Identity(user="ana", host="ops-1"),
        sent_at=at(-3).isoformat(),
    )
    pending = "cancelling run witty-fox (was Running)"
    mirror.record_result(
        command, CommandResult(command.id, "cancelling", pending, finished_at=at(-3).isoformat())
    )
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("a")
        table = app.screen.query_one(AuditTable)
        await wait_for(pilot, lambda: table.row_count == 1, "the cancelling entry")
        assert cells(app)[0][1:3] == ["⊘ cancelling", "cancel"]
        mirror.record_result(
            command,
            CommandResult(
                command.id, "ok", "cancelled run witty-fox", finished_at=at(-1).isoformat()
            ),
        )
        await wait_for(pilot, lambda: cells(app)[0][1] == "✔ ok", "the final entry")
        assert table.row_count == 1
        assert cells(app)[0][0] == "11-25 09:59:00"
        assert cells(app)[0][5] == "cancelled run witty-fox"
