"""The console pages into the whole history (issue 11 item 1): with a filter set, the runs
title gives Prefect's total and the table loads older pages at its end, through the real
engine, over runs seeded straight into Prefect that the mirror does not hold."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

import pytest
from prefect.client.schemas.filters import (
    FlowRunFilter,
    FlowRunFilterExpectedStartTime,
    FlowRunFilterName,
    FlowRunFilterState,
    FlowRunFilterStateType,
)
from prefect.client.schemas.objects import StateType
from textual.widgets import Label

from console.app import ConsoleApp
from console.data import history
from console.data.history import HISTORY_PAGE
from console.logs.screen import LogScreen
from console.screens.run import RunScreen
from console.widgets.runs_table import RunsTable
from console.widgets.task_runs_table import TaskRunsTable
from engine.contract.keys import Keys
from engine.stack.launcher import EmbeddedStack
from tests.console.conftest import wait_for
from tests.integration.history_seed import prefect_db, seed

pytestmark = pytest.mark.integration

AD_HOC = 300
"""Runs without a deployment: Prefect holds them, the mirror keeps none of them."""


async def due_runs(prefect: Any) -> int:
    """Prefect's count of every run expected to start by now (not those scheduled ahead)."""
    now = datetime.now(timezone.utc)
    due = FlowRunFilterExpectedStartTime(before_=now)  # type: ignore[arg-type]
    count = await prefect.count_flow_runs(flow_run_filter=FlowRunFilter(expected_start_time=due))
    return int(count)


async def failed_runs_named(app: ConsoleApp, pilot: Any, text: str) -> tuple[RunsTable, Label]:
    """The runs table set to failed runs whose name holds `text`, once an engine beats;
    and its title."""
    await wait_for(pilot, lambda: app.store.engine is not None, "the heartbeat", 30)
    runs = app.screen.query_one(RunsTable)
    runs.focus()
    runs.set_state_filter("failed")
    runs.set_filter(text)
    return runs, app.screen.query_one("#runs-title", Label)


def more_rows(table: RunsTable, than: int) -> Callable[[], bool]:
    return lambda: table.row_count > than


async def test_a_filtered_table_shows_prefects_total_and_pages_into_older_runs(
    stack: EmbeddedStack, stack_keys: Keys, prefect_client: Any
) -> None:
    token = uuid.uuid4().hex[:6]
    seeded = await seed(prefect_client, prefect_db(stack), token, 0, AD_HOC)
    failed = FlowRunFilter(
        name=FlowRunFilterName(like_=f"hist-{token}"),
        state=FlowRunFilterState(
            type=FlowRunFilterStateType(any_=[StateType.FAILED, StateType.CRASHED])
        ),
    )
    expected = await prefect_client.count_flow_runs(flow_run_filter=failed)
    assert expected == AD_HOC // 2
    failed_ids = {
        str(run.id)
        for run in await prefect_client.read_flow_runs(flow_run_filter=failed, limit=200)
    }

    app = ConsoleApp(stack.redis_url, stack_keys, command_timeout=60)
    async with app.run_test(size=(160, 48)) as pilot:
        runs, title = await failed_runs_named(app, pilot, f"hist-{token}")

        def title_text() -> str:
            return str(title.render())

        total = f"Failed, any time: {expected:,} in Prefect"
        await wait_for(pilot, lambda: total in title_text(), f"{total!r} in the title", 30)
        assert runs.row_count == HISTORY_PAGE  # the first page; the mirror holds none of them
        assert not set(runs.row_keys()) & set(app.store.flow_runs)
        assert f"{expected:,} in Prefect; {HISTORY_PAGE} shown" in title_text()

        while runs.row_count < expected:  # the cursor at the last row asks for the next page
            grew = more_rows(runs, runs.row_count)  # before the press: the page may come in it
            await pilot.press("end")
            await wait_for(pilot, grew, "the older page", 30)
        assert runs.row_count == expected
        assert set(runs.row_keys()) == failed_ids
        assert f"; {expected:,} shown" in title_text()
        assert set(runs.row_keys()) <= set(seeded.ids)

        # A run of an older page opens with its task runs, which only Prefect has.
        oldest = runs.selected_key()  # End left the cursor on the last row
        assert oldest is not None and oldest not in app.store.flow_runs
        task = {"flow_run_id": oldest, "task_key": "t", "dynamic_key": "0", "name": "old-task",
                "state": {"type": "FAILED", "name": "Failed", "message": "it broke"}}  # fmt: skip
        await prefect_client._client.post("/task_runs/", json=task)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, RunScreen), "the run screen", 10)
        tasks = app.screen.query_one(TaskRunsTable)
        await wait_for(pilot, lambda: tasks.row_count == 1, "the older run's task run", 30)
        assert app.store.tasks_of(oldest)[0].state_message == "it broke"
        shown = app.export_screenshot()  # the run screen's header names it
        assert app.store.flow_runs[oldest].name in shown and "old-task" in shown
        await pilot.press("l")  # its log is not in Redis: the title says where it is
        await wait_for(pilot, lambda: isinstance(app.screen, LogScreen), "the log", 10)
        log_title = app.screen.query_one("#log-title", Label)
        where = "its log is in Prefect (p)"
        await wait_for(pilot, lambda: where in str(log_title.render()), repr(where), 10)
        await pilot.press("escape", "escape")

        # A failed run arriving later is counted at the next refresh of the total (10 s):
        # runs 0 (scheduled) and 1 (failed) again.
        await seed(prefect_client, prefect_db(stack), token, 0, 2)
        more = f"Failed, any time: {expected + 1:,} in Prefect"
        await wait_for(pilot, lambda: more in title_text(), f"{more!r} in the title", 40)


