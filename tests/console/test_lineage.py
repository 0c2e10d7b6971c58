"""Traceability: the run screen's lineage panel (live), who wrote a partition, the retry
preview dialog and the commands each choice sends."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import redis
from textual.widgets import Label

from console.app import ConsoleApp
from console.screens.partitions import PartitionsScreen
from console.screens.protected_confirm import ProtectedConfirmScreen
from console.screens.retry_confirm import RetryConfirmScreen, finished_tasks, preview
from console.screens.run import RunScreen
from console.screens.writers import WritersScreen
from console.widgets.lineage_panel import LineagePanel
from console.widgets.runs_table import RunsTable
from engine.contract.keys import Keys
from engine.store.mirror import RedisMirror
from tests.console.conftest import (
    AppFactory,
    Posted,
    as_lineage,
    as_task,
    at,
    commands,
    deployment_doc,
    fill_standard,
    iso,
    wait_for,
    wait_not_sent,
    wait_protected,
)

Doc = dict[str, Any]
SHA_A = "a1b2c3d4e5f6" + "0" * 52
SHA_B = "ffeeddccbbaa" + "1" * 52


def lineage_doc(
    run_id: str,
    name: str,
    *,
    recorded: datetime,
    sha: str = SHA_A,
    dates: tuple[str, ...] = ("2026-11-01", "2026-11-02", "2026-11-03"),
    trigger: Doc | None = None,
    tasks: list[Doc] | None = None,
    status: str = "completed",
) -> Doc:
    """A lineage document shaped as docs/redis-keys.md."""
    return {
        "flow_run_id": run_id,
        "flow_run_name": name,
        "deployment_name": "ai-inference-prod",
        "recorded_at": iso(recorded),
        "status": status,
        "error": None if status == "completed" else "ValueError: bad row",
        "trigger": trigger
        or {
            "kind": "operator",
            "origin": "operator",
            "operator": "ana",
            "expected_start_time": iso(recorded),
            "attempt": 1,
            "retry_requested_by": "",
        },
        "parameters": {"source": "/data/in.csv", "target": "/data/out", "model": "scorer-v1"},
        "input": {
            "path": "/data/in.csv",
            "size_bytes": 151234,
            "sha256": sha,
            "rows": 3000,
            "min_timestamp": "2026-11-01T00:02:54",
            "max_timestamp": "2026-11-03T23:59:35",
        },
        "model": {
            "requested": "scorer-v1",
            "name": "scorer",
            "version": "1.0.0",
            "weights_hash": "9" * 64,
        },
        "outputs": [
            {"path": f"/data/out/date={d}", "rows": 1000 + i, "bytes": 41234}
            for i, d in enumerate(dates)
        ],
        "tasks": tasks
        if tasks is not None
        else [
            {
                "name": "load_raw_data",
                "state_name": "Cached",
                "cache_hit": True,
                "duration_s": 0.01,
            },
            {
                "name": "run_inference",
                "state_name": "Completed",
                "cache_hit": False,
                "duration_s": 1.5,
            },
            {
                "name": "write_outputs",
                "state_name": "Completed",
                "cache_hit": False,
                "duration_s": 0.2,
            },
        ],
        "tasks_recorded_by": "flow",
    }


FAILED_TASKS = [
    {"name": "load_raw_data", "state_name": "Completed", "cache_hit": False, "duration_s": 0.3},
    {"name": "run_inference", "state_name": "Failed", "cache_hit": False, "duration_s": 0.1},
]


def rendered(panel: LineagePanel) -> str:
    """The panel's content as plain text."""
    from rich.console import Console

    console = Console(width=110, record=True, color_system=None)
    console.print(panel.content)
    return console.export_text()


async def open_failed_run(pilot: Any, app: ConsoleApp) -> RunScreen:
    runs = app.screen.query_one(RunsTable)
    await wait_for(pilot, lambda: runs.row_count == 3, "runs")
    runs.focus()
    runs.move_cursor(row=1)  # brave-otter, failed
    await pilot.press("enter")
    assert isinstance(app.screen, RunScreen)
    assert app.screen.flow_run_id == "run-failed"
    return app.screen


