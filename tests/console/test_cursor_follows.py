"""The cursor follows the operator's action (issue 7, item 7): after `t` the runs cursor
moves to the new run, so `c` right after `t` cancels that run, not the previous one."""

from __future__ import annotations

import redis

from console.data.messages import CommandAnswered
from console.screens.confirm import ConfirmScreen
from console.widgets.runs_table import RunsTable
from engine.contract.commands import Command, CommandResult
from engine.contract.keys import Keys
from engine.store.mirror import RedisMirror
from tests.console.conftest import (
    AppFactory,
    Posted,
    at,
    commands,
    fill_standard,
    flow_run_doc,
    wait_for,
    write_heartbeat,
)


def notes(app: object) -> list[str]:
    return [f"{n.title}|{n.message}" for n in app._notifications]  # type: ignore[attr-defined]


def _answer_trigger(
    mirror: RedisMirror, redis_client: redis.Redis, keys: Keys, run_id: str
) -> None:
    """What the engine does for `trigger`: the new run appears, then the result names it."""
    sent = commands(redis_client, keys)
    command = Command.from_fields(sent[-1])
    assert command.action == "trigger"
    mirror.record_result(command, CommandResult(command.id, "ok", "triggered", flow_run_id=run_id))


async def test_c_right_after_t_cancels_the_new_run(
    make_app: AppFactory, mirror: RedisMirror, redis_client: redis.Redis, keys: Keys
) -> None:
    fill_standard(mirror)
    write_heartbeat(redis_client, keys)
    app = make_app()
    posted = Posted()
    async with app.run_test(size=(120, 40), message_hook=posted.append) as pilot:
        runs = app.screen.query_one(RunsTable)
        await wait_for(pilot, lambda: runs.row_count == 3, "runs")
        # The runs cursor sits on the running run the operator looked at before.
        runs.move_cursor(row=runs.row_keys().index("run-running"))
        app.screen.query_one("#deployments").focus()
        await pilot.press("t")
        await wait_for(pilot, lambda: len(commands(redis_client, keys)) == 1, "trigger sent")

        # Before the engine answers, c does not fall on the previous run.
        await pilot.press("c")
        assert not isinstance(app.screen, ConfirmScreen)
        assert any(n.startswith("Waiting for the new run|") for n in notes(app))

        _answer_trigger(mirror, redis_client, keys, "run-new")
        # The answer came before the run reached Redis: the cursor waits for its row.
        await wait_for(pilot, lambda: any(isinstance(m, CommandAnswered) for m in posted.messages))
        await pilot.pause()  # the answer's handler has run
        assert runs.selected_key() == "run-running"
        mirror.upsert_flow_run(
            flow_run_doc("run-new", "fresh-fawn", state="PENDING", start=None, updated=at(0))
        )
        await wait_for(pilot, lambda: runs.selected_key() == "run-new", "cursor on the new run")

        await pilot.press("c")
        assert isinstance(app.screen, ConfirmScreen)
        assert "fresh-fawn" in str(app.screen.question)
        await pilot.press("y")
        await wait_for(pilot, lambda: len(commands(redis_client, keys)) == 2, "cancel sent")
        cancel = commands(redis_client, keys)[1]
        assert (cancel["action"], cancel["target"]) == ("cancel", "run-new")


async def test_the_cursor_moves_at_once_when_the_run_is_already_there(
    make_app: AppFactory, mirror: RedisMirror, redis_client: redis.Redis, keys: Keys
) -> None:
    fill_standard(mirror)
    write_heartbeat(redis_client, keys)
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        runs = app.screen.query_one(RunsTable)
        await wait_for(pilot, lambda: runs.row_count == 3, "runs")
        runs.move_cursor(row=2)
        app.screen.query_one("#deployments").focus()
        await pilot.press("t")
        await wait_for(pilot, lambda: len(commands(redis_client, keys)) == 1, "trigger sent")
        mirror.upsert_flow_run(flow_run_doc("run-new", "fresh-fawn", start=at(0), updated=at(0)))
        await wait_for(pilot, lambda: runs.row_count == 4, "the new row")
        assert runs.selected_key() != "run-new"  # not before the engine names it
        _answer_trigger(mirror, redis_client, keys, "run-new")
        await wait_for(pilot, lambda: runs.selected_key() == "run-new", "cursor on the new run")


async def test_a_new_run_hidden_by_the_filters_is_said_and_c_is_free_again(
    make_app: AppFactory, mirror: RedisMirror, redis_client: redis.Redis, keys: Keys
) -> None:
    fill_standard(mirror)
    write_heartbeat(redis_client, keys)
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        runs = app.screen.query_one(RunsTable)
        await wait_for(pilot, lambda: runs.row_count == 3, "runs")
        runs.focus()
        await pilot.press("f")  # Running only
        runs.move_cursor(row=0)
        app.screen.query_one("#deployments").focus()
        await pilot.press("t")
        await wait_for(pilot, lambda: len(commands(redis_client, keys)) == 1, "trigger sent")
        mirror.upsert_flow_run(
            flow_run_doc("run-new", "fresh-fawn", state="SCHEDULED", start=None, updated=at(0))
        )
        _answer_trigger(mirror, redis_client, keys, "run-new")
        await wait_for(
            pilot,
            lambda: any("fresh-fawn is hidden by the runs filters" in n for n in notes(app)),
            "hidden, said so",
        )
        assert runs.following is None
        await pilot.press("c")  # acts on the selected run again, asking first
        assert isinstance(app.screen, ConfirmScreen)
        assert "witty-fox" in str(app.screen.question)