async def test_the_unfiltered_table_counts_all_of_prefect_and_pages_below_the_live_window(
    stack: EmbeddedStack, stack_keys: Keys, prefect_client: Any
) -> None:
    """No filter at all: the title is Prefect's count of every run due by now (not the held
    runs'; those scheduled ahead are the deployments' next runs), and End
    keeps loading older runs, past the pages the live window already shows."""
    token = uuid.uuid4().hex[:6]
    seeded = await seed(prefect_client, prefect_db(stack), token, 0, 120)
    before = await due_runs(prefect_client)
    app = ConsoleApp(stack.redis_url, stack_keys, command_timeout=60)
    async with app.run_test(size=(160, 48)) as pilot:
        runs = app.screen.query_one(RunsTable)
        title = app.screen.query_one("#runs-title", Label)
        total = re.compile(r"All, any time: ([\d,]+) in Prefect; (\d+) shown")

        def counted() -> re.Match[str] | None:
            return total.search(str(title.render()))

        await wait_for(pilot, lambda: counted() is not None, "Prefect's total in the title", 30)
        after = await due_runs(prefect_client)
        found = counted()
        assert found is not None
        assert before <= int(found.group(1).replace(",", "")) <= after
        assert "held" not in str(title.render())

        runs.focus()
        oldest = seeded.ids[-1]  # the seeded run expected longest ago
        while oldest not in runs.row_keys():
            grew = more_rows(runs, runs.row_count)
            await pilot.press("end")
            await wait_for(pilot, grew, "an older page", 30)
        assert oldest not in app.store.flow_runs  # it came from Prefect, not the mirror
        assert len(set(runs.row_keys())) == runs.row_count  # no run twice


async def test_a_view_whose_first_page_was_empty_shows_the_runs_that_came_since(
    stack: EmbeddedStack,
    stack_keys: Keys,
    prefect_client: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A filter that matched nothing when it was set: once runs it matches are in Prefect,
    the total's refresh brings their rows too, not the total alone."""
    monkeypatch.setattr(history, "TOTAL_REFRESH_SECONDS", 1.0)
    token = uuid.uuid4().hex[:6]
    app = ConsoleApp(stack.redis_url, stack_keys, command_timeout=60)
    async with app.run_test(size=(160, 48)) as pilot:
        runs, title = await failed_runs_named(app, pilot, f"hist-{token}")
        empty = "Failed, any time: 0 in Prefect"
        await wait_for(pilot, lambda: empty in str(title.render()), repr(empty), 30)
        assert runs.row_count == 0

        seeded = await seed(prefect_client, prefect_db(stack), token, 0, 4)  # 2 failed

        await wait_for(pilot, lambda: runs.row_count == 2, "the failed runs' rows", 30)
        assert set(runs.row_keys()) <= set(seeded.ids)
        assert "Failed, any time: 2 in Prefect; 2 shown" in str(title.render())
