"""Keys send the right commands to `{p}:commands`; results come back as notifications."""

from __future__ import annotations

import redis
from textual.pilot import Pilot

from console.app import ConsoleApp
from console.data.messages import CommandAnswered, CommandSent
from console.screens.confirm import ConfirmScreen
from console.widgets.deployments_table import DeploymentsTable
from console.widgets.runs_table import RunsTable
from engine.contract.commands import Command, CommandResult
from engine.contract.keys import Keys
from engine.store.mirror import RedisMirror
from tests.console.conftest import (
    AppFactory,
    Posted,
    commands,
    deployment_doc,
    fill_standard,
    wait_for,
    write_heartbeat,
)


def notes(app: object) -> list[str]:
    return [f"{n.title}|{n.message}|{n.severity}" for n in app._notifications]  # type: ignore[attr-defined]


async def test_t_triggers_the_selected_deployment(
    make_app: AppFactory, mirror: RedisMirror, redis_client: redis.Redis, keys: Keys
) -> None:
    fill_standard(mirror)
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.screen.query_one(RunsTable).row_count == 3, "runs")
        await pilot.press("t")
        await wait_for(pilot, lambda: len(commands(redis_client, keys)) == 1, "one command")
        sent = commands(redis_client, keys)[0]
        assert (sent["action"], sent["target"], sent["params"]) == (
            "trigger",
            "ai-inference-prod",
            "{}",
        )


async def test_p_pauses_an_active_and_resumes_a_paused_deployment(
    make_app: AppFactory, mirror: RedisMirror, redis_client: redis.Redis, keys: Keys
) -> None:
    fill_standard(mirror)
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        table = app.screen.query_one(DeploymentsTable)
        await wait_for(pilot, lambda: table.row_count == 2, "deployments")
        table.focus()
        await pilot.press("p", "enter")  # the pause dialog: enter = until resumed
        await pilot.press("down", "p")
        await wait_for(pilot, lambda: len(commands(redis_client, keys)) == 2, "two commands")
        sent = [(c["action"], c["target"]) for c in commands(redis_client, keys)]
        assert sent == [("pause", "ai-inference-prod"), ("resume", "nightly-report")]
        # The toggle follows the live document: once paused, p resumes.
        mirror.upsert_deployment(deployment_doc(paused=True, updated=table.ctx.now()))
        await wait_for(
            pilot,
            lambda: table.get_row("ai-inference-prod")[0].plain == "‖ Paused",
            "prod paused",
        )
        await pilot.press("up", "p")
        await wait_for(pilot, lambda: len(commands(redis_client, keys)) == 3, "third command")
        assert commands(redis_client, keys)[2]["action"] == "resume"


async def test_r_retries_finished_runs_only(
    make_app: AppFactory, mirror: RedisMirror, redis_client: redis.Redis, keys: Keys
) -> None:
    fill_standard(mirror)
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        runs = app.screen.query_one(RunsTable)
        await wait_for(pilot, lambda: runs.row_count == 3, "runs")
        runs.focus()
        await pilot.press("r")  # the running run: refused with a reason
        await wait_for(pilot, lambda: any("can be retried" in n for n in notes(app)), "refusal")
        await pilot.press("down", "r")  # the failed run
        await wait_for(pilot, lambda: len(commands(redis_client, keys)) == 1, "retry sent")
        sent = commands(redis_client, keys)[0]
        assert (sent["action"], sent["target"]) == ("retry", "run-failed")


async def test_c_cancels_only_after_confirmation(
    make_app: AppFactory, mirror: RedisMirror, redis_client: redis.Redis, keys: Keys
) -> None:
    fill_standard(mirror)
    app = make_app()
    posted = Posted()
    async with app.run_test(size=(120, 40), message_hook=posted.append) as pilot:
        runs = app.screen.query_one(RunsTable)
        await wait_for(pilot, lambda: runs.row_count == 3, "runs")
        runs.focus()
        await pilot.press("c")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")
        assert not isinstance(app.screen, ConfirmScreen)
        await pilot.press("c", "escape")
        await pilot.press("c", "enter")  # enter lands on the focused "No" button
        await wait_for(pilot, lambda: len(posted.not_sent) == 3, "three answers of no")
        assert all(m.what.startswith("cancel run witty-fox") for m in posted.not_sent)
        assert posted.requested == [] and commands(redis_client, keys) == []
        await pilot.press("c", "y")
        await wait_for(pilot, lambda: len(commands(redis_client, keys)) == 1, "cancel sent")
        sent = commands(redis_client, keys)[0]
        assert (sent["action"], sent["target"]) == ("cancel", "run-running")
        await pilot.press("down", "c")  # a failed run: nothing to cancel
        await wait_for(pilot, lambda: any("nothing to cancel" in n for n in notes(app)), "why")
        assert not isinstance(app.screen, ConfirmScreen)


