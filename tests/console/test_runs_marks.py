"""Runs table filters, sort and marks, and bulk retry/cancel of the marked runs."""

from __future__ import annotations

from typing import Any

import pytest
import redis
from textual.widgets import Label

from console.app import ConsoleApp
from console.screens.bulk_confirm import BulkConfirmScreen, bulk_question
from console.screens.main import MainScreen
from console.widgets.runs_table import MARK, RunsTable
from engine.contract.keys import Keys
from engine.store.mirror import RedisMirror
from tests.console.conftest import (
    AppFactory,
    Posted,
    at,
    commands,
    deployment_doc,
    fill_standard,
    flow_run_doc,
    wait_for,
    wait_not_sent,
)
from tests.console.test_commands import notes


async def _runs(pilot: Any, app: ConsoleApp, count: int = 3) -> RunsTable:
    runs = app.screen.query_one(RunsTable)
    await wait_for(pilot, lambda: runs.row_count == count, f"{count} runs")
    runs.focus()
    runs.move_cursor(row=0)
    await pilot.pause()
    return runs


def _title(app: ConsoleApp) -> str:
    return str(app.screen.query_one("#runs-title", Label).render())


async def test_f_cycles_the_state_filter(make_app: AppFactory, mirror: RedisMirror) -> None:
    fill_standard(mirror)
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        runs = await _runs(pilot, app)
        seen = []
        for _ in range(6):
            await pilot.press("f")
            seen.append((runs.state_filter_label, runs.row_keys()))
        assert seen == [
            ("Running", ["run-running"]),
            ("Failed", ["run-failed"]),
            ("Completed", ["run-done"]),
            ("Scheduled", []),
            ("Cancelled", []),
            ("All", ["run-running", "run-failed", "run-done"]),
        ]
        await pilot.press("f", "f")
        assert "Failed, any time" in _title(app)


async def test_capital_r_cycles_the_time_range(make_app: AppFactory, mirror: RedisMirror) -> None:
    fill_standard(mirror)  # runs started 5, 90 and 200 minutes ago
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        runs = await _runs(pilot, app)
        await pilot.press("R")
        assert (runs.time_range_label, runs.row_keys()) == ("last 1h", ["run-running"])
        assert "last 1h" in _title(app)
        await pilot.press("R")
        assert runs.row_keys() == ["run-running", "run-failed", "run-done"]
        await pilot.press("R", "R")
        assert runs.time_range_label == "any time"


async def test_o_and_capital_o_sort_and_live_rows_keep_their_place(
    make_app: AppFactory, mirror: RedisMirror
) -> None:
    fill_standard(mirror)  # durations: running 5m (live), failed 7m (latest attempt), done 5m
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        runs = await _runs(pilot, app)
        assert "by" not in _title(app)  # the default sort is not spelled out
        await pilot.press("o")
        assert runs.sort_label == "Duration ▼"
        # Prefect sorts flow runs by start and name only: this sort covers the loaded rows.
        assert "by Duration ▼ (of the rows loaded)" in _title(app)
        assert runs.row_keys() == ["run-failed", "run-running", "run-done"]
        await pilot.press("O")
        assert "by Duration ▲" in _title(app)
        assert runs.row_keys() == ["run-done", "run-running", "run-failed"]
        # A run arriving live lands in its sorted place (diffed in, not a refill).
        kept = runs.get_row("run-failed")[0]
        mirror.upsert_flow_run(
            flow_run_doc("run-new", "quick-hare", state="COMPLETED", start=at(-30), end=at(-29))
        )
        await wait_for(pilot, lambda: runs.row_count == 4, "the new run")
        assert runs.row_keys() == ["run-new", "run-done", "run-running", "run-failed"]
        assert runs.get_row("run-failed")[0] is kept
        await pilot.press("o")
        assert runs.sort_label == "Attempts ▲"
        assert runs.row_keys()[-1] == "run-failed"  # 2 attempts, the others 1


async def test_space_v_asterisk_and_escape_mark_runs(
    make_app: AppFactory, mirror: RedisMirror
) -> None:
    fill_standard(mirror)
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        runs = await _runs(pilot, app)
        await pilot.press("space")
        assert runs.marked == {"run-running"}
        assert runs.get_row("run-running")[0].plain == f"{MARK}witty-fox"
        assert "◆ 1 marked" in _title(app)
        await pilot.press("space")
        assert runs.marked == set()
        assert runs.get_row("run-running")[0].plain == "witty-fox"
        await pilot.press("down", "space", "down", "V")
        assert runs.marked == {"run-failed", "run-done"}
        await pilot.press("escape")
        assert runs.marked == set()
        await pilot.press("f", "f", "asterisk")  # Failed only: marks what the filter shows
        assert runs.marked == {"run-failed"}
        await pilot.press("f", "f", "f", "f", "ctrl+a")
        assert runs.marked == {"run-failed", "run-running", "run-done"}
        await pilot.press("escape")
        assert runs.marked == set()