async def test_lineage_panel_shows_the_run_and_follows_a_new_attempt(
    make_app: AppFactory, mirror: RedisMirror
) -> None:
    fill_standard(mirror)
    mirror.write_lineage(
        lineage_doc(
            "run-failed", "brave-otter", recorded=at(-80), tasks=FAILED_TASKS, status="failed"
        )
        | {"outputs": [], "written": "none"}
    )
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_failed_run(pilot, app)
        panel = screen.query_one(LineagePanel)
        await wait_for(pilot, lambda: "a1b2c3d4e5f6" in rendered(panel), "lineage read lazily")
        text = rendered(panel)
        assert "operator by ana" in text
        assert "ValueError: bad row" in text
        assert "scorer 1.0.0" in text and "weights 999999999999" in text
        assert "rows 3000" in text and "147.7 KB" in text
        assert "Outputs (0)" in text
        assert ", wrote no partition" in text  # a failed attempt says what it wrote
        assert panel.display

        # A retry's attempt arrives through the updates stream: the panel follows it.
        retry = {
            "kind": "retry",
            "origin": "operator",
            "operator": "ana",
            "expected_start_time": iso(at(-90)),
            "attempt": 2,
            "retry_requested_by": "bo@ops-1",
        }
        mirror.write_lineage(
            lineage_doc("run-failed", "brave-otter", recorded=at(-1), sha=SHA_B, trigger=retry)
        )
        await wait_for(pilot, lambda: "ffeeddccbbaa" in rendered(panel), "the new attempt")
        text = rendered(panel)
        assert "retry by bo@ops-1 (attempt 2)" in text
        assert "Outputs (3)" in text
        for day, rows in (("2026-11-01", 1000), ("2026-11-02", 1001), ("2026-11-03", 1002)):
            assert f"date={day}   rows {rows}   40.3 KB" in text
        assert "load_raw_data   Cached   10ms   ♻ cache hit" in text
        assert "run_inference   Completed   1.5s" in text

        await pilot.press("i")
        assert not panel.display
        await pilot.press("i")
        assert panel.display


async def test_who_wrote_a_partition_in_two_keys(
    make_app: AppFactory, mirror: RedisMirror, redis_client: redis.Redis, keys: Keys
) -> None:
    fill_standard(mirror)
    mirror.write_lineage(lineage_doc("run-old", "first-run", recorded=at(-300)))
    mirror.write_lineage(
        lineage_doc("run-failed", "brave-otter", recorded=at(-80), sha=SHA_B, dates=("2026-11-01",))
    )
    assert redis_client.zrange(keys.writers("ai-inference-prod", "date=2026-11-01"), 0, -1) == [
        b"run-old@1",
        b"run-failed@1",
    ]
    assert redis_client.smembers(keys.partitions("ai-inference-prod")) == {
        b"date=2026-11-01",
        b"date=2026-11-02",
        b"date=2026-11-03",
    }
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: len(app.store.deployments) == 2, "deployments")
        await pilot.press("w")
        assert isinstance(app.screen, PartitionsScreen)
        parts = app.screen
        await wait_for(pilot, lambda: len(parts.rows) == 3, "three partitions")
        assert [str(c) for c in parts.table.get_row_at(0)][:3] == [
            "ai-inference-prod",
            "date=2026-11-01",
            "2",
        ]
        await pilot.press("enter")
        assert isinstance(app.screen, WritersScreen)
        writers = app.screen
        await wait_for(pilot, lambda: writers.table.row_count == 2, "two writers")
        assert writers.run_ids == ["run-old", "run-failed"]
        first = [str(c) for c in writers.table.get_row_at(0)]
        second = [str(c) for c in writers.table.get_row_at(1)]
        assert first[2:] == [
            "first-run",
            "completed",
            "operator by ana",
            "a1b2c3d4e5f6",
            "3000",
            "1000",
        ]
        assert second[2:4] == ["brave-otter", "completed"]
        assert second[5] == "ffeeddccbbaa"

        # A new write shows up live, last.
        mirror.write_lineage(lineage_doc("run-done", "calm-lynx", recorded=at(-2)))
        await wait_for(pilot, lambda: writers.table.row_count == 3, "the new writer")
        assert writers.run_ids[-1] == "run-done"


