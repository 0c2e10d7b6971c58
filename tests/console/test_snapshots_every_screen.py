"""SVG snapshots that complete the set: every screen and dialog at 80x24 and 160x48 in the
dark theme (the ones other files already take at a size are not repeated here), and one
screen in each other built-in theme.

Already elsewhere: logs (test_logs_snapshots), timeline (test_timeline_snapshots), command
line (test_command_line_snapshots), deployment (test_deployment_snapshots), retry
(test_retry_from_task_snapshots), backfill (test_backfill_snapshots), outputs
(test_outputs_snapshots), trigger form and preview (test_trigger_form_snapshots), pause
(test_pause_dialog_snapshots), bulk confirm at 80x24 (test_bulk_confirm_snapshots), audit and
protected confirm at 80x24 and the light theme (test_snapshots).

Same fixed clock, ids and key prefix as test_snapshots.py. Update with
`pytest tests/console/test_snapshots_every_screen.py --snapshot-update`, then look at them.
"""

from __future__ import annotations

from typing import Any

import pytest
import redis
from textual.pilot import Pilot

from console.app import ConsoleApp
from console.screens.audit import AuditScreen
from console.screens.audit_entry import AuditEntryScreen
from console.screens.bulk_confirm import BulkConfirmScreen
from console.screens.confirm import ConfirmScreen
from console.screens.help import HelpScreen
from console.screens.partitions import PartitionsScreen
from console.screens.protected_confirm import ProtectedConfirmScreen
from console.screens.run import RunScreen
from console.screens.writers import WritersScreen
from console.widgets.runs_table import RunsTable
from console.widgets.status_bar import StatusBar
from console.widgets.task_runs_table import TaskRunsTable
from engine.contract.keys import Keys
from engine.store.mirror import RedisMirror
from tests.console.conftest import NOW, at, deployment_doc, wait_for, wait_tables_sized
from tests.console.test_audit import audit
from tests.console.test_lineage import SHA_B, lineage_doc
from tests.console.test_lineage_snapshots import _open_run, traced_app
from tests.console.test_snapshots import _loaded as _runs_and_beat
from tests.console.test_snapshots import snap_app, snap_keys

__all__ = ["snap_app", "snap_keys", "traced_app"]  # fixtures, imported to be found by pytest

SIZES = pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=["80x24", "160x48"])


async def _loaded(pilot: Pilot[Any]) -> None:
    """Runs and heartbeat shown, and the status bar's engine-down tint gone: StatusBar sets
    its classes while rendering, so its padding can repaint a frame after its text (seen
    as a flaky snapshot on a busy machine)."""
    await _runs_and_beat(pilot)
    status = pilot.app.screen.query_one(StatusBar)
    await wait_for(pilot, lambda: not status.has_class("-engine-down"), "the tint cleared")
    await _drawn(pilot, "nightly-report", "brave-otter")


async def _drawn(pilot: Pilot[Any], *words: str) -> None:
    """Waits until the tables are laid out and the screen shows `words` (no spaces) whole.
    DataTable sizes its columns when idle, so on a busy machine a snapshot could catch rows
    cut to the old widths. Screenshots are costly: taken only every 0.2 s, so the app gets
    the idle time it needs to lay the tables out."""
    await wait_tables_sized(pilot)
    await wait_for(
        pilot,
        lambda: all(word in pilot.app.export_screenshot() for word in words),
        f"{', '.join(words)} drawn",
        interval=0.2,
    )
    await wait_tables_sized(pilot)


async def _failed_run(pilot: Pilot[Any]) -> RunScreen:
    await _loaded(pilot)
    runs = pilot.app.screen.query_one(RunsTable)
    runs.focus()
    runs.move_cursor(row=1)  # brave-otter, failed
    await pilot.press("enter")
    screen = pilot.app.screen
    assert isinstance(screen, RunScreen)
    await wait_for(pilot, lambda: screen.query_one(TaskRunsTable).row_count == 3, "tasks")
    await _drawn(pilot, "load_raw_data-0", "save_results-0")
    return screen


@SIZES
def test_main_screen(snap_compare: Any, snap_app: ConsoleApp, size: tuple[int, int]) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await _loaded(pilot)
        pilot.app.screen.query_one(RunsTable).focus()
        await pilot.press("down")

    assert snap_compare(snap_app, terminal_size=size, run_before=run_before)


@SIZES
def test_run_screen(snap_compare: Any, snap_app: ConsoleApp, size: tuple[int, int]) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await _failed_run(pilot)

    assert snap_compare(snap_app, terminal_size=size, run_before=run_before)


@SIZES
def test_run_screen_with_lineage(
    snap_compare: Any, traced_app: ConsoleApp, size: tuple[int, int]
) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        screen = await _open_run(pilot, row=2)  # calm-lynx, completed
        if not screen.query_one("LineagePanel").display:  # hidden on short terminals
            await pilot.press("i")
        await _drawn(pilot, "date=2026-11-03", "a1b2c3d4e5f6")

    assert snap_compare(traced_app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", [(160, 48)], ids=["160x48"])  # 80x24: test_snapshots
def test_audit_screen(
    snap_compare: Any,
    snap_app: ConsoleApp,
    redis_client: redis.Redis,
    snap_keys: Keys,
    size: tuple[int, int],
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

    async def run_before(pilot: Pilot[Any]) -> None:
        await _loaded(pilot)
        await pilot.press("a")
        screen = pilot.app.screen
        assert isinstance(screen, AuditScreen)
        await wait_for(pilot, lambda: screen.table.row_count == 2, "audit entries")
        await _drawn(pilot, "started&#160;run&#160;witty-fox")

    assert snap_compare(snap_app, terminal_size=size, run_before=run_before)


@SIZES
def test_audit_entry_detail(
    snap_compare: Any,
    snap_app: ConsoleApp,
    redis_client: redis.Redis,
    snap_keys: Keys,
    size: tuple[int, int],
) -> None:
    mirror = RedisMirror(redis_client, snap_keys)
    audit(
        mirror,
        "retry",
        "run-done",
        message="retrying run calm-lynx (was COMPLETED)",
        minutes=-4,
        user="bob",
        run_id="run-done",
        run_name="calm-lynx",
    )

    async def run_before(pilot: Pilot[Any]) -> None:
        await _loaded(pilot)
        await pilot.press("a")
        screen = pilot.app.screen
        assert isinstance(screen, AuditScreen)
        await wait_for(pilot, lambda: screen.table.row_count == 1, "the audit entry")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, AuditEntryScreen), "detail")

    assert snap_compare(snap_app, terminal_size=size, run_before=run_before)