async def test_bulk_retry_confirms_counts_and_sends_one_command_per_final_run(
    make_app: AppFactory, mirror: RedisMirror, redis_client: redis.Redis, keys: Keys
) -> None:
    fill_standard(mirror)
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        runs = await _runs(pilot, app)
        await pilot.press("asterisk", "r")
        dialog = app.screen
        assert isinstance(dialog, BulkConfirmScreen)
        assert dialog.question == "Retry 2 runs (1 skipped: still running)?"
        assert dialog.names == ["brave-otter", "calm-lynx"]
        await pilot.press("y")
        await wait_for(pilot, lambda: len(commands(redis_client, keys)) == 2, "two retries")
        sent = commands(redis_client, keys)
        # One command per run; each is sent by its own worker, so in any order.
        assert sorted((c["action"], c["target"]) for c in sent) == [
            ("retry", "run-done"),
            ("retry", "run-failed"),
        ]
        assert any("Sent 2 retry commands; 1 skipped (still running)" in n for n in notes(app))
        assert runs.marked == set()


async def test_bulk_cancel_and_escape_at_the_confirm(
    make_app: AppFactory, mirror: RedisMirror, redis_client: redis.Redis, keys: Keys
) -> None:
    fill_standard(mirror)
    mirror.upsert_flow_run(flow_run_doc("run-late", "late-owl", state="SCHEDULED", start=None))
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        runs = await _runs(pilot, app, 4)
        await pilot.press("asterisk", "c")
        assert isinstance(app.screen, BulkConfirmScreen)
        assert app.screen.question == "Cancel 2 runs (2 skipped: already finished)?"
        await pilot.press("escape")
        assert isinstance(app.screen, MainScreen)
        assert len(runs.marked) == 4  # kept, so the operator can try again
        assert any("Bulk cancel was not sent" in n for n in notes(app))
        await pilot.press("c", "y")
        await wait_for(pilot, lambda: len(commands(redis_client, keys)) == 2, "two cancels")
        sent = {(c["action"], c["target"]) for c in commands(redis_client, keys)}
        assert sent == {("cancel", "run-running"), ("cancel", "run-late")}


async def test_bulk_with_nothing_eligible_sends_nothing(
    make_app: AppFactory, mirror: RedisMirror, redis_client: redis.Redis, keys: Keys
) -> None:
    fill_standard(mirror)
    app = make_app()
    posted = Posted()
    async with app.run_test(size=(120, 40), message_hook=posted.append) as pilot:
        await _runs(pilot, app)
        await pilot.press("space", "r")  # only the running run is marked
        await wait_not_sent(pilot, posted, "bulk retry", "ineligible")
        assert isinstance(app.screen, MainScreen)
        assert any("None of the 1 marked runs can be retried" in n for n in notes(app))
        assert commands(redis_client, keys) == []


async def test_bulk_on_a_protected_deployment_is_refused(
    make_app: AppFactory, mirror: RedisMirror, redis_client: redis.Redis, keys: Keys
) -> None:
    fill_standard(mirror)
    mirror.upsert_deployment(deployment_doc(protected=True, updated=at(0)))
    app = make_app()
    posted = Posted()
    async with app.run_test(size=(120, 40), message_hook=posted.append) as pilot:
        runs = await _runs(pilot, app)
        await wait_for(
            pilot, lambda: app.store.deployments["ai-inference-prod"].protected, "protected"
        )
        await pilot.press("asterisk", "r")
        assert isinstance(app.screen, MainScreen)
        assert any(
            "Bulk retry refused: marked runs of protected deployment ai-inference-prod" in n
            for n in notes(app)
        )
        await pilot.press("c")
        await wait_not_sent(pilot, posted, "bulk cancel", "protected")
        assert isinstance(app.screen, MainScreen)
        assert [m.what for m in posted.not_sent] == ["bulk retry", "bulk cancel"]
        assert commands(redis_client, keys) == []
        assert len(runs.marked) == 3


async def test_read_only_marks_but_never_sends(
    make_app: AppFactory, mirror: RedisMirror, redis_client: redis.Redis, keys: Keys
) -> None:
    fill_standard(mirror)
    app = make_app(read_only=True)
    posted = Posted()
    async with app.run_test(size=(120, 40), message_hook=posted.append) as pilot:
        runs = await _runs(pilot, app)
        await pilot.press("asterisk", "r", "c")
        assert len(runs.marked) == 3
        assert isinstance(app.screen, MainScreen)
        app.screen.request_bulk("retry")  # as the palette would: refused, said so
        await wait_not_sent(pilot, posted, "bulk retry", "read-only")
        assert any("Read-only mode: bulk retry" in n for n in notes(app))
        assert commands(redis_client, keys) == []


def test_bulk_question_wording() -> None:
    assert (
        bulk_question("Retry", 4, 2, "still running") == "Retry 4 runs (2 skipped: still running)?"
    )
    assert bulk_question("Cancel", 1, 0, "already finished") == "Cancel 1 run?"


@pytest.mark.parametrize("size", [(80, 24), (40, 10)], ids=["80x24", "40x10"])
async def test_marks_and_bulk_confirm_on_small_terminals(
    size: tuple[int, int], make_app: AppFactory, mirror: RedisMirror
) -> None:
    fill_standard(mirror)
    app = make_app()
    async with app.run_test(size=size) as pilot:
        runs = await _runs(pilot, app)
        await pilot.press("f", "R", "o", "O", "asterisk", "r")
        await pilot.press("f", "f", "f", "f", "f", "R", "R", "R", "asterisk", "r")
        assert isinstance(app.screen, BulkConfirmScreen)
        await pilot.press("n")
        assert isinstance(app.screen, MainScreen)
        assert len(runs.marked) == 3