async def test_w_is_a_main_screen_key(make_app: AppFactory, mirror: RedisMirror) -> None:
    fill_standard(mirror)
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await open_failed_run(pilot, app)
        await pilot.press("w")
        assert isinstance(app.screen, RunScreen)


def test_finished_tasks_come_from_the_lineage_and_every_attempts_task_runs() -> None:
    doc = lineage_doc("r", "n", recorded=at(0), tasks=FAILED_TASKS)
    assert finished_tasks(as_lineage(doc), []) == {"load_raw_data"}
    runs = [
        {"name": "run_inference-1", "state_type": "FAILED", "start_time": iso(at(-1))},
        {"name": "run_inference-0", "state_type": "COMPLETED", "start_time": iso(at(-2))},
        {"name": "load_raw_data-0", "state_type": "COMPLETED", "start_time": iso(at(-3))},
    ]
    # An earlier attempt's finished run_inference left its result in the store.
    assert finished_tasks(None, [as_task(r) for r in runs]) == {"load_raw_data", "run_inference"}


def test_preview_reruns_save_results_and_what_was_not_reached() -> None:
    doc = lineage_doc("r", "n", recorded=at(0), tasks=FAILED_TASKS)
    plan = preview("ai-inference-pipeline", as_lineage(doc), [])
    assert plan is not None
    assert plan.reused == ("load_raw_data",)
    assert plan.rerun == ("run_inference", "save_results")
    completed = [{**t, "state_name": "Completed"} for t in FAILED_TASKS]
    completed.append({"name": "save_results", "state_name": "Completed"})
    done = lineage_doc("r", "n", recorded=at(0), tasks=completed)
    plan = preview("ai-inference-pipeline", as_lineage(done), [])
    assert plan is not None
    assert plan.reused == ("load_raw_data", "run_inference")
    assert plan.rerun == ("save_results",)
    assert (
        preview("report-pipeline", as_lineage(done), []) is None
    )  # no rule: the dialog says unknown


async def retry_dialog(pilot: Any, app: ConsoleApp) -> RetryConfirmScreen:
    await pilot.press("r")
    await wait_for(pilot, lambda: isinstance(app.screen, RetryConfirmScreen), "retry dialog")
    assert isinstance(app.screen, RetryConfirmScreen)
    return app.screen


def retry_params(client: redis.Redis, keys: Keys) -> list[Doc]:
    return [json.loads(c["params"]) for c in commands(client, keys) if c["action"] == "retry"]


async def test_retry_dialog_previews_and_sends_each_choice(
    make_app: AppFactory, mirror: RedisMirror, redis_client: redis.Redis, keys: Keys
) -> None:
    fill_standard(mirror)
    mirror.write_lineage(
        lineage_doc("run-failed", "brave-otter", recorded=at(-80), tasks=FAILED_TASKS)
    )
    app = make_app()
    posted = Posted()
    async with app.run_test(size=(120, 40), message_hook=posted.append) as pilot:
        screen = await open_failed_run(pilot, app)
        await wait_for(pilot, lambda: "run-failed" in app.store.lineage, "lineage")
        dialog = await retry_dialog(pilot, app)
        assert dialog.reused == ["load_raw_data"]
        assert dialog.rerun == ["run_inference", "save_results"]
        text = " ".join(str(label.render()) for label in dialog.query(Label))
        assert "Reused (cached result, does not run): load_raw_data" in text
        assert "Rerun: run_inference, save_results" in text
        await pilot.press("escape")
        await wait_not_sent(pilot, posted, "retry run brave-otter", "declined")
        assert app.screen is screen
        posted.clear()
        await retry_dialog(pilot, app)
        await pilot.press("enter")  # focus is on Cancel: a stray enter sends nothing
        await wait_not_sent(pilot, posted, "retry run brave-otter", "declined")
        assert app.screen is screen
        assert retry_params(redis_client, keys) == []

        await retry_dialog(pilot, app)
        await pilot.press("r")
        await wait_for(pilot, lambda: len(retry_params(redis_client, keys)) == 1, "retry")
        await retry_dialog(pilot, app)
        await pilot.press("f")
        await wait_for(pilot, lambda: len(retry_params(redis_client, keys)) == 2, "full rerun")
        assert retry_params(redis_client, keys) == [{}, {"refresh_cache": True}]
        assert [c["target"] for c in commands(redis_client, keys)] == ["run-failed"] * 2