@pytest.fixture
def parts_app(traced_app: ConsoleApp, redis_client: redis.Redis, snap_keys: Keys) -> ConsoleApp:
    """ai-inference-prod's outputs: three partitions, the first written twice."""
    mirror = RedisMirror(redis_client, snap_keys)
    mirror.write_lineage(lineage_doc("run-old", "old-owl", recorded=at(-300)))
    mirror.write_lineage(
        lineage_doc("run-redo", "keen-heron", recorded=at(-60), sha=SHA_B, dates=("2026-11-01",))
    )
    return traced_app


@SIZES
def test_partitions_screen(snap_compare: Any, parts_app: ConsoleApp, size: tuple[int, int]) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await _loaded(pilot)
        await pilot.press("w")
        screen = pilot.app.screen
        assert isinstance(screen, PartitionsScreen)
        await wait_for(pilot, lambda: len(screen.rows) == 3, "partitions")
        await _drawn(pilot, "date=2026-11-03")

    assert snap_compare(parts_app, terminal_size=size, run_before=run_before)


@SIZES
def test_writers_screen(snap_compare: Any, parts_app: ConsoleApp, size: tuple[int, int]) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await _loaded(pilot)
        await pilot.press("w")
        parts = pilot.app.screen
        assert isinstance(parts, PartitionsScreen)
        await wait_for(pilot, lambda: len(parts.rows) == 3, "partitions")
        await pilot.press("enter")
        screen = pilot.app.screen
        assert isinstance(screen, WritersScreen)
        await wait_for(pilot, lambda: screen.table.row_count == 2, "writers")
        await _drawn(pilot, "keen-heron", "ffeeddccbbaa")

    assert snap_compare(parts_app, terminal_size=size, run_before=run_before)


@SIZES
def test_help_screen(snap_compare: Any, snap_app: ConsoleApp, size: tuple[int, int]) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await _loaded(pilot)
        pilot.app.screen.query_one(RunsTable).focus()
        await pilot.press("question_mark")
        assert isinstance(pilot.app.screen, HelpScreen)
        await wait_tables_sized(pilot)

    assert snap_compare(snap_app, terminal_size=size, run_before=run_before)


@SIZES
def test_confirm_dialog(snap_compare: Any, snap_app: ConsoleApp, size: tuple[int, int]) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await _loaded(pilot)
        pilot.app.screen.query_one(RunsTable).focus()
        await pilot.press("c")  # cancel witty-fox, running
        assert type(pilot.app.screen) is ConfirmScreen
        await pilot.pause()

    assert snap_compare(snap_app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", [(160, 48)], ids=["160x48"])  # 80x24: test_bulk_confirm_snapshots
def test_bulk_confirm(snap_compare: Any, snap_app: ConsoleApp, size: tuple[int, int]) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await _loaded(pilot)
        runs = pilot.app.screen.query_one(RunsTable)
        runs.focus()
        # witty-fox and calm-lynx: "◆ " + their names is no wider than "brave-otter", so
        # the Run column keeps its width. Marking brave-otter too widens it, and DataTable
        # does that when idle: on a busy machine the snapshot sometimes caught the old width
        # ("◆ brave-ott"), sometimes the new (see the report).
        await pilot.press("space")
        runs.move_cursor(row=2)
        await pilot.press("space")
        assert runs.marked == {"run-running", "run-done"}
        await pilot.press("r")
        assert isinstance(pilot.app.screen, BulkConfirmScreen)
        await pilot.pause()

    assert snap_compare(snap_app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", [(160, 48)], ids=["160x48"])  # 80x24: test_snapshots
def test_protected_confirm(
    snap_compare: Any,
    snap_app: ConsoleApp,
    redis_client: redis.Redis,
    snap_keys: Keys,
    size: tuple[int, int],
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

    assert snap_compare(snap_app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("theme", ["aiwf-high-contrast", "aiwf-colorblind"])
def test_run_screen_in_other_themes(snap_compare: Any, snap_app: ConsoleApp, theme: str) -> None:
    """The failed run shows every state glyph (completed, failed, pending); light: the log
    snapshot of test_snapshots."""
    snap_app.theme = theme

    async def run_before(pilot: Pilot[Any]) -> None:
        await _failed_run(pilot)

    assert snap_compare(snap_app, terminal_size=(120, 40), run_before=run_before)


def test_main_screen_in_the_light_theme(snap_compare: Any, snap_app: ConsoleApp) -> None:
    snap_app.theme = "aiwf-light"

    async def run_before(pilot: Pilot[Any]) -> None:
        await _loaded(pilot)
        pilot.app.screen.query_one(RunsTable).focus()
        await wait_tables_sized(pilot)

    assert snap_compare(snap_app, terminal_size=(80, 24), run_before=run_before)
