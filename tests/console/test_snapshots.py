"""SVG snapshots with a fixed clock, fixed ids and a fixed key prefix.

Update with `pytest tests/console/test_snapshots.py --snapshot-update`, then look at the
SVGs before committing them.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import redis
from textual.pilot import Pilot

from console.app import ConsoleApp
from console.logs.screen import LogScreen
from console.logs.view import LogView
from console.screens.audit import AuditScreen
from console.screens.protected_confirm import ProtectedConfirmScreen
from console.screens.run import RunScreen
from console.widgets.runs_table import RunsTable
from console.widgets.task_runs_table import TaskRunsTable
from engine.contract.keys import Keys
from engine.store.mirror import RedisMirror
from tests.console.conftest import (
    NOW,
    at,
    deployment_doc,
    fill_standard,
    task_run_doc,
    wait_for,
    wait_tables_sized,
    write_heartbeat,
)
from tests.console.test_audit import audit

SHOWN_URL = "unix:///home/ops/.local/state/aiwf-console/redis/redis.sock"
"""Shown instead of the test server's temporary socket path, which changes every run."""


@pytest.fixture
def snap_keys(redis_client: redis.Redis) -> Iterator[Keys]:
    keys = Keys(prefix="snap")

    def clean() -> None:
        found = list(redis_client.scan_iter(match="snap:*"))
        if found:
            redis_client.delete(*found)

    clean()
    yield keys
    clean()


@pytest.fixture
def snap_app(redis_url: str, redis_client: redis.Redis, snap_keys: Keys) -> ConsoleApp:
    mirror = RedisMirror(redis_client, snap_keys)
    fill_standard(mirror)
    for doc in (
        task_run_doc("t-load", "run-failed", "load_raw_data-0", start=at(-90), end=at(-89)),
        task_run_doc(
            "t-infer",
            "run-failed",
            "infer-0",
            state="FAILED",
            start=at(-89),
            end=at(-80),
            run_count=3,
        ),
        task_run_doc(
            "t-save", "run-failed", "save_results-0", state="PENDING", start=None, end=None
        ),
    ):
        mirror.upsert_task_run(doc)
    write_heartbeat(redis_client, snap_keys)
    app = ConsoleApp(redis_url, snap_keys, now=lambda: NOW, heartbeat_interval=0.2)
    app.store.redis_url = SHOWN_URL
    return app


async def _loaded(pilot: Pilot[Any]) -> None:
    app = pilot.app
    await wait_for(pilot, lambda: app.screen.query_one(RunsTable).row_count == 3, "runs")
    await wait_for(
        pilot, lambda: "engine alive" in str(app.screen.query_one("#status").render()), "heartbeat"
    )


def test_main_screen(snap_compare: Any, snap_app: ConsoleApp) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await _loaded(pilot)
        pilot.app.screen.query_one(RunsTable).focus()
        await pilot.press("down")
        await wait_tables_sized(pilot)

    assert snap_compare(snap_app, terminal_size=(120, 40), run_before=run_before)


def test_run_screen_of_a_failed_run(snap_compare: Any, snap_app: ConsoleApp) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await _loaded(pilot)
        runs = pilot.app.screen.query_one(RunsTable)
        runs.focus()
        runs.move_cursor(row=1)
        await pilot.press("enter")
        screen = pilot.app.screen
        assert isinstance(screen, RunScreen)
        await wait_for(pilot, lambda: screen.query_one(TaskRunsTable).row_count == 3, "tasks")
        await wait_tables_sized(pilot)

    assert snap_compare(snap_app, terminal_size=(120, 40), run_before=run_before)


def test_run_log_in_the_light_theme(snap_compare: Any, snap_app: ConsoleApp) -> None:
    snap_app.theme = "aiwf-light"

    async def run_before(pilot: Pilot[Any]) -> None:
        await _loaded(pilot)
        pilot.app.screen.query_one(RunsTable).focus()
        await pilot.press("enter")
        await wait_for(
            pilot, lambda: pilot.app.screen.query_one(TaskRunsTable).row_count == 2, "tasks"
        )
        await pilot.press("l")
        screen = pilot.app.screen
        assert isinstance(screen, LogScreen)
        await wait_for(pilot, lambda: screen.query_one(LogView).lines_written == 5, "lines")
        view = screen.query_one(LogView)
        await wait_for(pilot, lambda: "…" not in view.visible_text(), "the lines fetched")
        await wait_tables_sized(pilot)

    assert snap_compare(snap_app, terminal_size=(120, 40), run_before=run_before)


def test_audit_screen(
    snap_compare: Any, snap_app: ConsoleApp, redis_client: redis.Redis, snap_keys: Keys
) -> None:
    mirror = RedisMirror(redis_client, snap_keys)
    audit(mirror, "trigger", "ai-inference-prod", message="started run witty-fox", minutes=-6)
    audit(
        mirror,
        "cancel",
        "run-done",
        "error",
        "run calm-lynx already finished (Completed)",
        minutes=-4,
        user="bob",
    )
    audit(mirror, "pause", "nightly-report", message="schedule paused", minutes=-2)

    async def run_before(pilot: Pilot[Any]) -> None:
        await _loaded(pilot)
        await pilot.press("a")
        screen = pilot.app.screen
        assert isinstance(screen, AuditScreen)
        await wait_for(pilot, lambda: screen.table.row_count == 3, "audit entries")
        await wait_tables_sized(pilot)

    assert snap_compare(snap_app, terminal_size=(80, 24), run_before=run_before)


def test_protected_confirm_modal(
    snap_compare: Any, snap_app: ConsoleApp, redis_client: redis.Redis, snap_keys: Keys
) -> None:
    RedisMirror(redis_client, snap_keys).upsert_deployment(
        deployment_doc(protected=True, updated=NOW)
    )

    async def run_before(pilot: Pilot[Any]) -> None:
        await _loaded(pilot)
        app = pilot.app
        assert isinstance(app, ConsoleApp)
        await wait_for(
            pilot, lambda: app.store.deployments["ai-inference-prod"].protected, "protected"
        )
        app.screen.query_one(RunsTable).focus()
        await pilot.press("c")
        assert isinstance(app.screen, ProtectedConfirmScreen)
        await pilot.press(*"ai-inf")
        await wait_tables_sized(pilot)

    assert snap_compare(snap_app, terminal_size=(80, 24), run_before=run_before)