async def test_retry_dialog_on_a_protected_deployment_still_needs_the_name(
    make_app: AppFactory, mirror: RedisMirror, redis_client: redis.Redis, keys: Keys
) -> None:
    fill_standard(mirror)
    mirror.upsert_deployment(deployment_doc(protected=True, updated=at(0)))
    app = make_app()
    posted = Posted()
    async with app.run_test(size=(120, 40), message_hook=posted.append) as pilot:
        await wait_protected(pilot, app)
        screen = await open_failed_run(pilot, app)
        await retry_dialog(pilot, app)
        await pilot.press("f")
        await wait_for(pilot, lambda: isinstance(app.screen, ProtectedConfirmScreen), "name")
        await pilot.press(*"nope", "enter")
        await wait_not_sent(pilot, posted, "full rerun of run brave-otter", "wrong name")
        assert app.screen is screen
        assert retry_params(redis_client, keys) == []
        await retry_dialog(pilot, app)
        await pilot.press("f")
        await wait_for(pilot, lambda: isinstance(app.screen, ProtectedConfirmScreen), "name")
        await pilot.press(*"ai-inference-prod", "enter")
        await wait_for(pilot, lambda: len(retry_params(redis_client, keys)) == 1, "sent")
        assert retry_params(redis_client, keys) == [{"refresh_cache": True}]


def test_a_remote_input_shows_its_url_and_etag_a_local_one_its_sha256() -> None:
    from engine.contract.documents import LineageInput

    remote = LineagePanel._input(
        LineageInput(
            path="s3://ai-data/production/daily_batch.csv", size_bytes=2048, etag="9f1c" * 8
        )
    ).plain
    assert remote.startswith("s3://ai-data/production/daily_batch.csv\n")
    assert "etag 9f1c9f1c9f1c" in remote and "sha256" not in remote
    local = LineagePanel._input(LineageInput(path="/data/in.csv", sha256=SHA_A)).plain
    assert f"sha256 {SHA_A[:12]}" in local and "etag" not in local


async def test_lineage_panel_follows_the_terminal_s_height_until_i_is_pressed(
    make_app: AppFactory, mirror: RedisMirror
) -> None:
    """Hidden under 30 rows, shown above. Before, that was decided once, when the screen
    opened: opened at 160x48 and the terminal made 80x24 (tmux, an SSH window), the panel
    took half of the screen and the task runs showed one row. A choice made with `i`
    stands over later sizes."""
    fill_standard(mirror)
    mirror.write_lineage(lineage_doc("run-failed", "brave-otter", recorded=at(-80)))
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_failed_run(pilot, app)
        panel = screen.query_one(LineagePanel)
        assert not panel.display
        await pilot.resize_terminal(160, 48)
        await wait_for(pilot, lambda: panel.display, "the panel shown at 160x48")
        await pilot.resize_terminal(80, 24)
        await wait_for(pilot, lambda: not panel.display, "the panel hidden at 80x24")
        await pilot.press("i")
        assert panel.display
        await wait_for(pilot, lambda: "a1b2c3d4e5f6" in rendered(panel), "lineage")
        await pilot.resize_terminal(100, 26)
        await wait_for(pilot, lambda: screen.size.height == 26, "the screen at 100x26")
        await pilot.pause()  # its Resize handled
        assert panel.display  # the operator asked for it: it stays