async def test_result_from_the_engine_is_notified(
    make_app: AppFactory, mirror: RedisMirror, redis_client: redis.Redis, keys: Keys
) -> None:
    fill_standard(mirror)
    write_heartbeat(redis_client, keys)
    seen: list[object] = []
    app = make_app()
    async with app.run_test(size=(120, 40), message_hook=seen.append) as pilot:
        await wait_for(pilot, lambda: app.screen.query_one(RunsTable).row_count == 3, "runs")
        await pilot.press("t")
        await wait_for(pilot, lambda: len(commands(redis_client, keys)) == 1, "command")
        command = Command.from_fields(commands(redis_client, keys)[0])
        await wait_for(pilot, lambda: any(isinstance(m, CommandSent) for m in seen), "sent")
        assert any("Sent: trigger ai-inference-prod" in n for n in notes(app))
        mirror.record_result(
            command,
            CommandResult(command.id, "error", "deployment ai-inference-prod is protected"),
        )
        await wait_for(pilot, lambda: any(isinstance(m, CommandAnswered) for m in seen), "answer")
        await pilot.pause()
        assert (
            "Failed: trigger ai-inference-prod|deployment ai-inference-prod is protected|error"
            in notes(app)
        )


async def test_engine_down_says_queued_and_no_answer_says_so(
    make_app: AppFactory, mirror: RedisMirror, redis_client: redis.Redis, keys: Keys
) -> None:
    fill_standard(mirror)
    app = make_app(command_timeout=0.3)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.screen.query_one(RunsTable).row_count == 3, "runs")
        await pilot.press("t")
        await wait_for(pilot, lambda: any("is queued" in n for n in notes(app)), "queued note")
        await wait_for(
            pilot, lambda: any("No answer yet from the engine" in n for n in notes(app)), "late"
        )


async def _send_confirmed_cancel(
    pilot: Pilot[None], app: ConsoleApp, redis_client: redis.Redis, keys: Keys
) -> Command:
    """`c`, `y` on the run under the cursor (witty-fox); the command the console sent."""
    runs = app.screen.query_one(RunsTable)
    await wait_for(pilot, lambda: runs.row_count == 3, "runs")
    runs.focus()
    await pilot.press("c", "y")
    await wait_for(pilot, lambda: len(commands(redis_client, keys)) == 1, "cancel sent")
    return Command.from_fields(commands(redis_client, keys)[0])


async def test_cancel_says_cancelling_until_the_engine_confirms_it(
    make_app: AppFactory, mirror: RedisMirror, redis_client: redis.Redis, keys: Keys
) -> None:
    fill_standard(mirror)
    write_heartbeat(redis_client, keys)
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        command = await _send_confirmed_cancel(pilot, app, redis_client, keys)
        first = CommandResult(command.id, "cancelling", "cancelling run witty-fox (was Running)")
        mirror.record_result(command, first)
        await wait_for(
            pilot, lambda: any(n.startswith("Cancelling: cancel") for n in notes(app)), "pending"
        )
        assert not any(n.startswith("Done:") for n in notes(app))
        mirror.record_result(command, CommandResult(command.id, "ok", "cancelled run witty-fox"))
        await wait_for(
            pilot,
            lambda: any(n.startswith("Done: cancel") and "cancelled run" in n for n in notes(app)),
            "the final result",
        )


async def test_cancel_the_run_finished_first_is_a_failure(
    make_app: AppFactory, mirror: RedisMirror, redis_client: redis.Redis, keys: Keys
) -> None:
    fill_standard(mirror)
    write_heartbeat(redis_client, keys)
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        command = await _send_confirmed_cancel(pilot, app, redis_client, keys)
        mirror.record_result(command, CommandResult(command.id, "cancelling", "cancelling run"))
        too_late = "run witty-fox completed before the cancel took effect"
        mirror.record_result(command, CommandResult(command.id, "error", too_late))
        await wait_for(
            pilot,
            lambda: any(n.startswith("Failed: cancel") and too_late in n for n in notes(app)),
            "the final result",
        )
